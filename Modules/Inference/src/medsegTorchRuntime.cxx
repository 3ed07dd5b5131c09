#include "medsegTorchRuntime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sched.h>
#include <set>
#include <thread>
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

int
CountPhysicalCores(const std::string & sysfsCpuRoot, const std::vector<int> & cpus)
{
  std::set<std::pair<long, long>> cores;
  for (const int cpu : cpus)
  {
    const std::string topology = sysfsCpuRoot + "/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream     package(topology + "physical_package_id");
    std::ifstream     core(topology + "core_id");
    long              packageId = -1, coreId = -1;
    if (!(package >> packageId) || !(core >> coreId))
      return std::max<int>(1, static_cast<int>(cpus.size())); // no topology: count what we may use
    cores.emplace(packageId, coreId);
  }
  return std::max<int>(1, static_cast<int>(cores.size()));
}

int
CpuQuotaLimit(const std::string & cgroupRoot)
{
  double quota = -1.0, period = 0.0;
  std::ifstream v2(cgroupRoot + "/cpu.max"); // cgroup v2: "max 100000" or "QUOTA PERIOD"
  std::string   first;
  if (v2 >> first)
  {
    if (first == "max")
      return 0;
    quota = std::atof(first.c_str());
    v2 >> period;
  }
  else
  {
    std::ifstream q(cgroupRoot + "/cpu/cpu.cfs_quota_us"); // cgroup v1; -1 = no quota
    std::ifstream p(cgroupRoot + "/cpu/cpu.cfs_period_us");
    if (!(q >> quota) || !(p >> period))
      return 0;
  }
  if (!(quota > 0.0) || !(period > 0.0))
    return 0;
  return std::max(1, static_cast<int>(std::ceil(quota / period)));
}

int
PhysicalCoreCount(const std::string & sysfsCpuRoot, const std::string & cgroupRoot)
{
  const int quota = CpuQuotaLimit(cgroupRoot);
  const int cores = AllowedPhysicalCores(sysfsCpuRoot);
  return quota > 0 ? std::min(quota, cores) : cores;
}

int
AllowedPhysicalCores(const std::string & sysfsCpuRoot)
{
  std::vector<int> cpus;
  cpu_set_t        allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
  {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    {
      if (CPU_ISSET(cpu, &allowed))
        cpus.push_back(cpu);
    }
  }
  if (cpus.empty())
    return std::max(1u, std::thread::hardware_concurrency());
  return CountPhysicalCores(sysfsCpuRoot, cpus);
}

int
DefaultTorchThreads()
{
  // An explicit cap from the environment wins, as in LibTorch's own default (job schedulers and
  // parallel test runners set it).
  if (const char * omp = std::getenv("OMP_NUM_THREADS"))
  {
    char *     end = nullptr;
    const long n = std::strtol(omp, &end, 10);
    if (end != omp && *end == '\0' && n > 0 && n <= 4096)
      return static_cast<int>(n);
  }
  return PhysicalCoreCount();
}

int
SetTorchThreads(int threads)
{
  const int n = threads > 0 ? threads : DefaultTorchThreads();
  at::set_num_threads(n);
  return n;
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
