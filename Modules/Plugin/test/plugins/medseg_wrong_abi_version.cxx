// Test plugin: a future plugin ABI version.
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_PLUGIN_ABI_VERSION + 1, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "wrong_abi_version", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);
MEDSEG_TEST_FAILING_FACTORY("must not be called")
