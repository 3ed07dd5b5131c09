// medseg: the command-line front end. Each subcommand lives in its own file and is listed here.
#include "medsegCommands.h"
#include "medsegTorchRuntime.h"
#include "medsegError.h"
#include "medsegLibraryMessages.h"
#include "medsegToolMain.h"
#include "medsegVersion.h"
#ifdef MEDSEG_WITH_VISUALIZATION
#  include "medsegVtkMessages.h"
#endif

#include <algorithm>
#include <cstring>
#include <iostream>

namespace
{

using medseg::cli::Command;

const Command commands[] = {
  { "segment", "segment an image with a deep-learning model", &medseg::cli::RunSegmentCommand },
  { "model", "inspect (info) or build (pack) a model package", &medseg::cli::RunModelCommand },
  { "plugins", "list the model plugins found, and those refused and why", &medseg::cli::RunPluginsCommand },
  { "postprocess", "clean up a label map (components, holes, smoothing, edges)", &medseg::cli::RunPostprocessCommand },
  { "train", "train a model on image/label pairs and write a model package", &medseg::cli::RunTrainCommand },
  { "evaluate", "Dice, Hausdorff and surface metrics against references", &medseg::cli::RunEvaluateCommand },
  { "batch", "segment many cases: isolation, resume, report, shards, MPI", &medseg::cli::RunBatchCommand },
#ifdef MEDSEG_WITH_VISUALIZATION
  { "mesh", "label surfaces as STL/VTP/OBJ/PLY files", &medseg::cli::RunMeshCommand },
  { "render", "overview picture: slices, label overlay, 3D surfaces, legend", &medseg::cli::RunRenderCommand },
  { "view", "interactive slice and 3D viewer", &medseg::cli::RunViewCommand },
#endif
};

void
PrintUsage(std::ostream & os)
{
  os << "Usage: medseg COMMAND [options]   (medseg COMMAND --help for details)\n\nCommands:\n";
  for (const auto & c : commands)
  {
    os << "  " << c.name << std::string(12 - std::min<size_t>(11, std::strlen(c.name)), ' ') << c.summary << '\n';
  }
  os << "\n  --version   print the MedSeg version\n"
        "  --verbose   (with any command) also show what ITK, GDCM and VTK print (or MEDSEG_VERBOSE=1)\n";
}

} // namespace

int
main(int argc, char * argv[])
{
  if (argc < 2)
  {
    PrintUsage(std::cerr);
    return medseg::ExitUsageError;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help")
  {
    PrintUsage(std::cout);
    return medseg::ExitSuccess;
  }
  if (name == "--version")
  {
    std::cout << "medseg " << MEDSEG_VERSION << '\n';
    return medseg::ExitSuccess;
  }
  medseg::KeepFreedMemoryForReuse(); // large tensors: reuse freed memory, no page faults per layer
  for (const auto & c : commands)
  {
    if (name == c.name)
    {
      auto arguments = medseg::cli::Arguments(argc, argv, 2);
      // --verbose, anywhere, belongs to medseg itself: library messages on stderr.
      const auto verbose = std::remove(arguments.begin(), arguments.end(), std::string("--verbose"));
      if (verbose != arguments.end())
      {
        medseg::SetVerboseLibraryMessages(true);
        arguments.erase(verbose, arguments.end());
      }
#ifdef MEDSEG_WITH_VISUALIZATION
      medseg::CaptureVtkMessages();
#endif
      return medseg::cli::RunTool(std::string("medseg ") + c.name, [&] { return c.run(arguments); });
    }
  }
  std::cerr << "medseg: usage error: unknown command '" << name << "'\n";
  PrintUsage(std::cerr);
  return medseg::ExitUsageError;
}
