#ifndef medsegCommands_h
#define medsegCommands_h

#include <string>
#include <vector>

namespace medseg::cli
{

/** One `medseg` subcommand. Commands are listed explicitly in medsegMain.cxx. */
struct Command
{
  const char * name;
  const char * summary;
  int (*run)(const std::vector<std::string> & arguments);
};

int
RunSegmentCommand(const std::vector<std::string> & arguments);

} // namespace medseg::cli

#endif
