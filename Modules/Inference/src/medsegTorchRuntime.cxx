#include "medsegTorchRuntime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdlib>
#include <dlfcn.h>
#include <cstring>
#include <stdexcept>

#if defined(__GLIBC__)
#  include <malloc.h>
#endif

namespace medseg
{

bool
IsCudaAvailable()
{
  return torch::cuda::is_available();
}

c10::Device
ResolveDevice(const std::string & choice)
{
  if (choice == "auto")
  {
    return IsCudaAvailable() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (choice == "cpu")
  {
    return c10::Device(c10::kCPU);
  }
  if (choice == "cuda" || choice.rfind("cuda:", 0) == 0)
  {
    if (!IsCudaAvailable())
    {
      throw std::invalid_argument("device '" + choice +
                                  "' asked for, but this LibTorch has no CUDA support or sees no GPU; use --device cpu");
    }
    return c10::Device(choice);
  }
  throw std::invalid_argument("unknown device '" + choice + "'; use auto, cpu or cuda[:N]");
}

void
SetTorchThreads(int threads)
{
  if (threads > 0)
  {
    at::set_num_threads(threads);
  }
}

bool
UsesTcmalloc()
{
  return ::dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr; // linked in or preloaded
}

bool
KeepFreedMemoryForReuse()
{
  const char * opt_out = std::getenv("MEDSEG_MALLOC_DEFAULTS");
  if (opt_out != nullptr && std::strcmp(opt_out, "1") == 0)
  {
    return false;
  }
  if (UsesTcmalloc())
  {
    return false; // tcmalloc keeps freed memory in its own caches: nothing to tune
  }
#if defined(__GLIBC__)
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 2147483647) == 1 &&
         mallopt(M_TOP_PAD, 1 << 30) == 1;
#else
  return false;
#endif
}

std::string
TorchVersion()
{
  return TORCH_VERSION;
}

} // namespace medseg
