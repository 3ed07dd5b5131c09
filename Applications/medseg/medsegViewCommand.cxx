// medseg view: an interactive window with the three slice views, the 3D surfaces and the legend.
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
ViewCommandLine()
{
  using K = ParameterKind;
  CommandLine cl("medseg view", "Viewer",
                 "Opens a window with axial, coronal and sagittal slices (label overlay) and the 3D label\n"
                 "surfaces. Mouse wheel or Up/Down over a slice: step through slices; left click in a slice:\n"
                 "move the crosshair point; drag in the 3D view: rotate (right drag/wheel: zoom); q: quit.",
                 "Surface Models");
  cl.Add(Option("image", K::InputImage, "Image to show (grey values).")
           .Required().Positional().Label("Image").Group("Input/output"))
    .Add(Option("labels", K::InputLabelMap, "Label map to overlay (same geometry as the image).")
           .Label("Label map").Group("Input/output"));
  AddLabelTableParameter(cl);
  AddRenderParameters(cl, "Display");
  cl.Add(Option("frames", K::Integer, "Render this many frames (stepping the axial slice) and close, without waiting "
                "for the user (for scripts and tests); 0 = interactive.")
           .Default("0").Label("Frames").Group("Scripting"))
    .Add(Option("screenshot", K::OutputFile, "Save the last frame as a PNG when the window closes.")
           .Label("Screenshot").Group("Scripting"))
    .Add(Option("offscreen", K::Flag, "Render without showing the window (with --frames).")
           .Label("Off-screen").Group("Scripting"));
  return cl;
}

} // namespace

int
RunViewCommand(const std::vector<std::string> & arguments)
{
  const CommandLine     cl = ViewCommandLine();
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  const RenderOptions options = RenderOptionsFromArguments(args);
  ViewerOptions       viewer;
  const long          frames = args.GetInteger("frames");
  if (frames < 0)
  {
    throw UsageError("--frames must not be negative");
  }
  viewer.frames = static_cast<int>(frames);
  viewer.screenshot = args.Get("screenshot");
  viewer.offScreen = args.Flag("offscreen");
  if (viewer.offScreen && viewer.frames == 0)
  {
    throw UsageError("--offscreen needs --frames (an invisible window cannot be used interactively)");
  }
  const LabelTable table = ReadLabelTableOption(args);
  if (!HasRenderingDisplay())
  {
    throw InputError("DISPLAY", "no X display: `medseg view` needs a desktop session (or xvfb-run -a with --frames)");
  }
  const auto image = ReadScalarImage(args.Get("image"));
  LabelImage3::Pointer labels;
  if (args.Has("labels"))
  {
    labels = ReadLabelImage(args.Get("labels"));
  }
  viewer.title = "MedSeg - " + std::filesystem::path(args.Get("image")).filename().string();
  RunLabelViewer(image, labels.GetPointer(), options, table, viewer);
  return ExitSuccess;
}

} // namespace medseg::cli
