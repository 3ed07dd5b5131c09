#ifndef medsegToolMain_h
#define medsegToolMain_h

#include "medsegUsageError.h"

#include <functional>
#include <string>
#include <vector>

namespace medseg::cli
{

/** \brief Runs the body of a tool and maps what it throws to an exit code and one line on stderr.
 *
 * UsageError -> 2; InputError, itk::ExceptionObject and any std::exception -> 1; the body's own
 * return value otherwise. Messages read "<program>: error: <one line>". */
int
RunTool(const std::string & program, const std::function<int()> & body);

class CommandLine;
class ParsedArguments;

/** Parses `arguments` with `cl`; prints --help and returns 0, else returns `run(parsed)`. */
int
ParseAndRun(const CommandLine & cl, const std::vector<std::string> & arguments,
            const std::function<int(const ParsedArguments &)> & run);

/** argv[1..] as strings. */
std::vector<std::string>
Arguments(int argc, char * argv[], int first = 1);

} // namespace medseg::cli

#endif
