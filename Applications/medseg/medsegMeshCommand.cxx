// medseg mesh: label surfaces of a label map, exported as STL/VTP/OBJ/PLY.
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegToolMain.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegVisualizationCommandOptions.h"

#include <iomanip>
#include <iostream>

namespace medseg::cli
{

CommandLine
MeshCommandLine()
{
  using K = ParameterKind;
  CommandLine cl("medseg mesh", "Label surfaces",
                 "Extracts one smoothed surface per label (discrete flying edges, windowed-sinc smoothing,\n"
                 "optional decimation) in world coordinates (LPS by default, so that the meshes overlay the\n"
                 "image in 3D Slicer) and writes label_<value>_<name>.<ext> files plus meshes.csv.",
                 "Surface Models");
  cl.Add(Option("labelmap", K::InputLabelMap, "Label map to mesh.")
           .Required().Positional().Label("Label map").Group("Input/output"))
    .Add(Option("output-dir", K::Directory, "Folder for the mesh files (created if needed).")
           .Required().Label("Output folder").Group("Input/output"))
    .Add(Option("labels", K::IntegerVector, "Label values to mesh (default: every label present).")
           .Label("Labels").Group("Labels"));
  AddLabelTableParameter(cl);
  AddMeshParameters(cl, "Surface");
  cl.Add(Option("quiet", K::Flag, "Print nothing but errors.").Label("Quiet").Group("Runtime"));
  return cl;
}

int
RunMeshCommand(const std::vector<std::string> & arguments)
{
  return ParseAndRun(MeshCommandLine(), arguments, [](const ParsedArguments & args) { return RunMesh(args); });
}

int
RunMesh(const ParsedArguments & args, ReturnParameters * returned)
{
  MeshOptions options = MeshOptionsFromArguments(args);
  options.labels = LabelValues(args, "labels");
  const LabelTable table = ReadLabelTableOption(args);
  const auto       labels = ReadLabelImage(args.Get("labelmap"));
  const auto       summaries = WriteLabelMeshes(labels, args.Get("output-dir"), options, table);
  if (returned != nullptr)
  {
    returned->emplace_back("numberOfMeshes", std::to_string(summaries.size()));
  }
  if (!args.Flag("quiet"))
  {
    for (const auto & s : summaries)
    {
      std::cout << "label " << s.info.value << " (" << s.info.name << "): " << s.numberOfTriangles << " triangles, "
                << std::fixed << std::setprecision(1) << s.meshVolume << " mm^3 (voxels " << s.voxelVolume
                << " mm^3)\n";
    }
    std::cout << summaries.size() << " label(s) written to " << args.Get("output-dir") << '\n';
  }
  return ExitSuccess;
}

} // namespace medseg::cli
