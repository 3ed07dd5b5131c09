#ifndef medsegUsageError_h
#define medsegUsageError_h

#include <stdexcept>

namespace medseg
{

/** \brief The command line itself is wrong (unknown option, missing or malformed value): exit 2.
 *
 * An Applications concept. The libraries throw InputError (a file, folder or value the user gave,
 * named as "<subject>: <problem>"), std::invalid_argument (a value a caller passed, such as a
 * post-processing spec or a mesh format) and std::logic_error (a bug); a command turns the
 * std::invalid_argument of an option's value into a UsageError. RunTool prints it as
 * "<program>: usage error: <message>". */
class UsageError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

} // namespace medseg

#endif
