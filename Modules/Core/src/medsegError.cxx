#include "medsegError.h"

#include <cctype>

namespace medseg
{

InputError::InputError(const std::string & subject, const std::string & problem)
  : std::runtime_error(subject + ": " + OneLine(problem))
  , m_Subject(subject)
  , m_Problem(OneLine(problem))
{}

std::string
OneLine(const std::string & message)
{
  std::string out;
  out.reserve(message.size());
  bool pendingSpace = false;
  for (const char c : message)
  {
    if (std::isspace(static_cast<unsigned char>(c)))
    {
      pendingSpace = !out.empty();
      continue;
    }
    if (pendingSpace)
    {
      out.push_back(' ');
      pendingSpace = false;
    }
    out.push_back(c);
  }
  return out;
}

} // namespace medseg
