#include "medsegPluginRegistry.h"

#include "medsegError.h"
#include "medsegPluginABI.h"
#include "medsegPluginExport.h"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>

#ifndef MEDSEG_PLUGIN_DIR_FROM_LIBDIR
#  define MEDSEG_PLUGIN_DIR_FROM_LIBDIR "medseg/plugins"
#endif

namespace medseg
{

namespace
{

namespace fs = std::filesystem;
using Library = boost::dll::shared_library;

/** Thrown inside Scan() to refuse one file; caught there. */
struct Refusal
{
  std::string reason;
};

std::string
Mismatch(const std::string & field, const std::string & plugin, const std::string & host)
{
  return field + ": the plugin has " + plugin + ", this MedSeg expects " + host;
}

/** A descriptor string as a refusal quotes it: on one line (control characters as \xNN, found by
 * fuzzing: a name with a new line broke `medseg plugins`' one line per refusal) and at most 80
 * characters. */
std::string
Quoted(const char * text)
{
  if (text == nullptr)
  {
    return "(null)";
  }
  constexpr size_t most = 80;
  std::string      quoted = "'";
  size_t           length = 0;
  for (const char * c = text; *c != '\0'; ++c, ++length)
  {
    if (length == most)
    {
      quoted += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(*c);
    if (byte < 0x20 || byte == 0x7f)
    {
      static const char hex[] = "0123456789abcdef";
      quoted += std::string("\\x") + hex[byte >> 4] + hex[byte & 0xf];
    }
    else
    {
      quoted += *c;
    }
  }
  return quoted + "'";
}

std::string
MajorMinor(const std::string & version)
{
  const auto first = version.find('.');
  if (first == std::string::npos)
  {
    return version;
  }
  const auto second = version.find('.', first + 1);
  return version.substr(0, second);
}

bool
ValidName(const char * name)
{
  if (name == nullptr || *name == '\0' || std::strlen(name) > 64)
  {
    return false;
  }
  for (const char * c = name; *c; ++c)
  {
    const bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
    if (!ok)
    {
      return false;
    }
  }
  return true;
}

/** dlerror()'s text out of Boost.DLL's message, which wraps it. */
std::string
LoadErrorText(const std::string & what)
{
  const std::string marker = "dlerror system message:";
  const auto        at = what.find(marker);
  std::string       text = at == std::string::npos ? what : what.substr(at + marker.size());
  while (!text.empty() && (text.back() == ')' || text.back() == ' '))
  {
    text.pop_back();
  }
  while (!text.empty() && text.front() == ' ')
  {
    text.erase(text.begin());
  }
  return OneLine(text);
}

/** Everything the descriptor check needs to know about this MedSeg. */
void
CheckDescriptor(const MedSegPluginDescriptor & d)
{
  // The first three fields are at fixed offsets in every ABI version: read them first, and
  // nothing else unless they match.
  if (d.abiVersion != MEDSEG_PLUGIN_ABI_VERSION)
  {
    throw Refusal{ Mismatch("plugin ABI version", std::to_string(d.abiVersion),
                            std::to_string(MEDSEG_PLUGIN_ABI_VERSION)) };
  }
  if (d.descriptorSize != sizeof(MedSegPluginDescriptor))
  {
    throw Refusal{ Mismatch("descriptor size", std::to_string(d.descriptorSize) + " bytes",
                            std::to_string(sizeof(MedSegPluginDescriptor)) + " bytes") };
  }
  if (d.descriptorAlignment != alignof(MedSegPluginDescriptor))
  {
    throw Refusal{ Mismatch("descriptor alignment", std::to_string(d.descriptorAlignment),
                            std::to_string(alignof(MedSegPluginDescriptor))) };
  }
  if (!ValidName(d.name))
  {
    throw Refusal{ "name: the plugin has " + Quoted(d.name) +
                   ", this MedSeg expects 1 to 64 characters from [a-z0-9_-]" };
  }
  if (d.version == nullptr || d.description == nullptr)
  {
    throw Refusal{ std::string(d.version ? "description" : "version") +
                   ": the plugin has (null), this MedSeg expects a string" };
  }
  const std::string torchVersion = MEDSEG_PLUGIN_BUILD_TORCH_VERSION;
  if (d.torchVersion == nullptr || torchVersion != d.torchVersion)
  {
    throw Refusal{ Mismatch("LibTorch version", Quoted(d.torchVersion), "'" + torchVersion + "'") };
  }
  const std::string itkVersion = MEDSEG_PLUGIN_BUILD_ITK_VERSION;
  if (d.itkVersion == nullptr || MajorMinor(itkVersion) != MajorMinor(d.itkVersion))
  {
    throw Refusal{ Mismatch("ITK version", Quoted(d.itkVersion), "'" + itkVersion + "' (same major.minor)") };
  }
  if (d.cxx11Abi != MEDSEG_PLUGIN_BUILD_CXX11_ABI)
  {
    throw Refusal{ Mismatch("_GLIBCXX_USE_CXX11_ABI", std::to_string(d.cxx11Abi),
                            std::to_string(MEDSEG_PLUGIN_BUILD_CXX11_ABI)) };
  }
}

/** Deletes a plugin's model, then lets go of the plugin's library (never the other way round). */
struct PluginModelDeleter
{
  std::shared_ptr<Library> library;

  void
  operator()(SegmentationModel * model)
  {
    delete model;
    library.reset();
  }
};

} // namespace

struct PluginRegistry::Impl
{
  struct Loaded
  {
    PluginInfo               info;
    std::shared_ptr<Library> library;
    MedSegPluginFactory      factory{ nullptr };
  };

