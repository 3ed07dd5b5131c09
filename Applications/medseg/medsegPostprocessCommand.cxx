// medseg postprocess: runs a --postprocess spec over an existing label map.
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegToolMain.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegPostProcessingPipeline.h"

#include "itkMinimumMaximumImageCalculator.h"

#include <filesystem>
#include <iostream>

namespace medseg::cli
{
namespace
{

using K = ParameterKind;

} // namespace

CommandLine
PostprocessCommandLine()
{
  CommandLine cl("medseg postprocess", "Label map post-processing",
                 "Runs boundary-preserving post-processing steps over a label map and writes the result with "
                 "exactly the input's geometry. Steps (';'-separated, run in order): largest-component, "
                 "islands:min=VOLUME|keep=N, fill-holes[:axis=z], smooth:RADIUS, margin:DISTANCE, "
                 "refine-edges:band=WIDTH (needs --image). Lengths in mm, volumes in mm3 or mL; see "
                 "Documentation/postprocessing.md.");
  cl.Add(Option("input", K::InputLabelMap, "Label map to post-process.")
           .Required().Label("Input").Group("Input/output"))
    .Add(Option("output", K::OutputLabelMap,
                "Label map to write (.nii.gz, .nii, .nrrd or .mha; .png or .tif for a 2D image of one slice).")
           .Required().Label("Output").Group("Input/output"))
    .Add(Option("postprocess", K::String,
                "Steps, e.g. \"largest-component;islands:min=100mm3;fill-holes;smooth:1mm;refine-edges:band=2mm\".")
           .Required().Label("Post-processing").Group("Post-processing"))
    .Add(Option("image", K::InputImage, "Intensity image on the label map's grid (needed by refine-edges).")
           .Label("Intensity image").Group("Input/output"))
    .Add(Option("overwrite", K::Flag, "Replace the output file if it exists.")
           .Label("Overwrite").Group("Input/output"))
    .Add(Option("quiet", K::Flag, "Print nothing but errors.").Label("Quiet").Group("Runtime"));
  return cl;
}

namespace
{


} // namespace

int
RunPostprocessCommand(const std::vector<std::string> & arguments)
{
  return ParseAndRun(PostprocessCommandLine(), arguments, [](const ParsedArguments & args) { return RunPostprocess(args); });
}

int
RunPostprocess(const ParsedArguments & args, ReturnParameters * returned)
{
  // Everything that can be checked without reading data is checked first.
  PostProcessingSpec spec;
  try
  {
    spec = PostProcessingSpec::Parse(args.Get("postprocess"));
  }
  catch (const std::invalid_argument & e)
  {
    throw UsageError(std::string("--postprocess: ") + e.what());
  }
  const std::string input = args.Get("input");
  const std::string output = args.Get("output");
  const std::string imagePath = args.Get("image");
  if (spec.NeedsIntensity() && imagePath.empty())
  {
    throw UsageError("--postprocess: refine-edges needs the intensity image (--image)");
  }
  if (IsSameFile(input, output) || (!imagePath.empty() && IsSameFile(imagePath, output)))
  {
    throw InputError(output, "is an input file; refusing to overwrite it");
  }
  CheckLabelOutputPath(output, args.Flag("overwrite"));

  const auto             labels = ReadLabelImage(input);
  CheckLabelMapFitsFormat(output, labels->GetLargestPossibleRegion(), 0);
  FloatImage3::Pointer intensity;
  if (!imagePath.empty())
  {
    intensity = ReadScalarImage(imagePath);
    const std::string difference = DescribeGeometryDifference(labels, intensity);
    if (!difference.empty())
    {
      throw InputError(imagePath, difference + " (the image must share the label map's grid)");
    }
  }
  const auto result = ApplyPostProcessing(labels, spec, intensity);

  // The output gets the smallest unsigned type that holds its largest label.
  auto range = itk::MinimumMaximumImageCalculator<LabelImage3>::New();
  range->SetImage(result);
  range->ComputeMaximum();
  WriteLabelMapFile(result, output, range->GetMaximum());
  if (returned != nullptr)
  {
    returned->emplace_back("maximumLabel", std::to_string(range->GetMaximum()));
  }
  if (!args.Flag("quiet"))
  {
    std::cout << "wrote " << output << '\n';
  }
  return ExitSuccess;
}

} // namespace medseg::cli
