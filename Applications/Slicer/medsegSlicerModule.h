#ifndef medsegSlicerModule_h
#define medsegSlicerModule_h

#include "medsegCommandLine.h"

namespace medseg::cli
{

/** The body of one tool: runs parsed arguments, optionally reporting output values. */
using ToolBody = int (*)(const ParsedArguments & args, ReturnParameters * returned);

/** \brief `main` of a 3D Slicer CLI module built from a `medseg` command's parameter table.
 *
 * `--xml` prints the module description (CommandLine::SlicerXml); `--help` the Slicer-form
 * usage; otherwise the arguments are parsed as Slicer passes them (CommandLine::ParseSlicer),
 * `body` runs them, and `--returnparameterfile FILE` gets one `name = value` line per value the
 * body reported (an empty file when it reported none). Errors map to exit codes as in `medseg`. */
int
RunSlicerModule(const std::string & program, CommandLine table, ToolBody body, int argc, char * argv[]);

} // namespace medseg::cli

#endif
