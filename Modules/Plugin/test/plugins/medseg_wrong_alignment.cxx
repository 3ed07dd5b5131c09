// Test plugin: a descriptor that claims 4-byte alignment (as if built for a 32-bit target).
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, 4, MEDSEG_TEST_GOOD_CXX11,
                       "wrong_alignment", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);
MEDSEG_TEST_FAILING_FACTORY("must not be called")
