// Test plugin: built against another ITK minor version.
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, MEDSEG_TEST_GOOD_CXX11,
                       "wrong_itk_version", TORCH_VERSION, "4.13.3");
MEDSEG_TEST_FAILING_FACTORY("must not be called")
