#ifndef medsegError_h
#define medsegError_h

#include <stdexcept>
#include <string>

namespace medseg
{

/** Exit codes shared by every MedSeg command-line tool. */
enum ExitCode : int
{
  ExitSuccess = 0,
  ExitProcessingError = 1,
  ExitUsageError = 2
};

/** \brief A problem with something the user gave: a file, a folder or a value.
 *
 * what() is one line, "<subject>: <problem>", so a tool can print it as it is. The libraries'
 * error convention: InputError for what the user gave, std::invalid_argument for a value a caller
 * passed (the command line maps it to its UsageError, Applications/Common/medsegUsageError.h),
 * std::logic_error for a bug. */
class InputError : public std::runtime_error
{
public:
  InputError(const std::string & subject, const std::string & problem);

  const std::string &
  GetSubject() const noexcept
  {
    return m_Subject;
  }
  const std::string &
  GetProblem() const noexcept
  {
    return m_Problem;
  }

private:
  std::string m_Subject;
  std::string m_Problem;
};

/** Collapses a (possibly multi-line) message to one line without ITK's file/line preamble. */
std::string
OneLine(const std::string & message);

} // namespace medseg

#endif
