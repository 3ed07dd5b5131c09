#ifndef medsegBatchCaseProcess_h
#define medsegBatchCaseProcess_h

#include "medsegBatchCases.h"
#include "medsegBatchCommand.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace medseg::cli::batch
{

/** The files a finished case leaves in OUTPUT/<case>/ (relative names). */
std::vector<std::string>
ExpectedOutputs(const BatchSettings & s);

/** True when OUTPUT/<id>/ holds every expected output. */
bool
OutputsExist(const BatchSettings & s, const std::string & id);

/** OUTPUT/.medseg-batch/tmp/<id>: where a case writes before its folder is published. */
std::filesystem::path
StageDir(const BatchSettings & s, const std::string & id);

/** OUTPUT/.medseg-batch/logs/<id>.log: the case's whole stdout and stderr. */
std::filesystem::path
LogPath(const BatchSettings & s, const std::string & id);

/** One case's `medseg segment` child. */
struct RunningCase
{
  size_t                                index{ 0 };
  pid_t                                 pid{ -1 };
  std::chrono::steady_clock::time_point start;
  bool                                  timedOut{ false };
  int                                   stopSignal{ 0 }; //!< the batch was stopped by this signal
  std::string                           error;           //!< set when the case could not even start
};

/** Starts `medseg segment` (or MEDSEG_BATCH_WORKER) for one case, writing into its staging
 * folder; the child dies with the batch. On failure `error` is set and `pid` is -1. */
RunningCase
StartCase(const BatchSettings & s, const BatchCase & c, size_t index);

/** Waits for `r` (blocking), honouring the case timeout; returns the waitpid status. */
int
WaitForCase(const BatchSettings & s, RunningCase & r);

/** Turns a finished child into a result (JSON: status, error, labels, ...). On success the
 * staging folder replaces OUTPUT/<case>/ in one rename, so that folder holds every output of a
 * case or none; on failure OUTPUT/<case>/ is left as it was. The staging folder is removed. */
nlohmann::json
FinishCase(const BatchSettings & s, const BatchCase & c, const RunningCase & r, int status);

} // namespace medseg::cli::batch

#endif
