// medseg segment: runs a TorchScript model over a volume and writes the label map.
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegDeepSegmentationImageFilter.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegPixelTypeDispatch.h"
#include "medsegProgressLine.h"
#include "medsegTorchRuntime.h"
#include "medsegTorchScriptModel.h"

#include "itkCastImageFilter.h"

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace medseg::cli
{

namespace
{

using P = Parameter;
using K = ParameterKind;

CommandLine
SegmentCommandLine()
{
  CommandLine cl("medseg segment", "Deep-learning segmentation",
                 "Runs a TorchScript model ([N,1,D,H,W] float in, [N,K,D,H,W] logits out) over a 3D image\n"
                 "with a Gaussian-blended sliding window and writes the arg-max label map with exactly the\n"
                 "input's size, spacing, origin and direction. Sizes and axes are in image order (x,y,z).");
  cl.Add(P{ "model", K::InputFile, "TorchScript model file (.pt).", "", {}, true, false, false, "Model", "Input/output" })
    .Add(P{ "input", K::InputImage, "Image to segment: NIfTI, NRRD, MetaImage, or a folder holding one DICOM series.", "",
            {}, true, false, false, "Input volume", "Input/output" })
    .Add(P{ "output", K::OutputLabelMap, "Label map to write (.nii.gz, .nii, .nrrd or .mha).", "", {}, true, false,
            false, "Output label map", "Input/output" })
    .Add(P{ "probabilities", K::OutputImage, "Also write the class probabilities (one component per class).", "", {},
            false, false, false, "Output probabilities", "Input/output" })
    .Add(P{ "overwrite", K::Flag, "Replace output files that already exist.", "", {}, false, false, false, "Overwrite",
            "Input/output" })
    .Add(P{ "patch-size", K::IntegerVector, "Patch size in voxels along x,y,z (one number for a cube).", "96,96,96",
            {}, false, false, false, "Patch size", "Sliding window" })
    .Add(P{ "overlap", K::Float, "Fraction of a patch shared with its neighbour, in [0, 1).", "0.5", {}, false, false,
            false, "Overlap", "Sliding window" })
    .Add(P{ "blend", K::Enumeration, "How overlapping patches are combined.", "gaussian", { "gaussian", "constant" },
            false, false, false, "Blending", "Sliding window" })
    .Add(P{ "batch-size", K::Integer, "Patches per forward call.", "2", {}, false, false, false, "Batch size",
            "Sliding window" })
    .Add(P{ "normalize", K::String, "Intensity normalization: none, zscore, minmax, ct:LEVEL,WIDTH or percentile:LOW,HIGH.",
            "zscore", {}, false, false, false, "Normalization", "Sliding window" })
    .Add(P{ "tta", K::Flag, "Test-time augmentation: average over mirrored copies (see --mirror-axes).", "", {}, false,
            false, false, "Mirror TTA", "Sliding window" })
    .Add(P{ "mirror-axes", K::IntegerVector, "Axes mirrored by --tta (0=x, 1=y, 2=z), every combination.", "0,1,2", {},
            false, false, false, "Mirror axes", "Sliding window" })
    .Add(P{ "threads", K::Integer, "LibTorch intra-op threads (0 keeps LibTorch's default).", "0", {}, false, false,
            false, "Threads", "Runtime" })
    .Add(P{ "device", K::Enumeration, "Where the model runs: auto picks CUDA when LibTorch has it, else the CPU.",
            "auto", { "auto", "cpu", "cuda" }, false, false, false, "Device", "Runtime" })
    .Add(P{ "no-optimize", K::Flag, "Skip torch::jit::freeze + optimize_for_inference.", "", {}, false, false, false,
            "No optimization", "Runtime" })
    .Add(P{ "quiet", K::Flag, "Print nothing but errors.", "", {}, false, false, false, "Quiet", "Runtime" });
  return cl;
}

SlidingWindowSettings
WindowSettings(const ParsedArguments & args)
{
  SlidingWindowSettings s;
  const auto            patch = args.GetIntegerVector("patch-size");
  if (patch.size() != 1 && patch.size() != 3)
  {
    throw UsageError("--patch-size needs one or three integers (x,y,z), got '" + args.Get("patch-size") + "'");
  }
  for (int d = 0; d < 3; ++d)
  {
    s.patchSize[d] = patch.size() == 1 ? patch[0] : patch[d];
    if (s.patchSize[d] < 1 || s.patchSize[d] > 4096)
    {
      throw UsageError("--patch-size values must be between 1 and 4096, got '" + args.Get("patch-size") + "'");
    }
  }
  s.overlap = args.GetFloat("overlap");
  s.blend = ParseBlendMode(args.Get("blend"));
  s.batchSize = args.GetInteger("batch-size");
  if (args.Flag("tta"))
  {
    for (const long axis : args.GetIntegerVector("mirror-axes"))
    {
      s.mirrorAxes.push_back(static_cast<int>(axis));
    }
  }
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

bool
SamePath(const std::string & a, const std::string & b)
{
  std::error_code ec;
  if (std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec))
  {
    return std::filesystem::equivalent(a, b, ec);
  }
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

} // namespace

int
RunSegmentCommand(const std::vector<std::string> & arguments)
{
  const CommandLine     cl = SegmentCommandLine();
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }

  // Everything that can be checked without reading data is checked first.
  const SlidingWindowSettings window = WindowSettings(args);
  NormalizationSpec           normalization;
  try
  {
    normalization = NormalizationSpec::Parse(args.Get("normalize"));
  }
  catch (const std::invalid_argument & e)
  {
    throw UsageError(std::string("--normalize: ") + e.what());
  }
  const long threads = args.GetInteger("threads");
  if (threads < 0)
  {
    throw UsageError("--threads must be >= 0");
  }
  const std::string input = args.Get("input");
  const std::string output = args.Get("output");
  const std::string probabilities = args.Get("probabilities");
  const bool        overwrite = args.Flag("overwrite");
  const bool        quiet = args.Flag("quiet");
  for (const std::string & out : { output, probabilities })
  {
    if (out.empty())
      continue;
    if (SamePath(out, input))
    {
      throw InputError(out, "is the input image; refusing to overwrite it");
    }
    CheckOutputPath(out, overwrite);
  }
  if (!probabilities.empty() && SamePath(output, probabilities))
  {
    throw UsageError("--output and --probabilities name the same file");
  }

  SetTorchThreads(static_cast<int>(threads));
  TorchScriptModelOptions modelOptions;
  modelOptions.device = args.Get("device");
  modelOptions.optimize = !args.Flag("no-optimize");
  const auto model = TorchScriptModel::Load(args.Get("model"), modelOptions);
  const auto image = ReadScalarImage(input);

  using LabelFilter = DeepSegmentationImageFilter<FloatImage3, itk::Image<unsigned short, 3>>;
  auto filter = LabelFilter::New();
  filter->SetInput(image);
  filter->SetModel(model);
  filter->SetSlidingWindowSettings(window);
  filter->SetNormalization(normalization);
  filter->SetProduceProbabilities(!probabilities.empty());
  ProgressLine progress("segment", !quiet && ProgressLine::IsTerminal());
  progress.Observe(filter);
  filter->Update();
  progress.Finish();

  const unsigned int classes = filter->GetNumberOfClasses();
  const auto *       labels = filter->GetLabelOutput();
  // The label map gets the smallest unsigned type that holds every class of the model.
  DispatchLabelPixelType(classes > 1 ? classes - 1 : 1, [&](auto tag) {
    using LabelImage = itk::Image<typename decltype(tag)::type, 3>;
    auto cast = itk::CastImageFilter<LabelFilter::OutputImageType, LabelImage>::New();
    cast->SetInput(labels);
    cast->Update();
    WriteImageFile(cast->GetOutput(), output);
  });
  if (!probabilities.empty())
  {
    WriteImageFile(filter->GetProbabilityOutput(), probabilities);
  }

  if (!quiet)
  {
    // Per-label voxel counts and volumes, so a run says what it found.
    std::vector<size_t> counts(std::max(classes, 2u), 0);
    const size_t        n = labels->GetBufferedRegion().GetNumberOfPixels();
    for (size_t i = 0; i < n; ++i)
    {
      ++counts[labels->GetBufferPointer()[i]];
    }
    const auto   spacing = image->GetSpacing();
    const double voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
    std::cout << "medseg segment: " << model->GetDescription() << "\n";
    std::cout << "wrote " << output << " (" << classes << " classes)\n";
    for (size_t label = 1; label < counts.size(); ++label)
    {
      std::cout << "  label " << label << ": " << counts[label] << " voxels, " << std::fixed << std::setprecision(2)
                << counts[label] * voxelMl << " mL\n";
    }
  }
  return ExitSuccess;
}

} // namespace medseg::cli
