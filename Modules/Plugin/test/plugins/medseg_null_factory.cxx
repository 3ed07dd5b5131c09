// Test plugin: a factory that returns null and writes no message.
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "null_factory", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);

MEDSEG_TEST_EXPORT MedSegPluginModel *
medseg_plugin_create_model(const char *, const char *, const char *, int64_t, char *, size_t)
{
  return nullptr;
}
