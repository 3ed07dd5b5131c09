// Test plugin: a descriptor 8 bytes larger than this MedSeg's (a field added without an ABI bump).
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE + 8, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "wrong_descriptor_size", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);
MEDSEG_TEST_FAILING_FACTORY("must not be called")