  std::vector<std::string>   searchPath;
  std::vector<Loaded>        plugins;
  std::vector<RefusedPlugin> refused;
  std::vector<std::string>   warnings;

  void
  AddDirectory(const std::string & entry, const std::string & origin)
  {
    if (entry.empty())
    {
      warnings.push_back(origin + ": empty entry ignored (plugins are never loaded from the current directory)");
      return;
    }
    if (!fs::path(entry).is_absolute())
    {
      warnings.push_back(origin + ": relative entry '" + entry +
                         "' ignored (plugins are only searched in absolute directories)");
      return;
    }
    const std::string normal = fs::path(entry).lexically_normal().string();
    if (std::find(searchPath.begin(), searchPath.end(), normal) == searchPath.end())
    {
      searchPath.push_back(normal);
    }
  }

  void
  Scan()
  {
    for (const std::string & directory : searchPath)
    {
      std::error_code ec;
      if (!fs::is_directory(directory, ec))
      {
        continue;
      }
      std::vector<fs::path> files;
      for (const auto & entry : fs::directory_iterator(directory, ec))
      {
        std::error_code fileEc;
        if (entry.path().extension() == ".so" && entry.is_regular_file(fileEc))
        {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      for (const fs::path & file : files)
      {
        try
        {
          plugins.push_back(Load(file));
        }
        catch (const Refusal & r)
        {
          refused.push_back(RefusedPlugin{ file.string(), r.reason });
        }
      }
    }
  }

  Loaded
  Load(const fs::path & file)
  {
    auto library = std::make_shared<Library>();
    try
    {
      // An absolute path: dlopen does no search of its own. RTLD_NOW so that a plugin with
      // unresolved symbols is refused here rather than crashing later.
      library->load(boost::dll::fs::path(file.string()),
                    boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    }
    catch (const std::exception & e)
    {
      throw Refusal{ "cannot be loaded: " + LoadErrorText(e.what()) };
    }
    if (!library->has(MEDSEG_PLUGIN_DESCRIPTOR_SYMBOL))
    {
      throw Refusal{ std::string("descriptor: the plugin does not export '") + MEDSEG_PLUGIN_DESCRIPTOR_SYMBOL +
                     "', this MedSeg expects it (not a MedSeg plugin?)" };
    }
    const auto & descriptor = library->get<const MedSegPluginDescriptor>(MEDSEG_PLUGIN_DESCRIPTOR_SYMBOL);
    CheckDescriptor(descriptor);
    if (!library->has(MEDSEG_PLUGIN_FACTORY_SYMBOL))
    {
      throw Refusal{ std::string("factory: the plugin does not export '") + MEDSEG_PLUGIN_FACTORY_SYMBOL +
                     "', this MedSeg expects it" };
    }
    Loaded loaded;
    loaded.factory = library->get<MedSegPluginModel *(const char *, const char *, const char *, int64_t, char *,
                                                        size_t)>(MEDSEG_PLUGIN_FACTORY_SYMBOL);
    loaded.info.name = descriptor.name;
    loaded.info.version = descriptor.version;
    loaded.info.description = descriptor.description;
    loaded.info.torchVersion = descriptor.torchVersion;
    loaded.info.itkVersion = descriptor.itkVersion;
    loaded.info.cxx11Abi = descriptor.cxx11Abi;
    loaded.info.path = file.string();
    for (const Loaded & earlier : plugins)
    {
      if (earlier.info.name == loaded.info.name)
      {
        throw Refusal{ "name: the plugin has '" + loaded.info.name + "', which " + earlier.info.path +
                       " already provides (the first one found is used)" };
      }
    }
    loaded.library = std::move(library);
    return loaded;
  }

  const Loaded *
  Find(const std::string & name) const
  {
    for (const Loaded & p : plugins)
    {
      if (p.info.name == name)
      {
        return &p;
      }
    }
    return nullptr;
  }
};

PluginRegistry::PluginRegistry()
  : m_Impl(std::make_unique<Impl>())
{
  for (const std::string & directory : DefaultSearchPath(&m_Impl->warnings))
  {
    m_Impl->AddDirectory(directory, "plugin search path");
  }
  m_Impl->Scan();
}

PluginRegistry::PluginRegistry(const std::vector<std::string> & searchPath)
  : m_Impl(std::make_unique<Impl>())
{
  for (const std::string & directory : searchPath)
  {
    m_Impl->AddDirectory(directory, "plugin search path");
  }
  m_Impl->Scan();
}

PluginRegistry::~PluginRegistry() = default;

std::string
PluginRegistry::BuiltInPluginDirectory()
{
  // Where this library lies; the plugin folder has the same place relative to it in a build
  // tree (<build>/lib) and in an install (<prefix>/<libdir>), so an install can be moved.
  boost::dll::fs::error_code ec;
  const auto                 self = boost::dll::this_line_location(ec);
  if (ec)
  {
    return {};
  }
  return (fs::path(self.parent_path().string()) / MEDSEG_PLUGIN_DIR_FROM_LIBDIR).lexically_normal().string();
}

std::vector<std::string>
PluginRegistry::DefaultSearchPath(std::vector<std::string> * warnings)
{
  std::vector<std::string> path;
  const std::string        builtIn = BuiltInPluginDirectory();
  if (!builtIn.empty())
  {
    path.push_back(builtIn);
  }
  if (const char * environment = std::getenv("MEDSEG_PLUGIN_PATH"))
  {
    std::string       entry;
    std::stringstream stream(environment);
    while (std::getline(stream, entry, ':'))
    {
      if (entry.empty())
      {
        continue; // "a::b" or a trailing colon: nothing meant, nothing searched.
      }
      if (!fs::path(entry).is_absolute())
      {
        if (warnings)
        {
          warnings->push_back("MEDSEG_PLUGIN_PATH: relative entry '" + entry +
                              "' ignored (plugins are only searched in absolute directories)");
        }
        continue;
      }
      path.push_back(entry);
    }
  }
  return path;
}

const std::vector<std::string> &
PluginRegistry::GetSearchPath() const
{
  return m_Impl->searchPath;
}

std::vector<PluginInfo>
PluginRegistry::GetPlugins() const
{
  std::vector<PluginInfo> infos;
  for (const auto & p : m_Impl->plugins)
  {
    infos.push_back(p.info);
  }
  return infos;
}

std::vector<RefusedPlugin>
PluginRegistry::GetRefused() const
{
  return m_Impl->refused;
}

std::vector<std::string>
PluginRegistry::GetWarnings() const
{
  return m_Impl->warnings;
}

bool
PluginRegistry::HasPlugin(const std::string & name) const
{
  return m_Impl->Find(name) != nullptr;
}

std::shared_ptr<SegmentationModel>
PluginRegistry::CreateModel(const std::string & pluginName, const std::string & hyperParametersJson,
                            const std::string & weightsPath, const std::string & device, int64_t inputChannels) const
{
  const Impl::Loaded * plugin = m_Impl->Find(pluginName);
  const std::string    subject = "plugin '" + pluginName + "'";
  if (plugin == nullptr)
  {
    std::string known;
    for (const auto & p : m_Impl->plugins)
    {
      known += (known.empty() ? "" : ", ") + p.info.name;
    }
    throw InputError(subject, "not found (available: " + (known.empty() ? std::string("none") : known) +
                                "; see `medseg plugins`)");
  }
  if (inputChannels < 1)
  {
    throw InputError(subject, "input channels must be at least 1, got " + std::to_string(inputChannels));
  }
  char                error[1024] = { 0 };
  MedSegPluginModel * model = nullptr;
  try
  {
    model = plugin->factory(hyperParametersJson.c_str(), weightsPath.c_str(), device.c_str(), inputChannels, error,
                            sizeof(error));
  }
  catch (const std::exception & e)
  {
    // The contract says no exception crosses the boundary; a plugin written by hand may break it.
    throw InputError(subject, std::string("the factory threw (it must not): ") + OneLine(e.what()));
  }
  catch (...)
  {
    throw InputError(subject, "the factory threw an unknown exception (it must not)");
  }
  error[sizeof(error) - 1] = '\0';
  if (model == nullptr)
  {
    throw InputError(subject, error[0] ? OneLine(error) : std::string("the factory returned no model and no message"));
  }
  return std::shared_ptr<SegmentationModel>(model, PluginModelDeleter{ plugin->library });
}

} // namespace medseg
