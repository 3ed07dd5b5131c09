#include "medsegTestHelpers.h"
#include "medsegTorchRuntime.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace
{
/** A sysfs-like tree: cpuN/topology/{physical_package_id,core_id} for each (package, core). */
void
WriteTopology(const std::string & root, const std::vector<std::pair<int, int>> & packageAndCore)
{
  for (size_t cpu = 0; cpu < packageAndCore.size(); ++cpu)
  {
    const std::string dir = root + "/cpu" + std::to_string(cpu) + "/topology";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/physical_package_id") << packageAndCore[cpu].first << "\n";
    std::ofstream(dir + "/core_id") << packageAndCore[cpu].second << "\n";
  }
}
} // namespace

TEST(TorchRuntime, PhysicalCoresCountHyperThreadsOnce)
{
  medseg::test::TemporaryDirectory dir;
  // Two packages, two cores each, two hyper-threads per core; core ids repeat across packages.
  WriteTopology(dir.Path(), { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } });
  EXPECT_EQ(medseg::CountPhysicalCores(dir.Path(), { 0, 1, 2, 3, 4, 5, 6, 7 }), 4);
  EXPECT_EQ(medseg::CountPhysicalCores(dir.Path(), { 0, 4 }), 1) << "two threads of one core";
  EXPECT_EQ(medseg::CountPhysicalCores(dir.Path(), { 0, 2 }), 2) << "core 0 of each package";
  // Unreadable topology (a container without sysfs): every allowed CPU counts.
  EXPECT_EQ(medseg::CountPhysicalCores(dir / "missing", { 0, 1, 2 }), 3);
  EXPECT_EQ(medseg::CountPhysicalCores(dir / "missing", {}), 1);
}

TEST(TorchRuntime, AContainersCpuQuotaCapsTheCount)
{
  medseg::test::TemporaryDirectory dir;
  const std::string                v2 = dir / "v2", v1 = dir / "v1";
  std::filesystem::create_directories(v2);
  std::filesystem::create_directories(v1 + "/cpu");
  std::ofstream(v2 + "/cpu.max") << "150000 100000\n"; // --cpus 1.5
  EXPECT_EQ(medseg::CpuQuotaLimit(v2), 2);
  std::ofstream(v2 + "/cpu.max") << "max 100000\n";
  EXPECT_EQ(medseg::CpuQuotaLimit(v2), 0);
  std::ofstream(v1 + "/cpu/cpu.cfs_quota_us") << "-1\n";
  std::ofstream(v1 + "/cpu/cpu.cfs_period_us") << "100000\n";
  EXPECT_EQ(medseg::CpuQuotaLimit(v1), 0);
  std::ofstream(v1 + "/cpu/cpu.cfs_quota_us") << "100000\n";
  EXPECT_EQ(medseg::CpuQuotaLimit(v1), 1);
  EXPECT_EQ(medseg::CpuQuotaLimit(dir / "none"), 0);
  EXPECT_EQ(medseg::PhysicalCoreCount("/sys/devices/system/cpu", v1), 1) << "one CPU's quota: one thread";
  EXPECT_EQ(medseg::PhysicalCoreCount("/sys/devices/system/cpu", dir / "none"), medseg::AllowedPhysicalCores());
}

TEST(TorchRuntime, ZeroThreadsMeansOnePerPhysicalCoreUnlessOmpNumThreadsSaysOtherwise)
{
  const int         before = at::get_num_threads();
  const char *      set = std::getenv("OMP_NUM_THREADS");
  const std::string saved = set ? set : "";
  ::unsetenv("OMP_NUM_THREADS");
  const int cores = medseg::PhysicalCoreCount();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(medseg::SetTorchThreads(0), cores);
  EXPECT_EQ(at::get_num_threads(), cores);
  EXPECT_EQ(medseg::SetTorchThreads(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  ::setenv("OMP_NUM_THREADS", "3", 1);
  EXPECT_EQ(medseg::SetTorchThreads(0), 3);
  EXPECT_EQ(medseg::SetTorchThreads(2), 2) << "an explicit --threads wins over the environment";
  for (const char * ignored : { "0", "-2", "two", "4,2" })
  {
    ::setenv("OMP_NUM_THREADS", ignored, 1);
    EXPECT_EQ(medseg::DefaultTorchThreads(), cores) << ignored;
  }
  if (set)
    ::setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  else
    ::unsetenv("OMP_NUM_THREADS");
  at::set_num_threads(before);
}
