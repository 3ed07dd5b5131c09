// The one fork/exec helper: batch's case processes and the command-line tests use it.
#include "medsegBatchProcess.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char ** environ;

namespace medseg::cli
{

namespace
{

/** Opens `path` onto `target` (0, 1 or 2) in the child: async-signal-safe calls only. */
void
Redirect(const char * path, int flags, int target)
{
  const int fd = ::open(path, flags, 0644);
  if (fd < 0)
    return;
  if (fd != target)
  {
    ::dup2(fd, target);
    ::close(fd);
  }
}

/** "NAME=value" entries of the parent's environment with `spec`'s changes applied. */
std::vector<std::string>
ChildEnvironment(const ProcessSpec & spec)
{
  std::vector<std::string> entries;
  for (char ** e = environ; e && *e; ++e)
  {
    const std::string entry = *e;
    bool              replaced = false;
    for (const auto & [name, value] : spec.environment)
      replaced = replaced || (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
                              entry[name.size()] == '=');
    if (!replaced)
      entries.push_back(entry);
  }
  for (const auto & [name, value] : spec.environment)
  {
    if (value)
      entries.push_back(name + "=" + *value);
  }
  return entries;
}

} // namespace

pid_t
StartProcess(const ProcessSpec & spec)
{
  // Everything is prepared here, before fork: the child only makes system calls.
  std::vector<std::string> arguments{ spec.program };
  arguments.insert(arguments.end(), spec.arguments.begin(), spec.arguments.end());
  std::vector<char *> argv;
  for (auto & a : arguments)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = ChildEnvironment(spec);
  std::vector<char *>      envp;
  for (auto & e : environment)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string message = spec.execFailureMessage.empty()
                                ? spec.program + ": error: cannot be executed\n"
                                : spec.execFailureMessage + "\n";
  const bool        sameFile = !spec.stdoutPath.empty() && spec.stdoutPath == spec.stderrPath;
  const char *      inPath = spec.stdinPath.empty() ? nullptr : spec.stdinPath.c_str();
  const char *      outPath = spec.stdoutPath.empty() ? nullptr : spec.stdoutPath.c_str();
  const char *      errPath = spec.stderrPath.empty() ? nullptr : spec.stderrPath.c_str();
  const int         writeFlags = O_WRONLY | O_CREAT | O_TRUNC;
  struct rlimit     limit
  {};
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(spec.fileSizeLimit < 0 ? 0 : spec.fileSizeLimit);
  struct sigaction ignore
  {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigset_t none;
  sigemptyset(&none);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid != 0)
    return pid; // the parent (or -1 with errno)

  // The child: async-signal-safe calls only, no allocation, until exec.
  if (spec.dieWithParent)
  {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127); // the parent died before prctl took effect
  }
  if (inPath)
    Redirect(inPath, O_RDONLY, STDIN_FILENO);
  if (outPath)
    Redirect(outPath, writeFlags, STDOUT_FILENO);
  if (sameFile)
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
  else if (errPath)
    Redirect(errPath, writeFlags, STDERR_FILENO);
  if (spec.fileSizeLimit >= 0)
  {
    ::sigaction(SIGXFSZ, &ignore, nullptr);
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(argv[0], argv.data(), envp.data());
  (void)!::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(127);
}

bool
WaitProcess(pid_t pid, int & status, bool block)
{
  for (;;)
  {
    const pid_t done = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (done == pid)
      return true;
    if (done == 0)
      return false;
    if (errno != EINTR)
    {
      status = 0; // not our child (any more): nothing to wait for
      return true;
    }
  }
}

int
ExitCodeOf(int status)
{
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

} // namespace medseg::cli
