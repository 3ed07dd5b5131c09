// medseg plugins: lists the model plugins found on the search path, and those refused and why.
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegError.h"
#include "medsegPluginRegistry.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace medseg::cli
{

namespace
{

CommandLine
PluginsCommandLine()
{
  CommandLine cl("medseg plugins", "Model plugins",
                 "Lists the model plugins MedSeg finds, with their versions and the LibTorch and ITK they were\n"
                 "built with, and the shared libraries it refused, with the reason. Plugins are searched in\n"
                 "the installation's plugin folder, then in the absolute directories of MEDSEG_PLUGIN_PATH\n"
                 "(colon-separated); never in the current directory.",
                 "Utilities");
  cl.Add(Option("json", ParameterKind::Flag, "Print one JSON object instead of text.")
           .Label("JSON output").Group("Output"));
  return cl;
}

nlohmann::json
ToJson(const PluginRegistry & registry)
{
  nlohmann::json j;
  j["search_path"] = registry.GetSearchPath();
  j["plugins"] = nlohmann::json::array();
  for (const auto & p : registry.GetPlugins())
  {
    j["plugins"].push_back({ { "name", p.name },
                             { "version", p.version },
                             { "description", p.description },
                             { "torch_version", p.torchVersion },
                             { "itk_version", p.itkVersion },
                             { "cxx11_abi", p.cxx11Abi },
                             { "path", p.path } });
  }
  j["refused"] = nlohmann::json::array();
  for (const auto & r : registry.GetRefused())
  {
    j["refused"].push_back({ { "path", r.path }, { "reason", r.reason } });
  }
  j["warnings"] = registry.GetWarnings();
  return j;
}

void
PrintText(const PluginRegistry & registry, std::ostream & os)
{
  os << "Search path:\n";
  for (const auto & d : registry.GetSearchPath())
  {
    os << "  " << d << '\n';
  }
  const auto plugins = registry.GetPlugins();
  os << "\nPlugins (" << plugins.size() << "):\n";
  for (const auto & p : plugins)
  {
    os << "  " << p.name << ' ' << p.version << "  " << p.description << '\n'
       << "      LibTorch " << p.torchVersion << ", ITK " << p.itkVersion << ", _GLIBCXX_USE_CXX11_ABI " << p.cxx11Abi
       << ", " << p.path << '\n';
  }
  const auto refused = registry.GetRefused();
  if (!refused.empty())
  {
    os << "\nRefused (" << refused.size() << "):\n";
    for (const auto & r : refused)
    {
      os << "  " << r.path << ": " << r.reason << '\n';
    }
  }
}

} // namespace

int
RunPluginsCommand(const std::vector<std::string> & arguments)
{
  const CommandLine     cl = PluginsCommandLine();
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  const PluginRegistry registry;
  for (const auto & w : registry.GetWarnings())
  {
    std::cerr << "medseg plugins: warning: " << w << '\n';
  }
  if (args.Flag("json"))
  {
    std::cout << ToJson(registry).dump(2) << '\n';
  }
  else
  {
    PrintText(registry, std::cout);
  }
  return ExitSuccess;
}

} // namespace medseg::cli
