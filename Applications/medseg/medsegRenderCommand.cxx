// medseg render: an off-screen overview picture (three slices with the label overlay, 3D surfaces, legend).
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegVisualizationCommandOptions.h"

#include <filesystem>
#include <iostream>

namespace medseg::cli
{

namespace
{

CommandLine
RenderCommandLine()
{
  using K = ParameterKind;
  CommandLine cl("medseg render", "Overview picture",
                 "Renders, off-screen, axial, coronal and sagittal slices through one point (default: the centre\n"
                 "of the largest label) with the label overlay, a 3D view of the label surfaces and a legend of\n"
                 "label names into one PNG. Needs an X display: on a headless machine run it under `xvfb-run -a`.",
                 "Surface Models");
  cl.Add(Option("image", K::InputImage, "Image to show (grey values).")
           .Required().Positional().Label("Image").Group("Input/output"))
    .Add(Option("labels", K::InputLabelMap, "Label map to overlay (same geometry as the image).")
           .Label("Label map").Group("Input/output"))
    .Add(Option("output", K::OutputFile, "PNG to write.").Required().Label("Output PNG").Group("Input/output"))
    .Add(Option("overwrite", K::Flag, "Replace the PNG if it exists.").Label("Overwrite").Group("Input/output"));
  AddLabelTableParameter(cl);
  AddRenderParameters(cl, "Picture");
  return cl;
}

} // namespace

int
RunRenderCommand(const std::vector<std::string> & arguments)
{
  const CommandLine     cl = RenderCommandLine();
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  const std::string output = args.Get("output");
  const auto        extension = std::filesystem::path(output).extension().string();
  if (extension != ".png" && extension != ".PNG")
  {
    throw UsageError("--output must be a .png file");
  }
  CheckOutputFile(output, args.Flag("overwrite"));
  const RenderOptions options = RenderOptionsFromArguments(args);
  const LabelTable    table = ReadLabelTableOption(args);
  if (!HasRenderingDisplay())
  {
    throw InputError("DISPLAY", "no X display for rendering; run under `xvfb-run -a medseg render ...`");
  }
  const auto image = ReadScalarImage(args.Get("image"));
  LabelImage3::Pointer labels;
  if (args.Has("labels"))
  {
    labels = ReadLabelImage(args.Get("labels"));
  }
  RenderOverview(image, labels.GetPointer(), output, options, table);
  return ExitSuccess;
}

} // namespace medseg::cli
