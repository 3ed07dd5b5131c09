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

using P = Parameter;
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
  cl.Add(P{ "input", K::InputLabelMap, "Label map to post-process.", "", {}, true, false, false, "Input", "Input/output" })
    .Add(P{ "output", K::OutputLabelMap,
            "Label map to write (.nii.gz, .nii, .nrrd or .mha; .png or .tif for a 2D image of one slice).", "", {},
            true, false, false, "Output", "Input/output" })
    .Add(P{ "postprocess", K::String,
            "Steps, e.g. \"largest-component;islands:min=100mm3;fill-holes;smooth:1mm;refine-edges:band=2mm\".", "",
            {}, true, false, false, "Post-processing", "Post-processing" })
    .Add(P{ "image", K::InputImage, "Intensity image on the label map's grid (needed by refine-edges).", "", {}, false,
            false, false, "Intensity image", "Input/output" })
    .Add(P{ "overwrite", K::Flag, "Replace the output file if it exists.", "", {}, false, false, false, "Overwrite",
            "Input/output" })
    .Add(P{ "quiet", K::Flag, "Print nothing but errors.", "", {}, false, false, false, "Quiet", "Runtime" });
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
  const std::string spec = args.Get("postprocess");
  try
  {
    ValidatePostProcessingSpec(spec);
  }
  catch (const UsageError & e)
  {
    throw UsageError(std::string("--postprocess: ") + e.what());
  }
  const std::string input = args.Get("input");
  const std::string output = args.Get("output");
  const std::string imagePath = args.Get("image");
  if (PostProcessingNeedsIntensity(spec) && imagePath.empty())
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
