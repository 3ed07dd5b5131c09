// medseg model info|pack: inspect and build self-describing model packages.
#include "medsegAtomicFile.h"
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegModelPackage.h"
#include "medsegModelSource.h"
#include "medsegMONAISegmenter.h"
#include "medsegNNUNetFolder.h"
#include "medsegNNUNetPackage.h"

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

namespace medseg::cli
{

namespace
{
using K = ParameterKind;

int
RunInfo(const std::vector<std::string> & arguments)
{
  CommandLine cl("medseg model info", "Model package information",
                 "Validates a model package (model.json against format version 1, the weights' SHA-256)\n"
                 "and prints what it says: architecture, inputs, geometry, inference settings, labels.");
  cl.Add(Option("package", K::InputFile,
                "Package folder, model.json, .medseg archive, nnU-Net v2 model folder or MONAI bundle.")
           .Required().Positional())
    .Add(Option("json", K::Flag, "Print the validated model.json instead of the summary."));
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  const ModelSource source = ModelSource::Resolve(args.Get("package"));
  if (source.kind == ModelSource::Kind::NNUNet)
  {
    // Every fold's checkpoint is read and loaded into the plans' network: info validates it all.
    NNUNetModel model = ReadNNUNetFolder(source.NNUNetFolder());
    if (source.nnunetPackage)
      std::cout << "nnU-Net package " << source.nnunetPackage->source << " (hashes verified)\n";
    const auto  folds = LoadNNUNetFolds(model, "cpu");
    std::cout << DescribeNNUNetModel(model) << "  checkpoints:    " << folds.size() << " loaded (weights fit the plans)\n";
    return ExitSuccess;
  }
  if (source.kind == ModelSource::Kind::MONAI)
  {
    // The bundle's description and transforms as MedSeg reads them, and its network loaded and checked.
    const MONAIBundle bundle = ReadMONAIBundle(args.Get("package"));
    LoadMONAINetwork(bundle, TorchScriptModelOptions{});
    std::cout << DescribeMONAIBundle(bundle) << '\n';
    return ExitSuccess;
  }
  const ModelPackage p = source.kind == ModelSource::Kind::Package ? source.LoadPackage()
                                                                    : ModelPackage::Load(args.Get("package"));
  if (args.Flag("json"))
  {
    std::cout << p.ToJson().dump(2) << '\n';
    return ExitSuccess;
  }
  std::cout << p.name << ' ' << p.version << (p.description.empty() ? "" : ": " + p.description) << '\n'
            << "  architecture: " << p.plugin << ' ' << p.hyperParameters.dump() << '\n'
            << "  weights:      " << p.weightsFile << " (SHA-256 " << p.weightsSha256 << ", verified)\n"
            << "  inputs:      ";
  for (const auto & c : p.channels)
    std::cout << ' ' << c.name << " [" << c.normalization.ToString() << ']';
  std::cout << "\n  orientation:  " << p.orientation << "\n  spacing:      ";
  if (p.spacing)
    std::cout << (*p.spacing)[0] << " x " << (*p.spacing)[1] << " x " << (*p.spacing)[2] << " mm";
  else
    std::cout << "the input's";
  std::cout << "\n  model:        " << p.spatialDims << "D"
            << (p.spatialDims == 2 ? ", slices across axis " + std::to_string(p.sliceAxis) : std::string()) << '\n'
            << "  patch size:   " << p.window.patchSize[0] << " x " << p.window.patchSize[1] << " x "
            << p.window.patchSize[2] << " (x, y, z)\n"
            << "  overlap:      " << p.window.overlap << ", " << (p.window.blend == BlendMode::Gaussian ? "gaussian" : "constant")
            << " blending, batch " << p.window.batchSize << "\n  mirror axes:  ";
  for (const int a : p.window.mirrorAxes)
    std::cout << a << ' ';
  std::cout << (p.window.mirrorAxes.empty() ? "none" : "") << "(used with --tta)\n"
            << "  crop:         "
            << (p.cropToNonzero ? "to the nonzero bounding box (background outside)" : "none: the whole image")
            << "\n  labels:\n";
  for (const auto & l : p.labels)
  {
    std::cout << "    " << l.value << "  " << l.name << "  rgb(" << int(l.color[0]) << ',' << int(l.color[1]) << ','
              << int(l.color[2]) << ")\n";
  }
  if (!p.training.empty())
    std::cout << "  training:     " << p.training.dump() << '\n';
  return ExitSuccess;
}

int
RunPack(const std::vector<std::string> & arguments)
{
  CommandLine cl("medseg model pack", "Build a model package",
                 "Writes a .medseg archive (gzip-compressed tar) holding model.json and the weights, with the\n"
                 "weights' file name and SHA-256 filled into model.json. The metadata are validated first.\n"
                 "With --from, packs an nnU-Net v2 trained-model folder instead (plans, dataset.json and the\n"
                 "chosen folds' checkpoints, each with its SHA-256): the package gives the folder's labels.");
  cl.Add(Option("metadata", K::InputFile, "model.json without (or with a stale) \"weights\" block."))
    .Add(Option("weights", K::InputFile, "Weights: TorchScript (.pt) or serialized parameters of a native plugin."))
    .Add(Option("from", K::Directory, "An nnU-Net v2 trained-model folder to pack (instead of --metadata/--weights)."))
    .Add(Option("folds", K::String, "With --from: the folds to pack, e.g. 0,1 (default: every fold_N present)."))
    .Add(Option("checkpoint", K::Enumeration, "With --from: checkpoint_final.pth or checkpoint_best.pth.")
           .Default("final").Choices({ "final", "best" }))
    .Add(Option("output", K::OutputFile, "The package to write (.medseg).").Required())
    .Add(Option("overwrite", K::Flag, "Replace the output if it exists."));
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  const std::string output = args.Get("output");
  if (args.Has("from"))
  {
    if (args.Has("metadata") || args.Has("weights"))
      throw UsageError("--from packs an nnU-Net folder; it takes no --metadata or --weights");
    CheckOutputFile(output, args.Flag("overwrite"));
    NNUNetFolderOptions options;
    options.checkpoint = args.Get("checkpoint");
    if (args.Has("folds"))
    {
      std::stringstream folds(args.Get("folds"));
      for (std::string f; std::getline(folds, f, ',');)
        options.folds.push_back(f);
    }
    PackNNUNetFolder(args.Get("from"), options, output);
    const std::optional<NNUNetPackage> back = OpenNNUNetPackage(output); // read back what was written
    const NNUNetModel                  model = ReadNNUNetFolder(back->folder);
    std::cout << "wrote " << output << ": nnU-Net " << model.datasetName << " " << model.configuration << ", "
              << model.folds.size() << " fold(s)\n";
    return ExitSuccess;
  }
  if (!args.Has("metadata") || !args.Has("weights"))
    throw UsageError("medseg model pack needs --metadata and --weights (or --from an nnU-Net folder)");
  CheckOutputFile(output, args.Flag("overwrite"));
  PackModel(args.Get("metadata"), args.Get("weights"), output);
  const ModelPackage p = ModelPackage::Load(output); // read back what was written
  std::cout << "wrote " << output << ": " << p.name << ' ' << p.version << ", weights SHA-256 " << p.weightsSha256
            << '\n';
  return ExitSuccess;
}
} // namespace

int
RunModelCommand(const std::vector<std::string> & arguments)
{
  const std::string usage = "usage: medseg model info PACKAGE | medseg model pack --metadata M --weights W --output O | medseg model pack --from NNUNET_FOLDER --output O";
  if (arguments.empty())
    throw UsageError(usage);
  const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
  if (arguments[0] == "info")
    return RunInfo(rest);
  if (arguments[0] == "pack")
    return RunPack(rest);
  if (arguments[0] == "--help" || arguments[0] == "-h")
  {
    std::cout << usage << '\n';
    return ExitSuccess;
  }
  throw UsageError("unknown model subcommand '" + arguments[0] + "'; " + usage);
}

} // namespace medseg::cli
