// A planted fault for the replay harness's own tests (Fuzz.ReplayHarness.*, normal builds only):
// an input that starts with "crash" aborts, one that starts with "throw" throws past the target,
// anything else passes. The tests check that the harness turns each fault into a failing run
// that names the input last, so a Fuzz.Replay.<Target> test fails when its target breaks.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const auto startsWith = [&](const char * word) {
    const size_t n = std::strlen(word);
    return size >= n && std::memcmp(data, word, n) == 0;
  };
  if (startsWith("crash"))
    std::abort();
  if (startsWith("throw"))
    throw std::runtime_error("planted exception");
  return 0;
}
