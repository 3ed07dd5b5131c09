#ifndef medsegCommands_h
#define medsegCommands_h

#include "medsegCommandLine.h"

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
int
RunBatchCommand(const std::vector<std::string> & arguments);

// The parameter tables and bodies that `medseg <command>` shares with the 3D Slicer modules
// (Applications/Slicer): one table per tool gives medseg's --help and Slicer's --xml. A body runs
// already-parsed arguments and, when asked, reports output values (--returnparameterfile).
CommandLine
SegmentCommandLine();
int
RunSegment(const ParsedArguments & args, ReturnParameters * returned = nullptr);
CommandLine
PostprocessCommandLine();
int
RunPostprocess(const ParsedArguments & args, ReturnParameters * returned = nullptr);
CommandLine
EvaluateCommandLine();
int
RunEvaluate(const ParsedArguments & args, ReturnParameters * returned = nullptr);
CommandLine
MeshCommandLine();
int
RunMesh(const ParsedArguments & args, ReturnParameters * returned = nullptr);

int
RunTrainCommand(const std::vector<std::string> & arguments);

} // namespace medseg::cli

#endif
