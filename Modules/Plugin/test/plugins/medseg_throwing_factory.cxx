// Test plugin: a hand-written factory that lets an exception cross the C boundary (which the contract forbids).
#include "medsegTestPlugin.h"

#include <stdexcept>

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "throwing_factory", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);

MEDSEG_TEST_EXPORT MedSegPluginModel *
medseg_plugin_create_model(const char *, const char *, const char *, int64_t, char *, size_t)
{
  throw std::runtime_error("thrown across the boundary");
}
