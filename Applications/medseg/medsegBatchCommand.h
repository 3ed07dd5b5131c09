#ifndef medsegBatchCommand_h
#define medsegBatchCommand_h

#include "medsegCommands.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medseg::cli
{

/** \brief `medseg batch`'s command line, parsed and checked (medsegBatchCommand.cxx). */
struct BatchSettings
{
  std::string              model;
  std::filesystem::path    output;
  std::filesystem::path    state; //!< OUTPUT/.medseg-batch
  std::vector<std::string> inputs; //!< the --input values
  std::string              extension;
  std::string              reportBase; //!< --report, or "" for OUTPUT/report[.shard-I-of-N]
  bool                     probabilities{ false };
  bool                     mesh{ false };
  bool                     screenshot{ false };
  bool                     overwrite{ false };
  bool                     quiet{ false };
  long                     jobs{ 1 };
  std::pair<long, long>    shard{ 0, 1 }; //!< I, N
  double                   caseTimeout{ 0 };
  std::vector<std::string> forwarded; //!< options for medseg segment
  std::string              device;    //!< resolved, for the report
  std::map<unsigned int, std::string> labelNames; //!< from the package (filled by rank 0)
  std::string              worker;                //!< executable run per case
};

/** Parses `medseg batch` arguments (UsageError on a bad one); nullopt after printing --help
 * (`coordinator`: this process prints). */
std::optional<BatchSettings>
ParseBatchArguments(const std::vector<std::string> & arguments, bool coordinator);

#ifdef MEDSEG_WITH_MPI
/** True when this process was started by mpirun/mpiexec with more than one rank. */
bool
IsMpiLaunch();
/** `medseg batch` across MPI ranks: rank 0 hands out cases on request and writes the report. */
int
RunBatchMpi(const std::vector<std::string> & arguments);
#endif

} // namespace medseg::cli

#endif
