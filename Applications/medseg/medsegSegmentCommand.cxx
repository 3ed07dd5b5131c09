// medseg segment: runs a model (package, bare TorchScript file, nnU-Net folder, MONAI bundle) over a
// volume and writes the label map. The segmenters do the work; this file checks options and writes.
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegToolMain.h"
#include "medsegError.h"
#include "medsegLabelTable.h"
#include "medsegImageFileIO.h"
#include "medsegMixedPrecisionModel.h"
#include "medsegModelPackage.h"
#include "medsegModelSource.h"
#include "medsegModelSpace.h"
#include "medsegGeometry.h"
#include "medsegPackageSegmenter.h"
#include "medsegPackageModel.h"
#include "medsegPostProcessingPipeline.h"
#include "medsegProgressLine.h"
#include "medsegSegmentFrameworks.h"
#include "medsegTorchRuntime.h"
#include "medsegTorchScriptModel.h"

#ifdef MEDSEG_WITH_VISUALIZATION
#  include "medsegLabelSurface.h"
#  include "medsegOverviewRenderer.h"
#endif

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>

namespace medseg::cli
{

namespace
{
/** The overlap --fast uses: windows every 0.8 of a patch. */
constexpr double FastOverlap = 0.2;


using K = ParameterKind;

} // namespace

CommandLine
SegmentCommandLine()
{
  CommandLine cl("medseg segment", "Deep-learning segmentation",
                 "Runs a model over a 3D image with a Gaussian-blended sliding window and writes the arg-max\n"
                 "label map with exactly the input's size, spacing, origin and direction. The model is a model\n"
                 "package (folder, model.json or .medseg archive: it carries its own orientation, spacing,\n"
                 "normalization, patch size and labels, so no other option is needed) or a bare TorchScript\n"
                 "file ([N,C,D,H,W] float in, [N,K,D,H,W] logits out), an nnU-Net v2 trained-model folder\n"
                 "(plans.json, dataset.json, fold_N/), run as nnU-Net's predictor does (Documentation/nnunet.md),\n"
                 "or a MONAI bundle folder (configs/, models/model.ts), run as its inference config says\n"
                 "(Documentation/monai-bundles.md).\n"
                 "Options given here override the package's. Sizes and axes are in image order (x,y,z).");
  cl.Add(Option("model", K::InputFile,
                "Model package (folder, model.json, .medseg), TorchScript file (.pt), nnU-Net v2 model folder or\n"
                "      MONAI bundle folder.").Required().Label("Model").Group("Input/output"))
    .Add(Option("input", K::InputImage,
                "Image to segment: NIfTI, NRRD, MetaImage, a folder holding one DICOM series, or a 2D PNG, JPEG or\n"
                "      TIFF (an RGB image gives three channels: R, G, B). Repeat it for models with several channels,\n"
                "      in the order model.json names them.")
           .Required().Repeatable().Label("Input volume").Group("Input/output"))
    .Add(Option("output", K::OutputLabelMap,
                "Label map to write (.nii.gz, .nii, .nrrd or .mha; .png or .tif for a 2D image of one slice).")
           .Required().Label("Output label map").Group("Input/output"))
    .Add(Option("probabilities", K::OutputImage, "Also write the class probabilities (one component per class).")
           .Label("Output probabilities").Group("Input/output"))
    .Add(Option("overwrite", K::Flag, "Replace output files that already exist.")
           .Label("Overwrite").Group("Input/output"))
    .Add(Option("postprocess", K::String,
                "Post-processing steps, e.g. \"largest-component;fill-holes;smooth:1mm\" (see Documentation/postprocessing.md);\n"
                "      \"none\" turns off a package's default post-processing.")
           .Label("Post-processing").Group("Input/output"))
    .Add(Option("mesh", K::Directory, "Also write a surface mesh per label into this folder (STL + VTP, LPS world).")
           .Label("Mesh folder").Group("Input/output"))
    .Add(Option("screenshot", K::OutputFile, "Also write an overview picture (three slices, 3D view, legend) as PNG.")
           .Label("Screenshot").Group("Input/output"))
    .Add(Option("patch-size", K::IntegerVector,
                "Patch size in voxels along x,y,z (one number for a cube). Default: the package's, else 96,96,96.")
           .Label("Patch size").Group("Sliding window"))
    .Add(Option("fast", K::Flag,
                "Fewer windows: overlap 0.2 (tile step 0.8 of a patch, as TotalSegmentator's fast CPU mode) instead\n"
                "      of the package's; measured speed and Dice in Documentation/segment.md.")
           .Label("Fast").Group("Sliding window"))
    .Add(Option("run-constant-windows", K::Flag,
                "Run the network on every window, also on windows that are one constant value (zero padding),\n"
                "      which by default are run once and their prediction reused (same result; for measurements).")
           .Label("Run constant windows").Group("Sliding window"))
    .Add(Option("overlap", K::Float,
                "Fraction of a patch shared with its neighbour, in [0, 1). Default: the package's, else 0.5.")
           .Label("Overlap").Group("Sliding window"))
    .Add(Option("blend", K::Enumeration,
                "How overlapping patches are combined. Default: the package's, else gaussian.")
           .Choices({ "gaussian", "constant" }).Label("Blending").Group("Sliding window"))
    .Add(Option("batch-size", K::Integer, "Patches per forward call. Default: the package's, else 2.")
           .Label("Batch size").Group("Sliding window"))
    .Add(Option("normalize", K::String,
                "Intensity normalization of every channel: none, zscore, minmax, ct:LEVEL,WIDTH or percentile:LOW,HIGH;\n"
                "      zscore, minmax and percentile take @nonzero (statistics of the nonzero voxels, zeros stay 0)\n"
                "      or @nonzero-statistics (statistics of the nonzero voxels, zeros mapped below the tissue).\n"
                "      Default: the package's per channel, else zscore.")
           .Label("Normalization").Group("Sliding window"))
    .Add(Option("tta", K::Flag,
                "Test-time augmentation: average over mirrored copies along the package's mirror axes (else 0,1,2).")
           .Label("Mirror TTA").Group("Sliding window"))
    .Add(Option("no-tta", K::Flag, "Turn off the test-time augmentation a model package asks for.")
           .Label("No TTA").Group("Sliding window"))
    .Add(Option("mirror-axes", K::IntegerVector, "Axes mirrored by --tta (0=x, 1=y, 2=z), every combination.")
           .Label("Mirror axes").Group("Sliding window"))
    .Add(Option("crop-to-nonzero", K::Flag,
                "Segment only the bounding box of the voxels that are nonzero in any channel; the rest is\n"
                "      background (nnU-Net's crop_to_nonzero). Default: the package's inference.crop_to_nonzero.\n"
                "      Model packages only; not with --stream-divisions.")
           .Label("Crop to nonzero").Group("Sliding window"))
    .Add(Option("no-crop-to-nonzero", K::Flag, "Segment the whole image even if the model package asks to crop.")
           .Label("No crop to nonzero").Group("Sliding window"))
    .Add(Option("accumulation", K::Enumeration,
                "Number format of the blended class scores held while patches overlap: fp32, or fp16 (half the\n"
                "      memory per class, slower to add; see Documentation/benchmarks.md).")
           .Default("fp32").Choices({ "fp32", "fp16" }).Label("Score accumulation").Group("Sliding window"))
    .Add(Option("folds", K::String,
                "nnU-Net models: the folds to average, e.g. 0,1,2 (default: every fold_N present).")
           .Label("nnU-Net folds").Group("nnU-Net"))
    .Add(Option("checkpoint", K::Enumeration, "nnU-Net models: checkpoint_final.pth or checkpoint_best.pth.")
           .Default("final").Choices({ "final", "best" }).Label("nnU-Net checkpoint").Group("nnU-Net"))
    .Add(Option("threads", K::Integer, "LibTorch intra-op threads (0: one per physical core).")
           .Default("0").Label("Threads").Group("Runtime"))
    .Add(Option("precision", K::Enumeration,
                "Arithmetic of the network: fp32, or bf16 (bfloat16 weights and activations; fast only on CPUs\n"
                "      with AMX or GPUs; see Documentation/benchmarks.md for speed and Dice).")
           .Default("fp32").Choices({ "fp32", "bf16" }).Label("Precision").Group("Runtime"))
    .Add(Option("stream-divisions", K::Integer,
                "Segment in this many slabs along z (ITK streaming) to bound memory: the input is read slab by\n"
                "      slab (uncompressed .mha/.mhd/.nrrd/.nii on the model's grid; model packages only). The labels\n"
                "      are identical to an unstreamed run. 0: off.")
           .Default("0").Label("Stream divisions").Group("Runtime"))
    .Add(Option("device", K::Enumeration, "Where the model runs: auto picks CUDA when LibTorch has it, else the CPU.")
           .Default("auto").Choices({ "auto", "cpu", "cuda" }).Label("Device").Group("Runtime"))
    .Add(Option("no-optimize", K::Flag, "Skip torch::jit::freeze + optimize_for_inference.")
           .Label("No optimization").Group("Runtime"))
    .Add(Option("quiet", K::Flag, "Print nothing but errors.").Label("Quiet").Group("Runtime"));
  return cl;
}

namespace
{

/** The package's (or the defaults') sliding-window settings, overridden by the options given. */
SlidingWindowSettings
WindowSettings(const ParsedArguments & args, SlidingWindowSettings s, bool fromPackage, bool packageTta = false)
{
  if (args.Has("patch-size"))
  {
    const auto patch = args.GetIntegerVector("patch-size");
    if (patch.size() != 1 && patch.size() != 3)
    {
      throw UsageError("--patch-size needs one or three integers (x,y,z), got '" + args.Get("patch-size") + "'");
    }
    for (int d = 0; d < 3; ++d)
    {
      s.patchSize[d] = patch.size() == 1 ? patch[0] : patch[d]; // ranges: SlidingWindowSettings::Validate
    }
  }
  if (args.Flag("fast") && args.Has("overlap"))
    throw UsageError("--fast sets the overlap (0.2); give --fast or --overlap, not both");
  if (args.Flag("fast"))
    s.overlap = FastOverlap;
  if (args.Has("overlap"))
    s.overlap = args.GetFloat("overlap");
  if (args.Has("blend"))
    s.blend = ParseBlendMode(args.Get("blend"));
  if (args.Has("batch-size"))
    s.batchSize = args.GetInteger("batch-size");
  s.accumulation = ParseScoreAccumulation(args.Get("accumulation"));
  s.reuseConstantWindows = !args.Flag("run-constant-windows");
  std::vector<int> axes = fromPackage && !s.mirrorAxes.empty() ? s.mirrorAxes : std::vector<int>{ 0, 1, 2 };
  if (args.Has("mirror-axes"))
  {
    axes.clear();
    for (const long axis : args.GetIntegerVector("mirror-axes"))
      axes.push_back(static_cast<int>(axis));
  }
  const bool tta = !args.Flag("no-tta") && (args.Flag("tta") || (fromPackage && packageTta));
  s.mirrorAxes = tta ? axes : std::vector<int>{};
  try
  {
    s.Validate();
  }
  catch (const std::invalid_argument & e)
  {
    throw UsageError(e.what());
  }
  return s;
}

/** "model 'NAME' takes N input(s) (A, B)": the package's channels, for count mismatches. */
std::string
DescribePackageChannels(const ModelPackage & package)
{
  std::string names;
  for (const auto & c : package.channels)
    names += (names.empty() ? "" : ", ") + c.name;
  return "model '" + package.name + "' takes " + std::to_string(package.channels.size()) + " input(s) (" + names +
         ")";
}


} // namespace

int
RunSegmentCommand(const std::vector<std::string> & arguments)
{
  return ParseAndRun(SegmentCommandLine(), arguments, [](const ParsedArguments & args) { return RunSegment(args); });
}

int
RunSegment(const ParsedArguments & args, ReturnParameters * returned)
{
  // Everything that can be checked without reading data is checked first.
  std::optional<NormalizationSpec> normalizationOverride;
  if (args.Has("normalize"))
  {
    try
    {
      normalizationOverride = NormalizationSpec::Parse(args.Get("normalize"));
    }
    catch (const std::invalid_argument & e)
    {
      throw UsageError(std::string("--normalize: ") + e.what());
    }
  }
  const long threads = args.GetInteger("threads");
  if (threads < 0)
  {
    throw UsageError("--threads must be >= 0");
  }
  const long streamDivisions = args.GetInteger("stream-divisions");
  if (streamDivisions < 0 || streamDivisions > 65536)
  {
    throw UsageError("--stream-divisions must be between 0 (off) and 65536");
  }
  const bool streaming = streamDivisions > 0;
  // Parsed once; "none" turns a package's default off.
  PostProcessingSpec postprocess;
  try
  {
    if (args.Get("postprocess") != "none")
      postprocess = PostProcessingSpec::Parse(args.Get("postprocess"));
  }
  catch (const std::invalid_argument & e)
  {
    throw UsageError(e.what());
  }
  const std::vector<std::string> inputs = args.GetAll("input");
  const std::string              output = args.Get("output");
  const std::string              probabilities = args.Get("probabilities");
  const std::string              meshDir = args.Get("mesh");
  const std::string              screenshot = args.Get("screenshot");
  const bool                     overwrite = args.Flag("overwrite");
  const bool                     quiet = args.Flag("quiet");
  for (const std::string & out : { output, probabilities, screenshot })
  {
    if (out.empty())
      continue;
    for (const auto & input : inputs)
    {
      if (IsSameFile(out, input))
        throw InputError(out, "is an input image; refusing to overwrite it");
    }
    if (out == output)
      CheckLabelOutputPath(out, overwrite);
    else if (out != screenshot)
      CheckOutputPath(out, overwrite);
  }
  if (!probabilities.empty() && IsSameFile(output, probabilities))
  {
    throw UsageError("--output and --probabilities name the same file");
  }
#ifdef MEDSEG_WITH_VISUALIZATION
  if (!screenshot.empty())
  {
    CheckOutputFile(screenshot, overwrite);
    if (!HasRenderingDisplay())
      throw InputError(screenshot, "a picture needs an X display; run under xvfb-run -a");
  }
  if (!meshDir.empty())
  {
    if (!std::filesystem::is_directory(meshDir))
      throw InputError(meshDir, "mesh folder does not exist");
    for (const auto & entry : std::filesystem::directory_iterator(meshDir))
    {
      const std::string name = entry.path().filename().string();
      if (!overwrite && (name == "meshes.csv" || name.rfind("label_", 0) == 0))
        throw InputError(meshDir, "already holds meshes (" + name + "); pass --overwrite to replace them");
    }
  }
#else
  if (!screenshot.empty() || !meshDir.empty())
  {
    throw UsageError("--mesh and --screenshot need MedSeg built with Visualization (VTK)");
  }
#endif

  const bool cropOn = args.Flag("crop-to-nonzero");
  const bool cropOff = args.Flag("no-crop-to-nonzero");
  if (cropOn && cropOff)
  {
    throw UsageError("--crop-to-nonzero and --no-crop-to-nonzero contradict each other; give one");
  }
  if (cropOn && streaming)
  {
    throw UsageError("--crop-to-nonzero cannot be combined with --stream-divisions (streamed runs segment the "
                     "whole image)");
  }
  if (streaming)
  {
    if (!probabilities.empty() || !screenshot.empty())
      throw UsageError("--stream-divisions writes the label map only (and meshes); drop --probabilities/--screenshot");
    if (IsSliceLabelFormat(output))
      throw UsageError("--stream-divisions writes 3D label volumes (.nii.gz, .nii, .nrrd, .mha), not " +
                       std::filesystem::path(output).extension().string());
  }

  // What --model names (one rule for every command); an archive is unpacked once, here. Only the
  // checks that depend on the kind of model come after it.
  const std::string modelPath = args.Get("model");
  const ModelSource source = ModelSource::Resolve(modelPath);
  const bool        isNNUNet = source.kind == ModelSource::Kind::NNUNet;
  const bool        isMONAI = source.kind == ModelSource::Kind::MONAI;
  const bool        bare = source.kind == ModelSource::Kind::TorchScript;
  if (cropOn && bare)
  {
    throw UsageError("--crop-to-nonzero needs a model package (its label for class 0 is the background)");
  }
  if (streaming && bare)
  {
    throw UsageError("--stream-divisions needs a model package (its labels and normalization are known up front)");
  }

  const int torchThreads = SetTorchThreads(static_cast<int>(threads)); // 0: one per physical core
  TorchScriptModelOptions modelOptions;
  modelOptions.device = args.Get("device");
  modelOptions.optimize = !args.Flag("no-optimize");
  const Precision precision = ParsePrecision(args.Get("precision"));
  if (precision != Precision::FP32)
  {
    modelOptions.optimize = false; // a frozen, optimized TorchScript graph ignores autocast
  }

  std::optional<NNUNetFolderOptions> nnunetOptions;
  if (isNNUNet)
    nnunetOptions = NNUNetOptionsFrom(args); // refuses what the plans fix before anything is read
  if (isMONAI)
    CheckMONAIOptions(args);
  const bool                         isPackage = source.kind == ModelSource::Kind::Package;
  std::optional<ModelPackage>        package;
  SlidingWindowSettings              window;
  if (isPackage)
  {
    package = source.LoadPackage(); // validated, weights hash checked
    // Every --input gives at least one channel (an RGB image three), so too many are known now.
    if (inputs.size() > package->channels.size())
    {
      throw UsageError(DescribePackageChannels(*package) + ", " + std::to_string(inputs.size()) + " --input given");
    }
    window = WindowSettings(args, package->window, true, package->tta);
    // The package's default post-processing, unless the command line says otherwise ("none": off).
    if (!args.Has("postprocess") && !package->postprocess.empty())
    {
      try
      {
        postprocess = PostProcessingSpec::Parse(package->postprocess);
      }
      catch (const std::exception & e)
      {
        throw InputError(package->source, std::string("field 'inference.postprocess': ") + e.what());
      }
    }
    if (package->spatialDims == 2 && window.patchSize[package->sliceAxis] != 1)
    {
      throw UsageError("--patch-size: model '" + package->name + "' is 2D and needs size 1 along its slice axis " +
                       std::to_string(package->sliceAxis));
    }
    if (streaming && postprocess.NeedsIntensity())
    {
      throw UsageError("post-processing '" + postprocess.GetText() +
                       "' needs the intensity image in memory; with --stream-divisions use steps without it "
                       "(or --postprocess none)");
    }
    if (streaming && inputs.size() != package->channels.size())
    {
      throw UsageError(DescribePackageChannels(*package) + ", " + std::to_string(inputs.size()) + " --input given");
    }
  }
  else
  {
    window = WindowSettings(args, SlidingWindowSettings{}, false);
  }

  // One bar for the whole run: each phase has its share, so the ETA is the run's.
  ProgressLine progress("segment", !quiet && ProgressLine::IsTerminal());
  progress.SetPhase("reading", 0.0, 0.05);

  // The channels, in order: one per grey image or volume, three (R, G, B) per RGB image.
  // Streaming reads nothing here: PackageSegmenter::RunStreamed reads the files slab by slab.
  std::vector<FloatImage3::Pointer> images;
  std::string                       rgbInput; // the first input that gives more than one channel
  for (const auto & input : streaming ? std::vector<std::string>{} : inputs)
  {
    const std::vector<FloatImage3::Pointer> channels = isMONAI ? ReadVolumeChannels(input) : ReadChannelImages(input);
    const auto                              size = channels.front()->GetLargestPossibleRegion().GetSize();
    if (package && package->spatialDims == 2 && package->sliceAxis != 2 && size[2] == 1 &&
        size[package->sliceAxis] > 1)
    {
      // One slice across z cannot be cut into slices across x or y: the model would see 1-voxel strips.
      throw InputError(input, std::string("holds one slice across z, but the package's 2D model takes slices across ") +
                                (package->sliceAxis == 0 ? "x" : "y"));
    }
    const bool threeD = package ? package->spatialDims == 3 : true; // a bare TorchScript file runs in 3D
    if (threeD && size[2] == 1 && size[0] > 1 && size[1] > 1)
    {
      // A 3D network over one slice would see it padded to a whole patch of copies: refuse before it runs.
      const std::string what =
        package ? "model '" + package->name + "' is a 3D model (patches " + std::to_string(window.patchSize[0]) + " x " +
                    std::to_string(window.patchSize[1]) + " x " + std::to_string(window.patchSize[2]) + ")"
                : std::filesystem::path(modelPath).filename().string() +
                    " runs as a 3D model ([N,C,D,H,W] patches; a 2D network needs a package with input.spatial_dims "
                    "2, see medseg model pack)";
      throw InputError(input, "is a 2D image (one slice of " + std::to_string(size[0]) + " x " +
                                std::to_string(size[1]) + "), but " + what + "; give it a 3D volume or a 2D model");
    }
    if (channels.size() > 1 && rgbInput.empty())
      rgbInput = input;
    images.insert(images.end(), channels.begin(), channels.end());
  }
  if (!streaming && package && images.size() != package->channels.size())
  {
    if (rgbInput.empty())
      throw UsageError(DescribePackageChannels(*package) + ", " + std::to_string(inputs.size()) + " --input given");
    throw InputError(rgbInput, "is RGB and gives 3 channels (R, G, B); the --input files give " +
                                 std::to_string(images.size()) + " channels in all, but " +
                                 DescribePackageChannels(*package));
  }
  // A bare TorchScript file runs as a package that says what the command line says.
  if (bare)
  {
    package = ModelPackage::DescribeTorchScriptFile(modelPath, images.size(),
                                                    normalizationOverride.value_or(NormalizationSpec::Parse("zscore")));
  }
  // A 2D label image holds one slice of labels that fit it: known before the model runs.
  unsigned long maxLabel = 1;
  if (package)
  {
    for (const auto & l : package->labels)
      maxLabel = std::max<unsigned long>(maxLabel, l.value);
  }
  if (!streaming)
    CheckLabelMapFitsFormat(output, images.front()->GetLargestPossibleRegion(), maxLabel);

  const bool refineWithProbabilities = postprocess.NeedsIntensity();
  const bool wantProbabilities = !probabilities.empty() || refineWithProbabilities;
  // One segmenter, whatever the source: each follows its framework's conventions inside Run().
  std::unique_ptr<Segmenter> segmenter;
  PackageSegmenter *         packageSegmenter = nullptr; // the package's, for RunStreamed
  Segmentation               result;
  try
  {
    progress.SetPhase("loading model", 0.05, 0.1);
    if (isNNUNet)
      segmenter = OpenNNUNetSegmenter(args, source.NNUNetFolder(), *nnunetOptions, images.size());
    else if (isMONAI)
      segmenter = OpenMONAISegmenter(args, modelPath, images.size());
    else
    {
      if (normalizationOverride)
      {
        for (auto & c : package->channels)
          c.normalization = *normalizationOverride;
      }
      auto own = std::make_unique<PackageSegmenter>(
        *package, WithPrecision(CreatePackageModel(*package, modelOptions), precision));
      own->WindowSettings() = window;
      own->WindowSettings().sliceAxis = package->sliceAxis;
      if (cropOn || cropOff)
        own->SetCropToNonzero(cropOn); // else the package's; RunStreamed never crops
      packageSegmenter = own.get();
      segmenter = std::move(own);
    }

    progress.SetPhase("inference", 0.1, 0.85);
    const auto report = [&progress](double f) { progress.Update(f); };
    result = streaming && packageSegmenter != nullptr
               ? packageSegmenter->RunStreamed(inputs, static_cast<unsigned int>(streamDivisions), report)
               : segmenter->Run(images, wantProbabilities, report);
  }
  catch (const c10::Error & e)
  {
    throw InputError(modelPath, std::string("the model failed: ") + e.what_without_backtrace());
  }
  // The networks (every nnU-Net fold, perhaps on a GPU) are not needed past this point.
  const std::string description = segmenter->GetDescription();
  packageSegmenter = nullptr;
  segmenter.reset();
  LabelImage3::Pointer             labels = result.labels;
  const ProbabilityImage3::Pointer classProbabilities = result.probabilities; // component k = class k
  const unsigned int               classes = result.classes;
  const LabelTable &               table = result.table;
  for (const unsigned int value : result.labelOfClass)
    maxLabel = std::max<unsigned long>(maxLabel, value);
  for (const LabelInfo & entry : table.GetEntries())
    maxLabel = std::max<unsigned long>(maxLabel, entry.value);

  if (!postprocess.IsEmpty())
  {
    progress.SetPhase("post-processing", 0.85, 0.9);
    ProbabilityImage3::Pointer byLabel =
      refineWithProbabilities ? ProbabilitiesByLabelValue(result) : nullptr;
    labels = ApplyPostProcessing(labels, postprocess, streaming ? nullptr : images.front().GetPointer(), byLabel);
  }

  // Every output is complete on its own (atomic writes); the label map is written last, and if
  // any step fails, the files this run already wrote are removed again.
  std::vector<std::string> written;
  try
  {
    progress.SetPhase("writing", 0.9, 1.0);
    if (!probabilities.empty())
    {
      WriteImageFile(classProbabilities.GetPointer(), probabilities);
      written.push_back(probabilities);
    }
#ifdef MEDSEG_WITH_VISUALIZATION
    if (!meshDir.empty())
    {
      progress.SetPhase("meshes", 0.92, 0.96);
      for (const auto & summary : WriteLabelMeshes(labels, meshDir, MeshOptions{}, table))
        written.insert(written.end(), summary.files.begin(), summary.files.end());
      written.push_back((std::filesystem::path(meshDir) / "meshes.csv").string());
    }
    if (!screenshot.empty())
    {
      progress.SetPhase("picture", 0.96, 0.99);
      RenderOverview(images.front(), labels, screenshot, RenderOptions{}, table);
      written.push_back(screenshot);
    }
#endif
    progress.SetPhase("writing", 0.99, 1.0);
    WriteLabelMapFile(labels.GetPointer(), output, maxLabel);
  }
  catch (...)
  {
    std::error_code ignored;
    for (const auto & path : written)
      std::filesystem::remove(path, ignored);
    throw;
  }

  progress.Finish();

  // Per-label voxel counts and volumes, so a run says what it found.
  std::map<unsigned int, size_t> counts;
  const size_t                   n = labels->GetBufferedRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    ++counts[labels->GetBufferPointer()[i]];
  }
  const auto   spacing = labels->GetSpacing();
  const double voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  if (returned != nullptr)
  {
    returned->emplace_back("numberOfClasses", std::to_string(classes));
    for (const auto & [label, count] : counts)
    {
      if (label != 0)
        returned->emplace_back("label" + std::to_string(label) + "VolumeMl", std::to_string(count * voxelMl));
    }
  }
  if (!quiet)
  {
    std::cout << "medseg segment: " << description << ", " << torchThreads << " thread(s)\n";
    std::cout << "wrote " << output << " (" << classes << " classes)\n";
    for (const auto & [label, count] : counts)
    {
      if (label == 0)
        continue;
      std::cout << "  label " << label << (table.Has(label) ? " (" + table.Get(label).name + ")" : std::string())
                << ": " << count << " voxels, " << std::fixed << std::setprecision(2) << count * voxelMl << " mL\n";
    }
    if (!meshDir.empty())
      std::cout << "meshes written to " << meshDir << "\n";
    if (!screenshot.empty())
      std::cout << "picture written to " << screenshot << "\n";
  }
  return ExitSuccess;
}

} // namespace medseg::cli
