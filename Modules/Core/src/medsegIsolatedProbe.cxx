#include "medsegIsolatedProbe.h"

#include <cerrno>
#include <csignal>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <new>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace medseg::detail
{

namespace
{
constexpr rlim_t ProbeMemoryLimit = rlim_t{ 512 } << 20; //!< new address space a header parse may use
constexpr int    OutOfMemoryExit = 86;                    //!< the child's exit code when it hit the cap
} // namespace

IsolatedResult
RunIsolated(const std::function<int()> & probe, uint64_t allowance)
{
  constexpr unsigned int limitSeconds = 30;
  const pid_t            child = fork();
  if (child < 0)
  {
    return {}; // no child to be had: parse in this process, as ITK would
  }
  if (child == 0)
  {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0)
    {
      dup2(null, STDERR_FILENO);
      dup2(null, STDOUT_FILENO);
    }
    alarm(limitSeconds);
    // A header parse needs little memory; a few hundred bytes claiming a 4 GiB element (GDCM
    // allocates what a DICOM length field says) must not get it. Address space beyond what this
    // process maps already is capped at ProbeMemoryLimit.
    std::ifstream statm("/proc/self/statm");
    unsigned long pages = 0;
    if (statm >> pages)
    {
      const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                           std::max<rlim_t>(ProbeMemoryLimit, static_cast<rlim_t>(allowance));
      const rlimit cap{ limit, limit };
      setrlimit(RLIMIT_AS, &cap);
    }
    int code = 0;
    try
    {
      code = probe();
    }
    catch (const std::bad_alloc &)
    {
      _exit(OutOfMemoryExit);
    }
    catch (...)
    {
      code = 0; // the real parse in the parent reports it
    }
    _exit(code);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
  {
    if (errno != EINTR)
    {
      return {};
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == OutOfMemoryExit)
  {
    return { "needed more than " + std::to_string(std::max<uint64_t>(ProbeMemoryLimit, allowance) >> 20) +
               " MiB of memory",
             0 };
  }
  if (!WIFSIGNALED(status))
  {
    return { "", WIFEXITED(status) ? WEXITSTATUS(status) : 0 };
  }
  const int signal = WTERMSIG(status);
  if (signal == SIGALRM)
  {
    return { "took longer than " + std::to_string(limitSeconds) + " s", 0 };
  }
  const char * name = sigabbrev_np(signal);
  return { std::string(signal == SIGABRT ? "aborted" : "crashed") + " (SIG" + (name ? name : std::to_string(signal)) +
             ")",
           0 };
}

} // namespace medseg::detail
