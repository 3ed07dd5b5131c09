// medseg: the command-line front end. Each subcommand lives in its own file and is listed here.
#include "medsegCommands.h"
#include "medsegError.h"
#include "medsegToolMain.h"
#include "medsegVersion.h"

#include <cstring>
#include <iostream>

namespace
{

using medseg::cli::Command;

const Command commands[] = {
  { "segment", "segment an image with a deep-learning model", &medseg::cli::RunSegmentCommand },
};

void
PrintUsage(std::ostream & os)
{
  os << "Usage: medseg COMMAND [options]   (medseg COMMAND --help for details)\n\nCommands:\n";
  for (const auto & c : commands)
  {
    os << "  " << c.name << std::string(12 - std::min<size_t>(11, std::strlen(c.name)), ' ') << c.summary << '\n';
  }
  os << "\n  --version   print the MedSeg version\n";
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
  for (const auto & c : commands)
  {
    if (name == c.name)
    {
      const auto arguments = medseg::cli::Arguments(argc, argv, 2);
      return medseg::cli::RunTool(std::string("medseg ") + c.name, [&] { return c.run(arguments); });
    }
  }
  std::cerr << "medseg: usage error: unknown command '" << name << "'\n";
  PrintUsage(std::cerr);
  return medseg::ExitUsageError;
}
