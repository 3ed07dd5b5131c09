#include "medsegVisualizationCommandOptions.h"

#include "medsegError.h"
#include "medsegUsageError.h"

namespace medseg::cli
{

namespace
{
using K = ParameterKind;
} // namespace

void
AddLabelTableParameter(CommandLine & cl)
{
  cl.Add(Option("label-table", K::InputFile,
                "Label names and colours: a 3D Slicer colour table (\"value name r g b a\" lines) or JSON "
                "({\"labels\": [{\"value\", \"name\", \"color\"}]}). Unlisted labels get label_<value> and the default palette.")
           .Label("Label table").Group("Labels"));
}

LabelTable
ReadLabelTableOption(const ParsedArguments & args)
{
  return args.Has("label-table") ? LabelTable::Read(args.Get("label-table")) : LabelTable();
}

std::vector<unsigned int>
LabelValues(const ParsedArguments & args, const std::string & name)
{
  std::vector<unsigned int> values;
  if (!args.Has(name))
  {
    return values;
  }
  for (const long v : args.GetIntegerVector(name))
  {
    if (v <= 0 || v > 65535)
    {
      throw UsageError("--" + name + ": label values must be in 1..65535, got " + std::to_string(v));
    }
    values.push_back(static_cast<unsigned int>(v));
  }
  return values;
}

void
AddMeshParameters(CommandLine & cl, const std::string & group)
{
  const MeshOptions d;
  cl.Add(Option("smoothing", K::Integer, "Windowed-sinc smoothing iterations (0 turns smoothing off).")
           .Default(std::to_string(d.smoothingIterations)).Label("Smoothing iterations").Group(group))
    .Add(Option("pass-band", K::Float, "Windowed-sinc pass band in (0, 2]; smaller is smoother.")
           .Default("0.05").Label("Pass band").Group(group))
    .Add(Option("decimate", K::Float, "Fraction of triangles to remove with quadric decimation, in [0, 1).")
           .Default("0").Label("Decimation").Group(group))
    .Add(Option("algorithm", K::Enumeration, "Surface extraction: discrete flying edges or discrete marching cubes.")
           .Default("flying-edges").Choices({ "flying-edges", "marching-cubes" }).Label("Algorithm").Group(group))
    .Add(Option("coordinates", K::Enumeration,
                "World coordinates of the mesh points: LPS (ITK's and 3D Slicer's default for model files) or RAS.")
           .Default("LPS").Choices({ "LPS", "RAS" }).Label("Coordinates").Group(group))
    .Add(Option("format", K::String, "Mesh formats, comma-separated: stl, vtp, obj, ply.")
           .Default("stl,vtp").Label("Formats").Group(group));
}

MeshOptions
MeshOptionsFromArguments(const ParsedArguments & args)
{
  MeshOptions options;
  const long  smoothing = args.GetInteger("smoothing");
  if (smoothing < 0 || smoothing > 1000)
  {
    throw UsageError("--smoothing must be in 0..1000");
  }
  options.smoothingIterations = static_cast<unsigned int>(smoothing);
  options.passBand = args.GetFloat("pass-band");
  if (!(options.passBand > 0.0 && options.passBand <= 2.0))
  {
    throw UsageError("--pass-band must be in (0, 2]");
  }
  options.decimation = args.GetFloat("decimate");
  if (options.decimation < 0.0 || options.decimation >= 1.0)
  {
    throw UsageError("--decimate must be in [0, 1)");
  }
  options.algorithm = args.Get("algorithm") == "marching-cubes" ? SurfaceAlgorithm::DiscreteMarchingCubes
                                                                 : SurfaceAlgorithm::DiscreteFlyingEdges;
  options.coordinates = args.Get("coordinates") == "RAS" ? CoordinateSystem::RAS : CoordinateSystem::LPS;
  try
  {
    options.formats = ParseMeshFormats(args.Get("format"));
  }
  catch (const std::invalid_argument & e)
  {
    throw UsageError(std::string("--format: ") + e.what());
  }
  return options;
}

void
AddRenderParameters(CommandLine & cl, const std::string & group)
{
  const RenderOptions d;
  cl.Add(Option("only", K::IntegerVector, "Label values to draw (default: every label present).")
           .Label("Only labels").Group(group))
    .Add(Option("overlay", K::Enumeration, "Label overlay on the slices: filled, or only the outlines.")
           .Default("fill").Choices({ "fill", "outline" }).Label("Overlay").Group(group))
    .Add(Option("opacity", K::Float, "Opacity of the filled overlay, in [0, 1] (outlines are opaque).")
           .Default("0.5").Label("Opacity").Group(group))
    .Add(Option("window", K::Float, "Intensity window width (default: 1st to 99th percentile).")
           .Label("Window").Group(group))
    .Add(Option("level", K::Float, "Intensity window centre (default: middle of the 1st and 99th percentiles).")
           .Label("Level").Group(group))
    .Add(Option("focus", K::FloatVector,
                "LPS point x,y,z (mm) the three slices go through (default: the centre of the largest label).")
           .Label("Focus").Group(group))
    .Add(Option("size", K::Integer, "Pixels per view (the picture is 2x2 views plus the legend).")
           .Default(std::to_string(d.panelSize)).Label("View size").Group(group))
    .Add(Option("no-legend", K::Flag, "Leave out the legend of label names.").Label("No legend").Group(group))
    .Add(Option("no-surfaces", K::Flag, "Leave out the label surfaces in the 3D view.")
           .Label("No surfaces").Group(group));
}

RenderOptions
RenderOptionsFromArguments(const ParsedArguments & args)
{
  RenderOptions options;
  options.labels = LabelValues(args, "only");
  options.overlay = args.Get("overlay") == "outline" ? OverlayMode::Outline : OverlayMode::Fill;
  options.opacity = args.GetFloat("opacity");
  if (options.opacity < 0.0 || options.opacity > 1.0)
  {
    throw UsageError("--opacity must be in [0, 1]");
  }
  if (args.Has("window") != args.Has("level"))
  {
    throw UsageError("--window and --level go together");
  }
  if (args.Has("window"))
  {
    options.window = args.GetFloat("window");
    options.level = args.GetFloat("level");
    if (!(*options.window > 0.0))
    {
      throw UsageError("--window must be positive");
    }
  }
  if (args.Has("focus"))
  {
    const auto f = args.GetFloatVector("focus");
    if (f.size() != 3)
    {
      throw UsageError("--focus needs three numbers x,y,z");
    }
    options.focus = std::array<double, 3>{ f[0], f[1], f[2] };
  }
  const long size = args.GetInteger("size");
  if (size < 64 || size > 4096)
  {
    throw UsageError("--size must be in 64..4096");
  }
  options.panelSize = static_cast<int>(size);
  options.legend = !args.Flag("no-legend");
  options.surfaces = !args.Flag("no-surfaces");
  return options;
}

} // namespace medseg::cli
