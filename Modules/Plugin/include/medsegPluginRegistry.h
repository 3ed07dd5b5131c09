#ifndef medsegPluginRegistry_h
#define medsegPluginRegistry_h

#include "medsegSegmentationModel.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace medseg
{

/** A plugin that passed every check and can make models. */
struct PluginInfo
{
  std::string name;         //!< what CreateModel() takes, e.g. "unet"
  std::string version;      //!< the plugin's own version
  std::string description;  //!< one line
  std::string torchVersion; //!< LibTorch it was built with
  std::string itkVersion;   //!< ITK it was built with (major.minor.patch)
  int         cxx11Abi{ 1 };//!< its _GLIBCXX_USE_CXX11_ABI
  std::string path;         //!< absolute path of the shared library
};

/** A shared library in the search path that was not accepted, and why. */
struct RefusedPlugin
{
  std::string path;   //!< absolute path of the file
  std::string reason; //!< one line naming the field and both values, e.g.
                      //!< "plugin ABI version: the plugin has 2, this MedSeg expects 1"
};

/** \brief Finds model plugins, checks them, and makes models with them.
 *
 * The constructor scans each directory of the search path (non-recursively, files named
 * `*.so`, in name order) and, for each file, loads it, reads MEDSEG_PLUGIN_DESCRIPTOR_SYMBOL and
 * checks, in this order: plugin ABI version, descriptor size, descriptor alignment, name,
 * LibTorch version (equal), ITK version (same major.minor), _GLIBCXX_USE_CXX11_ABI (equal),
 * then the presence of MEDSEG_PLUGIN_FACTORY_SYMBOL, then that the name is not taken by an
 * earlier plugin. Refused libraries are unloaded at once and listed by GetRefused().
 *
 * Only absolute directories are searched; relative or empty entries (which would mean the
 * current directory) are skipped with a warning in GetWarnings().
 *
 * Models from CreateModel() keep their library loaded until the last copy of the shared_ptr
 * is gone, so a model may outlive the registry. A registry is not thread-safe to construct
 * concurrently with itself, but CreateModel() may be called from several threads. */
class PluginRegistry
{
public:
  /** Scans DefaultSearchPath(). */
  PluginRegistry();
  /** Scans exactly these directories, in order (relative entries are skipped with a warning). */
  explicit PluginRegistry(const std::vector<std::string> & searchPath);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry &) = delete;
  PluginRegistry &
  operator=(const PluginRegistry &) = delete;

  /** The built-in plugin folder, then the absolute entries of MEDSEG_PLUGIN_PATH (colon-separated). */
  static std::vector<std::string>
  DefaultSearchPath(std::vector<std::string> * warnings = nullptr);

  /** The built-in plugin folder: `medseg/plugins` next to the MedSegPlugin library, i.e.
   * `<prefix>/lib/medseg/plugins` when installed and `<build>/lib/medseg/plugins` in a build tree. */
  static std::string
  BuiltInPluginDirectory();

  /** The directories that were scanned (absolute, in order). */
  const std::vector<std::string> &
  GetSearchPath() const;

  /** Accepted plugins, in search order. */
  std::vector<PluginInfo>
  GetPlugins() const;

  /** Refused libraries with the reason, in search order. */
  std::vector<RefusedPlugin>
  GetRefused() const;

  /** Search-path entries that were ignored, one line each. */
  std::vector<std::string>
  GetWarnings() const;

  /** True if a plugin of that name was accepted. */
  bool
  HasPlugin(const std::string & name) const;

  /** \brief Makes a model with the named plugin.
   *
   * \param pluginName          a name from GetPlugins()
   * \param hyperParametersJson a JSON object with the architecture settings ("" = defaults)
   * \param weightsPath         weights file; "" = randomly initialised
   * \param device              auto|cpu|cuda[:N]
   * \param inputChannels       channels of the batches the model will get
   *
   * Throws InputError("plugin '<name>'", ...) with one line if no plugin has that name or
   * the factory fails (its own message is passed on). */
  std::shared_ptr<SegmentationModel>
  CreateModel(const std::string & pluginName, const std::string & hyperParametersJson, const std::string & weightsPath,
              const std::string & device, int64_t inputChannels) const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

} // namespace medseg

#endif
