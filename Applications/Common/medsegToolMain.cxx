#include "medsegToolMain.h"

#include "medsegCommandLine.h"
#include "medsegError.h"
#include "medsegLibraryMessages.h"

#include "itkMacro.h"

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace medseg::cli
{

int
RunTool(const std::string & program, const std::function<int()> & body)
{
  // What ITK and GDCM print goes to MedSeg's log, never between the user and the one-line error.
  CaptureLibraryMessages();
  if (const char * verbose = std::getenv("MEDSEG_VERBOSE"); verbose && *verbose && std::strcmp(verbose, "0") != 0)
  {
    SetVerboseLibraryMessages(true);
  }
  try
  {
    return body();
  }
  catch (const UsageError & e)
  {
    std::cerr << program << ": usage error: " << OneLine(e.what()) << '\n';
    return ExitUsageError;
  }
  catch (const InputError & e)
  {
    std::cerr << program << ": error: " << e.what() << '\n';
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << program << ": error: " << OneLine(e.GetDescription()) << '\n';
  }
  catch (const std::exception & e)
  {
    std::cerr << program << ": error: " << OneLine(e.what()) << '\n';
  }
  return ExitProcessingError;
}

int
ParseAndRun(const CommandLine & cl, const std::vector<std::string> & arguments,
            const std::function<int(const ParsedArguments &)> & run)
{
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  return run(args);
}

std::vector<std::string>
Arguments(int argc, char * argv[], int first)
{
  return std::vector<std::string>(argv + std::min(first, argc), argv + argc);
}

} // namespace medseg::cli
