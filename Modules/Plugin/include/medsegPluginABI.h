#ifndef medsegPluginABI_h
#define medsegPluginABI_h

/** \file medsegPluginABI.h
 * \brief The binary contract between MedSeg and a model plugin.
 *
 * A plugin is a shared library (CMake `MODULE`, hidden visibility) that exports exactly two
 * C-linkage symbols:
 *
 *  - `medseg_plugin_descriptor`, a `const MedSegPluginDescriptor` object: who the plugin is and
 *    what it was compiled against. The loader reads it, and only it, first: abiVersion, then
 *    descriptorSize and descriptorAlignment (against this header's sizeof/alignof), then the
 *    LibTorch version, the ITK version and _GLIBCXX_USE_CXX11_ABI. Any mismatch refuses the
 *    plugin before another symbol is looked up.
 *  - `medseg_plugin_create_model`, a MedSegPluginFactory: builds one model. It must not let an
 *    exception escape; on failure it returns null and writes a one-line reason into the
 *    caller's buffer.
 *
 * Plugins normally do not fill these by hand: medsegPluginExport.h defines both from a name,
 * a version, a description and a C++ create function.
 *
 * Bump MEDSEG_PLUGIN_ABI_VERSION whenever this struct, the factory signature or the
 * medseg::SegmentationModel interface changes. */

#include <stddef.h>
#include <stdint.h>

/** Version of this contract (descriptor layout + factory signature + SegmentationModel vtable). */
#define MEDSEG_PLUGIN_ABI_VERSION 2u // 2: SegmentationModel::GetNumberOfClasses()

/** Name of the exported descriptor object. */
#define MEDSEG_PLUGIN_DESCRIPTOR_SYMBOL "medseg_plugin_descriptor"
/** Name of the exported factory function. */
#define MEDSEG_PLUGIN_FACTORY_SYMBOL "medseg_plugin_create_model"

#ifdef __cplusplus
namespace medseg
{
class SegmentationModel;
}
typedef medseg::SegmentationModel MedSegPluginModel;
extern "C" {
#else
typedef struct MedSegPluginModel MedSegPluginModel;
#endif

/** \brief What a plugin is and what it was built with. C layout, read before anything else.
 *
 * The first three fields never move: whatever later ABI versions add goes after them. */
typedef struct MedSegPluginDescriptor
{
  uint32_t     abiVersion;          //!< MEDSEG_PLUGIN_ABI_VERSION the plugin was compiled with
  uint32_t     descriptorSize;      //!< sizeof(MedSegPluginDescriptor) in the plugin
  uint32_t     descriptorAlignment; //!< alignof(MedSegPluginDescriptor) in the plugin
  int32_t      cxx11Abi;            //!< _GLIBCXX_USE_CXX11_ABI (0 or 1)
  const char * name;                //!< unique plugin name, [a-z0-9_-]+, e.g. "unet"
  const char * version;             //!< the plugin's own version, e.g. "1.0.0"
  const char * description;         //!< one line for `medseg plugins`
  const char * torchVersion;        //!< TORCH_VERSION, e.g. "1.13.0"
  const char * itkVersion;          //!< ITK major.minor.patch, e.g. "5.2.1"
} MedSegPluginDescriptor;

/** \brief The factory every plugin exports as MEDSEG_PLUGIN_FACTORY_SYMBOL.
 *
 * \param hyperParametersJson architecture settings as a JSON object ("" or "{}" for defaults)
 * \param weightsPath         file to load parameters from; "" means random initialisation
 * \param device              "auto", "cpu", "cuda" or "cuda:N"
 * \param inputChannels       channels C of the [N, C, ...] batches the model will get
 * \param errorBuffer         where a failing factory writes a NUL-terminated one-line reason
 * \param errorBufferSize     size of errorBuffer in bytes
 * \return a model allocated with `new` (the caller deletes it through the virtual destructor
 *         while the library is still loaded), or null after writing errorBuffer. */
typedef MedSegPluginModel * (*MedSegPluginFactory)(const char * hyperParametersJson, const char * weightsPath,
                                                   const char * device, int64_t inputChannels, char * errorBuffer,
                                                   size_t errorBufferSize);

#ifdef __cplusplus
} // extern "C"
#endif

#endif
