#include "medsegIsolatedProbe.h"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace medseg::detail
{

std::string
RunIsolated(const std::function<void()> & probe)
{
  constexpr unsigned int limitSeconds = 30;
  const pid_t            child = fork();
  if (child < 0)
  {
    return ""; // no child to be had: parse in this process, as ITK would
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
    try
    {
      probe();
    }
    catch (...)
    {
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
  {
    if (errno != EINTR)
    {
      return "";
    }
  }
  if (!WIFSIGNALED(status))
  {
    return "";
  }
  const int signal = WTERMSIG(status);
  if (signal == SIGALRM)
  {
    return "took longer than " + std::to_string(limitSeconds) + " s";
  }
  const char * name = sigabbrev_np(signal);
  return std::string(signal == SIGABRT ? "aborted" : "crashed") + " (SIG" + (name ? name : std::to_string(signal)) +
         ")";
}

} // namespace medseg::detail
