#ifndef medsegProcess_h
#define medsegProcess_h

#include "medsegBatchProcess.h"
#include "medsegTestHelpers.h"

#include <string>
#include <sys/types.h>
#include <vector>

namespace medseg::test
{

/** What a finished child process left behind. */
struct ProcessResult
{
  int         exitCode{ -1 }; //!< the exit code, or 128 + the signal that ended it
  std::string out;            //!< its standard output
  std::string err;            //!< its standard error
};

/** How a test starts a child beyond program and arguments (see medseg::cli::ProcessSpec). */
struct ProcessOptions
{
  long long fileSizeLimit{ -1 }; //!< RLIMIT_FSIZE in bytes (writes past it fail with EFBIG); -1: none
  std::vector<std::pair<std::string, std::optional<std::string>>> environment; //!< set or remove
};

/** Runs `program` with `arguments` (no shell), waits, and captures both output streams. */
ProcessResult
RunProcess(const std::string & program, const std::vector<std::string> & arguments,
           const ProcessOptions & options = {});

/** \brief A child started in the background (stdout and stderr captured), for tests that signal
 * it while it runs. The destructor kills (SIGKILL) and reaps it if Wait() was not called. */
class BackgroundProcess
{
public:
  BackgroundProcess(const std::string & program, const std::vector<std::string> & arguments,
                    const ProcessOptions & options = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess &) = delete;
  BackgroundProcess &
  operator=(const BackgroundProcess &) = delete;

  pid_t
  Pid() const
  {
    return m_Pid;
  }
  /** True while the child has not ended (reaps it when it has). */
  bool
  Running();
  void
  Signal(int signal) const;
  /** Waits for the child to end and returns what it left. */
  ProcessResult
  Wait();

private:
  TemporaryDirectory m_Dir;
  pid_t              m_Pid{ -1 };
  bool               m_Ended{ false };
  int                m_Status{ 0 };
};

} // namespace medseg::test

#endif
