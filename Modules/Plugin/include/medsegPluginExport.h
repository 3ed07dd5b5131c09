#ifndef medsegPluginExport_h
#define medsegPluginExport_h

/** \file medsegPluginExport.h
 * \brief What a plugin's source includes to define its descriptor and factory in one line.
 *
 * \code
 * #include "medsegPluginExport.h"
 *
 * namespace
 * {
 * std::unique_ptr<medseg::SegmentationModel>
 * CreateModel(const medseg::PluginFactoryArguments & arguments)
 * {
 *   // parse arguments.hyperParametersJson, build the network, load arguments.weightsPath ...
 *   // throw (any std::exception) with a one-line message on bad input.
 * }
 * } // namespace
 *
 * MEDSEG_DEFINE_PLUGIN("mynet", "1.0.0", "My network (2D and 3D)", CreateModel)
 * \endcode
 *
 * The macro records the LibTorch version, the ITK version and _GLIBCXX_USE_CXX11_ABI this
 * translation unit is compiled with, and wraps the create function so that no exception
 * crosses the C boundary. Use it in exactly one source file of the plugin, at global scope. */

#include "medsegPluginABI.h"
#include "medsegSegmentationModel.h"

#include <itkConfigure.h>
#include <torch/version.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#if defined(__GNUC__)
#  define MEDSEG_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#  define MEDSEG_PLUGIN_EXPORT
#endif

#define MEDSEG_PLUGIN_STRINGIFY_(x) #x
#define MEDSEG_PLUGIN_STRINGIFY(x) MEDSEG_PLUGIN_STRINGIFY_(x)

/** The versions the including translation unit is compiled against (the loader uses the same). */
#define MEDSEG_PLUGIN_BUILD_TORCH_VERSION TORCH_VERSION
#define MEDSEG_PLUGIN_BUILD_ITK_VERSION                                                                          \
  MEDSEG_PLUGIN_STRINGIFY(ITK_VERSION_MAJOR) "." MEDSEG_PLUGIN_STRINGIFY(ITK_VERSION_MINOR) "." MEDSEG_PLUGIN_STRINGIFY( \
    ITK_VERSION_PATCH)
#ifdef _GLIBCXX_USE_CXX11_ABI
#  define MEDSEG_PLUGIN_BUILD_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#  define MEDSEG_PLUGIN_BUILD_CXX11_ABI 0
#endif

namespace medseg
{

/** The factory's arguments as C++ strings (see MedSegPluginFactory). */
struct PluginFactoryArguments
{
  std::string hyperParametersJson; //!< "" when the caller gave none
  std::string weightsPath;         //!< "" means random initialisation
  std::string device;              //!< auto|cpu|cuda[:N]
  int64_t     inputChannels{ 1 };
};

namespace plugin_detail
{

/** Copies `message` into the caller's buffer as one NUL-terminated line, truncating if needed. */
inline void
WriteError(const std::string & message, char * buffer, size_t size) noexcept
{
  if (buffer == nullptr || size == 0)
  {
    return;
  }
  size_t n = 0;
  for (; n + 1 < size && n < message.size(); ++n)
  {
    const char c = message[n];
    buffer[n] = (c == '\n' || c == '\r') ? ' ' : c;
  }
  buffer[n] = '\0';
}

/** Calls `create` and turns every outcome into the C contract: a pointer, or null plus a message. */
template <typename Create>
MedSegPluginModel *
CallFactory(Create create, const char * hyperParametersJson, const char * weightsPath, const char * device,
            int64_t inputChannels, char * errorBuffer, size_t errorBufferSize) noexcept
{
  try
  {
    PluginFactoryArguments arguments;
    arguments.hyperParametersJson = hyperParametersJson ? hyperParametersJson : "";
    arguments.weightsPath = weightsPath ? weightsPath : "";
    arguments.device = device && *device ? device : "auto";
    arguments.inputChannels = inputChannels;
    std::unique_ptr<SegmentationModel> model = create(arguments);
    if (!model)
    {
      WriteError("the plugin's create function returned no model", errorBuffer, errorBufferSize);
      return nullptr;
    }
    return model.release();
  }
  catch (const std::exception & e)
  {
    WriteError(e.what(), errorBuffer, errorBufferSize);
  }
  catch (...)
  {
    WriteError("unknown exception in the plugin's create function", errorBuffer, errorBufferSize);
  }
  return nullptr;
}

} // namespace plugin_detail
} // namespace medseg

/** Defines the exported descriptor and factory of a plugin (once per plugin, at global scope).
 * `createFunction` is callable as std::unique_ptr<medseg::SegmentationModel>(const
 * medseg::PluginFactoryArguments &) and may throw. */
#define MEDSEG_DEFINE_PLUGIN(pluginName, pluginVersion, pluginDescription, createFunction)                          \
  extern "C" MEDSEG_PLUGIN_EXPORT const MedSegPluginDescriptor medseg_plugin_descriptor = {                         \
    MEDSEG_PLUGIN_ABI_VERSION,                                                                                       \
    static_cast<uint32_t>(sizeof(MedSegPluginDescriptor)),                                                           \
    static_cast<uint32_t>(alignof(MedSegPluginDescriptor)),                                                          \
    MEDSEG_PLUGIN_BUILD_CXX11_ABI,                                                                                   \
    pluginName,                                                                                                      \
    pluginVersion,                                                                                                   \
    pluginDescription,                                                                                               \
    MEDSEG_PLUGIN_BUILD_TORCH_VERSION,                                                                               \
    MEDSEG_PLUGIN_BUILD_ITK_VERSION                                                                                  \
  };                                                                                                                 \
  extern "C" MEDSEG_PLUGIN_EXPORT MedSegPluginModel * medseg_plugin_create_model(                                   \
    const char * hyperParametersJson, const char * weightsPath, const char * device, int64_t inputChannels,          \
    char * errorBuffer, size_t errorBufferSize) noexcept                                                            \
  {                                                                                                                  \
    return ::medseg::plugin_detail::CallFactory(createFunction, hyperParametersJson, weightsPath, device,           \
                                                inputChannels, errorBuffer, errorBufferSize);                       \
  }                                                                                                                  \
  static_assert(true, "")

#endif
