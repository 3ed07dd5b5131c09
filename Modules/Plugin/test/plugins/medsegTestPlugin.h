#ifndef medsegTestPlugin_h
#define medsegTestPlugin_h

// Pieces for the deliberately broken test plugins: each writes its descriptor by hand (no
// LibTorch headers beyond the version) so that exactly one field is wrong.
#include "medsegPluginABI.h"

#include <itkConfigure.h>
#include <torch/version.h>

#include <cstring>

#define MEDSEG_TEST_STR_(x) #x
#define MEDSEG_TEST_STR(x) MEDSEG_TEST_STR_(x)
#define MEDSEG_TEST_ITK_VERSION                                                                                      \
  MEDSEG_TEST_STR(ITK_VERSION_MAJOR) "." MEDSEG_TEST_STR(ITK_VERSION_MINOR) "." MEDSEG_TEST_STR(ITK_VERSION_PATCH)

#define MEDSEG_TEST_EXPORT extern "C" __attribute__((visibility("default")))

/** A descriptor whose fields are all right unless overridden. */
#define MEDSEG_TEST_DESCRIPTOR(abi, size, align, cxx11, name, torchVersion, itkVersion)                            \
  MEDSEG_TEST_EXPORT const MedSegPluginDescriptor medseg_plugin_descriptor = {                                       \
    abi, size, align, cxx11, name, "0.0.1", "test plugin " name, torchVersion, itkVersion                           \
  }

#define MEDSEG_TEST_GOOD_ABI MEDSEG_PLUGIN_ABI_VERSION
#define MEDSEG_TEST_GOOD_SIZE static_cast<uint32_t>(sizeof(MedSegPluginDescriptor))
#define MEDSEG_TEST_GOOD_ALIGN static_cast<uint32_t>(alignof(MedSegPluginDescriptor))
#define MEDSEG_TEST_GOOD_CXX11 _GLIBCXX_USE_CXX11_ABI

/** A factory that fails politely (a broken plugin must never get as far as making a model). */
#define MEDSEG_TEST_FAILING_FACTORY(message)                                                                         \
  MEDSEG_TEST_EXPORT MedSegPluginModel * medseg_plugin_create_model(const char *, const char *, const char *, int64_t, \
                                                                     char * error, size_t size)                        \
  {                                                                                                                    \
    std::strncpy(error, message, size - 1);                                                                            \
    error[size - 1] = '\0';                                                                                            \
    return nullptr;                                                                                                    \
  }

#endif
