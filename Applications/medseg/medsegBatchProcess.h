#ifndef medsegBatchProcess_h
#define medsegBatchProcess_h

#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace medseg::cli
{

/** \brief What StartProcess() runs: the program, its arguments, its standard streams, limits.
 *
 * The one fork/exec of MedSeg: `medseg batch` starts its cases with it and the command-line
 * tests start `medseg` with it (Testing/Helpers/medsegProcess.h). */
struct ProcessSpec
{
  std::string              program;   //!< the file executed (no PATH search); also argv[0]
  std::vector<std::string> arguments; //!< argv[1...]
  std::string              stdinPath{ "/dev/null" };
  std::string              stdoutPath; //!< created or truncated; empty: the parent's stdout
  std::string              stderrPath; //!< the same as stdoutPath: one file for both; empty: the parent's
  /** Environment changes: {name, value} sets, {name, nullopt} removes; the rest is inherited. */
  std::vector<std::pair<std::string, std::optional<std::string>>> environment;
  bool      dieWithParent{ false }; //!< PR_SET_PDEATHSIG SIGKILL: the child dies with the caller
  long long fileSizeLimit{ -1 };    //!< >= 0: RLIMIT_FSIZE in bytes, SIGXFSZ ignored (writes fail, EFBIG)
  /** Written on the child's stderr when the program cannot be executed (then it exits 127). */
  std::string execFailureMessage;
};

/** Starts `spec` and returns the child's pid, or -1 (errno set) when no process can be had.
 *
 * Everything the child needs (argv, envp, paths, message) is prepared before `fork`; between
 * `fork` and `exec` the child makes only async-signal-safe system calls and allocates nothing,
 * so it is safe from a multi-threaded parent (LibTorch and ITK start threads). */
pid_t
StartProcess(const ProcessSpec & spec);

/** Waits for `pid` (retrying on EINTR); with `block` false returns at once. Returns true and sets
 * `status` (as waitpid) when the child has ended. */
bool
WaitProcess(pid_t pid, int & status, bool block = true);

/** A waitpid status as a shell reports it: the exit code, or 128 + the signal. */
int
ExitCodeOf(int status);

} // namespace medseg::cli

#endif
