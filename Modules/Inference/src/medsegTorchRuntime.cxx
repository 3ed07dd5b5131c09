#include "medsegTorchRuntime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <stdexcept>

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

std::string
TorchVersion()
{
  return TORCH_VERSION;
}

} // namespace medseg
