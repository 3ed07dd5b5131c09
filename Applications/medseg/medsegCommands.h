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

int
RunModelCommand(const std::vector<std::string> & arguments);
int
RunPluginsCommand(const std::vector<std::string> & arguments);
int
RunPostprocessCommand(const std::vector<std::string> & arguments);
int
RunEvaluateCommand(const std::vector<std::string> & arguments);
int
RunMeshCommand(const std::vector<std::string> & arguments);
int
RunRenderCommand(const std::vector<std::string> & arguments);
int
RunViewCommand(const std::vector<std::string> & arguments);

} // namespace medseg::cli

#endif
