// medseg segment --model <nnU-Net v2 trained-model folder | MONAI bundle>: the options that apply, and the run.
#include "medsegSegmentFrameworks.h"

#include "medsegError.h"
#include "medsegUsageError.h"
#include "medsegMONAISegmenter.h"
#include "medsegMONAITransforms.h"
#include "medsegNNUNetSegmenter.h"

#include <sstream>

namespace medseg::cli
{

namespace
{

std::vector<std::string>
SplitFolds(const std::string & text)
{
  std::vector<std::string> folds;
  std::stringstream        in(text);
  std::string              item;
  while (std::getline(in, item, ','))
  {
    if (item.empty() || (item != "all" && item.find_first_not_of("0123456789") != std::string::npos))
      throw UsageError("--folds takes fold numbers separated by commas (or 'all'), got '" + text + "'");
    folds.push_back(item);
  }
  if (folds.empty())
    throw UsageError("--folds needs at least one fold");
  return folds;
}

} // namespace

NNUNetFolderOptions
NNUNetOptionsFrom(const ParsedArguments & args)
{
  // The plans fix what MedSeg packages let the command line choose.
  for (const char * option : { "patch-size", "blend", "normalize", "mirror-axes", "crop-to-nonzero",
                               "no-crop-to-nonzero", "stream-divisions", "tta" })
  {
    const bool given = option == std::string("stream-divisions") ? args.GetInteger(option) != 0
                       : std::string(option).find("crop") != std::string::npos || option == std::string("tta")
                         ? args.Flag(option)
                         : args.Has(option);
    if (given)
      throw UsageError(std::string("--") + option +
                       " does not apply to an nnU-Net model: its plans.json and checkpoint set it (nnU-Net's own "
                       "options are --folds, --checkpoint, --fast/--overlap for the tile step and --no-tta)");
  }
  if (args.Get("accumulation") != "fp32" || args.Get("precision") != "fp32")
    throw UsageError("--accumulation and --precision stay fp32 for nnU-Net models");
  NNUNetFolderOptions options;
  if (args.Has("folds"))
    options.folds = SplitFolds(args.Get("folds"));
  options.checkpoint = args.Get("checkpoint");
  return options;
}

void
CheckMONAIOptions(const ParsedArguments & args)
{
  for (const char * option : { "patch-size", "blend", "normalize", "mirror-axes", "folds", "checkpoint" })
  {
    if (args.Has(option))
      throw UsageError(std::string("--") + option +
                       " does not apply to a MONAI bundle: its inference config sets it (a bundle takes --overlap, "
                       "--batch-size, --device and --threads)");
  }
  for (const char * flag : { "crop-to-nonzero", "no-crop-to-nonzero", "tta", "fast", "no-tta" })
  {
    if (args.Flag(flag))
      throw UsageError(std::string("--") + flag + " does not apply to a MONAI bundle: its inference config sets it");
  }
  if (args.GetInteger("stream-divisions") != 0)
    throw UsageError("--stream-divisions does not apply to a MONAI bundle (its transforms need the whole image)");
  if (args.Get("accumulation") != "fp32" || args.Get("precision") != "fp32")
    throw UsageError("--accumulation and --precision stay fp32 for MONAI bundles");
}

ModelRun
RunMONAIBundle(const ParsedArguments & args, const std::string & folder, const std::vector<FloatImage3::Pointer> & images,
               bool wantProbabilities, const std::function<void(double)> & progress)
{
  MONAIBundle bundle = ReadMONAIBundle(folder);
  if (static_cast<int64_t>(images.size()) != bundle.inputChannels)
  {
    throw UsageError("MONAI bundle " + folder + " takes " + std::to_string(bundle.inputChannels) +
                     " channel(s) (metadata.json), the --input files give " + std::to_string(images.size()));
  }
  if (args.Has("overlap"))
  {
    const double overlap = args.GetFloat("overlap");
    if (!(overlap >= 0.0 && overlap < 1.0))
      throw UsageError("--overlap must be in [0, 1)");
    bundle.window.overlap = overlap;
  }
  if (args.Has("batch-size"))
  {
    if (args.GetInteger("batch-size") < 1)
      throw UsageError("--batch-size must be >= 1");
    bundle.window.batchSize = args.GetInteger("batch-size");
  }
  TorchScriptModelOptions options;
  options.device = args.Get("device");
  options.optimize = !args.Flag("no-optimize");
  MONAISegmenter segmenter(bundle, LoadMONAINetwork(bundle, options));
  if (const auto affine = ReadNibabelAffine(args.GetAll("input").front()))
    segmenter.SetLoadedAffine(*affine);
  const MONAISegmentation result = segmenter.Run(images, wantProbabilities, progress);
  ModelRun                run;
  run.labels = result.labels;
  run.probabilities = result.probabilities;
  run.classes = result.classes;
  run.description = "MONAI bundle " + bundle.name + (bundle.version.empty() ? "" : " " + bundle.version);
  for (unsigned int k = 0; k < std::max(result.classes, 2u); ++k)
  {
    const auto  found = bundle.channelDef.find(k);
    std::string name = found != bundle.channelDef.end() ? found->second : "label " + std::to_string(k);
    run.table.Set({ k, name, LabelTable::DefaultColor(k) });
    run.labelOfClass.push_back(k);
    run.maxLabel = std::max<unsigned long>(run.maxLabel, k);
  }
  return run;
}

ModelRun
RunNNUNetModel(const ParsedArguments & args, const std::string & folder, const NNUNetFolderOptions & options,
               const std::vector<FloatImage3::Pointer> & images, bool wantProbabilities,
               const std::function<void(double)> & progress)
{
  NNUNetModel model = ReadNNUNetFolder(folder, options);
  if (images.size() != model.channelNames.size())
  {
    std::string names;
    for (const auto & n : model.channelNames)
      names += (names.empty() ? "" : ", ") + n;
    throw UsageError("nnU-Net model " + model.folder + " takes " + std::to_string(model.channelNames.size()) +
                     " channel(s) (" + names + " in dataset.json's order), " + std::to_string(images.size()) +
                     " given");
  }
  std::vector<std::shared_ptr<SegmentationModel>> folds = LoadNNUNetFolds(model, args.Get("device"));
  NNUNetSegmenter                                 segmenter(model, folds);
  if (args.Flag("fast") && args.Has("overlap"))
    throw UsageError("--fast sets the tile step (0.8); give --fast or --overlap, not both");
  if (args.Flag("fast"))
    segmenter.SetTileStepSize(0.8);
  if (args.Has("overlap"))
  {
    const double overlap = args.GetFloat("overlap");
    if (!(overlap >= 0.0 && overlap < 1.0))
      throw UsageError("--overlap must be in [0, 1)");
    segmenter.SetTileStepSize(1.0 - overlap);
  }
  if (args.Flag("no-tta"))
    segmenter.SetUseMirroring(false);
  if (args.Has("batch-size"))
  {
    if (args.GetInteger("batch-size") < 1)
      throw UsageError("--batch-size must be >= 1");
    segmenter.SetBatchSize(args.GetInteger("batch-size"));
  }

  const NNUNetSegmentation result = segmenter.Run(images, wantProbabilities, progress);
  ModelRun                 run;
  run.labels = result.labels;
  run.probabilities = result.probabilities;
  run.classes = result.classes;
  run.description = "nnU-Net " + model.datasetName + " " + model.configuration + " (" + model.networkClass + ", " +
                    std::to_string(folds.size()) + " fold" + (folds.size() == 1 ? "" : "s") + ")";
  for (size_t k = 0; k < model.labelValues.size(); ++k)
  {
    const unsigned int value = model.labelValues[k];
    const std::string  name = !model.hasRegions && k < model.labelNames.size() ? model.labelNames[k]
                              : model.hasRegions && k > 0 && k - 1 < model.labelNames.size()
                                ? model.labelNames[k - 1]
                                : std::string();
    run.table.Set({ value, name.empty() ? "label " + std::to_string(value) : name, LabelTable::DefaultColor(value) });
    run.maxLabel = std::max<unsigned long>(run.maxLabel, value);
  }
  // Probabilities are per head; without regions head k is label labelValues[k].
  if (!model.hasRegions)
    run.labelOfClass = model.labelValues;
  return run;
}

} // namespace medseg::cli
