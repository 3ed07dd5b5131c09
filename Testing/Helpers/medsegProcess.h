#ifndef medsegProcess_h
#define medsegProcess_h

#include <string>
#include <vector>

namespace medseg::test
{

/** What a finished child process left behind. */
struct ProcessResult
{
  int         exitCode{ -1 };
  std::string out; //!< its standard output
  std::string err; //!< its standard error
};

/** Runs `program` with `arguments` (no shell), waits, and captures both output streams. */
ProcessResult
RunProcess(const std::string & program, const std::vector<std::string> & arguments);

} // namespace medseg::test

#endif
