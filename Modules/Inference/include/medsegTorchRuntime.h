#ifndef medsegTorchRuntime_h
#define medsegTorchRuntime_h

#include <c10/core/Device.h>

#include <string>
#include <vector>

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

/** \brief Sets LibTorch's intra-op threads: `threads` > 0 as given, 0 for DefaultTorchThreads().
 * Returns the number set.
 *
 * Debian's LibTorch starts with one thread (its OpenMP default), which leaves every other core
 * idle; one thread per physical core is what PyTorch's own builds pick, and hyper-threads share a
 * core's vector units, so they are not counted (Documentation/benchmarks.md has what was measured). */
int
SetTorchThreads(int threads);

/** OMP_NUM_THREADS when it is set to a positive integer, else PhysicalCoreCount(). */
int
DefaultTorchThreads();

/** \brief The cores this process can use: AllowedPhysicalCores(), capped by a container's CPU
 * quota (CpuQuotaLimit(), e.g. `docker run --cpus 2`). At least 1. */
int
PhysicalCoreCount(const std::string & sysfsCpuRoot = "/sys/devices/system/cpu",
                  const std::string & cgroupRoot = "/sys/fs/cgroup");

/** Physical cores among the CPUs this process may run on (sched_getaffinity): distinct
 * (package, core) pairs in `sysfsCpuRoot`/cpuN/topology. Where the topology cannot be read,
 * every allowed CPU counts. At least 1. */
int
AllowedPhysicalCores(const std::string & sysfsCpuRoot = "/sys/devices/system/cpu");

/** A CPU quota as whole CPUs (rounded up) from cgroup v2's `cpu.max` or v1's
 * `cpu/cpu.cfs_quota_us` and `cpu.cfs_period_us` under `cgroupRoot`; 0 when there is none. */
int
CpuQuotaLimit(const std::string & cgroupRoot = "/sys/fs/cgroup");

/** PhysicalCoreCount() for an explicit list of logical CPUs (exposed for tests). */
int
CountPhysicalCores(const std::string & sysfsCpuRoot, const std::vector<int> & cpus);

/** \brief Keeps freed memory in the process for reuse instead of returning it to the kernel.
 *
 * Every activation of a 3D network at 96^3 is tens of MB; glibc serves such blocks with fresh
 * mmap()s and unmaps them on free, so each layer pays page faults on memory it just released.
 * This sets M_MMAP_MAX = 0 (large blocks come from the heap), M_TRIM_THRESHOLD = 2 GiB (freed
 * heap memory is kept) and M_TOP_PAD = 1 GiB (the heap grows in large steps). Measured 76.8 s ->
 * 50.2 s for `medseg segment` with a 4-level 3D UNet at 96^3 (Documentation/benchmarks.md). Peak RSS then stays at its high-water
 * mark until the process ends: right for a command-line run, a choice for a long-lived host,
 * which is why the library never calls it by itself; `medseg` and its Slicer modules do.
 * Does nothing when MEDSEG_MALLOC_DEFAULTS=1 is set, the C library is not glibc, or the process
 * allocates with tcmalloc (UsesTcmalloc(): what the `medseg` executable and the Slicer modules
 * link by default, MEDSEG_USE_TCMALLOC; measured as fast as this tuning at 44% less peak memory).
 * So it is the fallback of builds without tcmalloc. Returns true when the settings were applied. */
bool
KeepFreedMemoryForReuse();

/** Is malloc tcmalloc's in this process (linked into the executable, or LD_PRELOAD)? */
bool
UsesTcmalloc();

/** The LibTorch version this module was built against, e.g. "1.13.1". */
std::string
TorchVersion();

} // namespace medseg

#endif
