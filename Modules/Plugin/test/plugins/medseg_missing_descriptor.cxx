// Test plugin: a factory but no descriptor symbol.
#include "medsegTestPlugin.h"

MEDSEG_TEST_FAILING_FACTORY("must not be called")
