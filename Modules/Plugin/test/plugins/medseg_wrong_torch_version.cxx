// Test plugin: built against another LibTorch.
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "wrong_torch_version", "0.4.1", MEDSEG_TEST_ITK_VERSION);
MEDSEG_TEST_FAILING_FACTORY("must not be called")
