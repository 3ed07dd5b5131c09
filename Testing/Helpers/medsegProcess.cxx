#include "medsegProcess.h"

#include <csignal>
#include <stdexcept>

namespace medseg::test
{

BackgroundProcess::BackgroundProcess(const std::string & program, const std::vector<std::string> & arguments,
                                     const ProcessOptions & options)
{
  cli::ProcessSpec spec;
  spec.program = program;
  spec.arguments = arguments;
  spec.stdoutPath = m_Dir / "stdout";
  spec.stderrPath = m_Dir / "stderr";
  spec.environment = options.environment;
  spec.fileSizeLimit = options.fileSizeLimit;
  m_Pid = cli::StartProcess(spec);
  if (m_Pid < 0)
    throw std::runtime_error(program + ": cannot start a process");
}

BackgroundProcess::~BackgroundProcess()
{
  if (!m_Ended)
  {
    ::kill(m_Pid, SIGKILL);
    cli::WaitProcess(m_Pid, m_Status);
  }
}

bool
BackgroundProcess::Running()
{
  if (!m_Ended)
    m_Ended = cli::WaitProcess(m_Pid, m_Status, false);
  return !m_Ended;
}

void
BackgroundProcess::Signal(int signal) const
{
  if (!m_Ended)
    ::kill(m_Pid, signal);
}

ProcessResult
BackgroundProcess::Wait()
{
  if (!m_Ended)
    m_Ended = cli::WaitProcess(m_Pid, m_Status);
  ProcessResult result;
  result.exitCode = cli::ExitCodeOf(m_Status);
  result.out = ReadText(m_Dir / "stdout");
  result.err = ReadText(m_Dir / "stderr");
  return result;
}

ProcessResult
RunProcess(const std::string & program, const std::vector<std::string> & arguments, const ProcessOptions & options)
{
  return BackgroundProcess(program, arguments, options).Wait();
}

} // namespace medseg::test
