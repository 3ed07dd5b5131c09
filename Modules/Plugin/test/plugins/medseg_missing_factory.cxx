// Test plugin: a right descriptor but no factory symbol.
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "missing_factory", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);
