#include "medsegSlicerModule.h"

#include "medsegError.h"
#include "medsegProgressLine.h"
#include "medsegToolMain.h"
#include "medsegVersion.h"
#ifdef MEDSEG_WITH_VISUALIZATION
#  include "medsegVtkMessages.h"
#endif

#include <fstream>
#include <iostream>

#ifndef MEDSEG_SLICER_DOCUMENTATION_URL
#  define MEDSEG_SLICER_DOCUMENTATION_URL ""
#endif

namespace medseg::cli
{

namespace
{

void
WriteReturnParameters(const std::string & path, const ReturnParameters & values)
{
  std::ofstream out(path, std::ios::trunc);
  for (const auto & [name, value] : values)
  {
    out << name << " = " << value << '\n';
  }
  out.close();
  if (!out)
  {
    throw InputError(path, "cannot write the return parameter file");
  }
}

} // namespace

int
RunSlicerModule(const std::string & program, CommandLine table, ToolBody body, int argc, char * argv[])
{
  table.SetProgram(program);
  ProgressLine::ReportToSlicer(stdout); // Slicer reads <filter-progress> from the module's stdout
#ifdef MEDSEG_WITH_VISUALIZATION
  CaptureVtkMessages();
#endif
  const std::vector<std::string> arguments = Arguments(argc, argv);
  return RunTool(program, [&]() {
    std::string              returnFile;
    std::vector<std::string> rest;
    for (size_t i = 0; i < arguments.size(); ++i)
    {
      const std::string & arg = arguments[i];
      if (arg == "--xml")
      {
        SlicerModuleInfo info;
        info.version = MEDSEG_VERSION;
        info.documentationUrl = MEDSEG_SLICER_DOCUMENTATION_URL;
        info.license = "See the MedSeg source distribution";
        info.contributor = "MedSeg developers";
        std::cout << table.SlicerXml(info);
        return int(ExitSuccess);
      }
      if (arg == "--returnparameterfile")
      {
        if (i + 1 >= arguments.size())
        {
          throw UsageError("--returnparameterfile needs a file name");
        }
        returnFile = arguments[++i];
        continue;
      }
      if (arg.rfind("--returnparameterfile=", 0) == 0)
      {
        returnFile = arg.substr(std::string("--returnparameterfile=").size());
        continue;
      }
      rest.push_back(arg);
    }
    const ParsedArguments args = table.ParseSlicer(rest);
    if (args.Flag("help"))
    {
      std::cout << table.SlicerCommandLine().Help()
                << "  --xml\n      Print the 3D Slicer module description and exit.\n"
                << "  --returnparameterfile FILE\n      Write output values as 'name = value' lines.\n";
      return int(ExitSuccess);
    }
    ReturnParameters values;
    const int        code = body(args, &values);
    if (!returnFile.empty())
    {
      WriteReturnParameters(returnFile, values);
    }
    return code;
  });
}

} // namespace medseg::cli
