#ifndef medsegTorchRuntime_h
#define medsegTorchRuntime_h

#include <c10/core/Device.h>

#include <string>

namespace medseg
{

/** \brief Turns `auto|cpu|cuda|cuda:N` into a device.
 *
 * `auto` is CUDA when LibTorch was built with it and a GPU is visible, else the CPU.
 * `cuda` without CUDA throws std::invalid_argument saying so. */
c10::Device
ResolveDevice(const std::string & choice);

/** True when this LibTorch can run on a CUDA GPU now. */
bool
IsCudaAvailable();

/** \brief Sets LibTorch's intra-op threads (`threads` > 0), leaving the default for 0.
 *
 * LibTorch's default here is one thread; on machines whose cores share arithmetic units more
 * threads are not always faster, so this is a setting, not a guess. */
void
SetTorchThreads(int threads);

/** The LibTorch version this module was built against, e.g. "1.13.1". */
std::string
TorchVersion();

} // namespace medseg

#endif
