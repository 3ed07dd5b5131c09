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

std::unique_ptr<Segmenter>
OpenMONAISegmenter(const ParsedArguments & args, const std::string & folder, size_t channels)
{
  MONAIBundle bundle = ReadMONAIBundle(folder);
  if (static_cast<int64_t>(channels) != bundle.inputChannels)
  {
    throw UsageError("MONAI bundle " + folder + " takes " + std::to_string(bundle.inputChannels) +
                     " channel(s) (metadata.json), the --input files give " + std::to_string(channels));
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
  auto segmenter = std::make_unique<MONAISegmenter>(bundle, LoadMONAINetwork(bundle, options));
  if (const auto affine = ReadNibabelAffine(args.GetAll("input").front()))
    segmenter->SetLoadedAffine(*affine);
  return segmenter;
}

std::unique_ptr<Segmenter>
OpenNNUNetSegmenter(const ParsedArguments & args, const std::string & folder, const NNUNetFolderOptions & options,
                    size_t channels)
{
  NNUNetModel model = ReadNNUNetFolder(folder, options);
  if (channels != model.channelNames.size())
  {
    std::string names;
    for (const auto & n : model.channelNames)
      names += (names.empty() ? "" : ", ") + n;
    throw UsageError("nnU-Net model " + model.folder + " takes " + std::to_string(model.channelNames.size()) +
                     " channel(s) (" + names + " in dataset.json's order), " + std::to_string(channels) + " given");
  }
  // The flags are checked before any fold is loaded (seconds per fold, more on a GPU).
  if (args.Flag("fast") && args.Has("overlap"))
    throw UsageError("--fast sets the tile step (0.8); give --fast or --overlap, not both");
  const double overlap = args.Has("overlap") ? args.GetFloat("overlap") : 0.0;
  if (args.Has("overlap") && !(overlap >= 0.0 && overlap < 1.0))
    throw UsageError("--overlap must be in [0, 1)");
  if (args.Has("batch-size") && args.GetInteger("batch-size") < 1)
    throw UsageError("--batch-size must be >= 1");
  std::vector<std::shared_ptr<SegmentationModel>> folds = LoadNNUNetFolds(model, args.Get("device"));
  auto segmenter = std::make_unique<NNUNetSegmenter>(model, folds);
  if (args.Flag("fast"))
    segmenter->SetTileStepSize(0.8);
  if (args.Has("overlap"))
    segmenter->SetTileStepSize(1.0 - overlap);
  if (args.Flag("no-tta"))
    segmenter->SetUseMirroring(false);
  if (args.Has("batch-size"))
    segmenter->SetBatchSize(args.GetInteger("batch-size"));
  return segmenter;
}

} // namespace medseg::cli
