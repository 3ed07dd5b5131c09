// Test plugin: built with the other _GLIBCXX_USE_CXX11_ABI (the pre-cxx11 LibTorch download).
#include "medsegTestPlugin.h"

MEDSEG_TEST_DESCRIPTOR(MEDSEG_TEST_GOOD_ABI, MEDSEG_TEST_GOOD_SIZE, MEDSEG_TEST_GOOD_ALIGN, 1 - MEDSEG_TEST_GOOD_CXX11,
                       "wrong_cxx11_abi", TORCH_VERSION, MEDSEG_TEST_ITK_VERSION);
MEDSEG_TEST_FAILING_FACTORY("must not be called")
