#include "medsegNNUNetResampling.h"
#include "medsegNNUNetSamples.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace medseg;

namespace medseg::test
{

/** The samples of Testing/NNUNet/make_resampling_samples.py (also used by
 * medsegNNUNetPreprocessingGTest.cxx in the same executable). */
namespace
{
fs::path
SourceRoot()
{
#ifdef MEDSEG_SOURCE_DIR
  return fs::path(MEDSEG_SOURCE_DIR);
#else
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
#endif
}

std::string
Hex(size_t value)
{
  char text[32];
  std::snprintf(text, sizeof text, "%016zx", value);
  return text;
}

/** Runs the script (once per sample kind and script version: the folder in the temp directory is
 * reused by later test processes) and parses its manifest. */
std::unique_ptr<NNUNetSamples>
MakeSamples(bool upstream, std::string & skipReason)
{
  const std::string python = "/usr/bin/python3";
  const fs::path    script = SourceRoot() / "Testing/NNUNet/make_resampling_samples.py";
  const fs::path    archive = SourceRoot().parent_path() / "shared/reference/nnunet-upstream.tar.gz";
  if (!fs::exists(python))
  {
    skipReason = "no " + python;
    return nullptr;
  }
  if (upstream && !fs::exists(archive))
  {
    skipReason = "no upstream reference (" + archive.string() + ")";
    return nullptr;
  }
  // The cache is keyed by the script's text (and the archive's size and time for upstream).
  std::string key = ReadText(script.string());
  if (upstream)
  {
    key +=
      std::to_string(fs::file_size(archive)) + std::to_string(fs::last_write_time(archive).time_since_epoch().count());
  }
  const fs::path cache =
    fs::temp_directory_path() /
    ("medseg-nnunet-samples-" + std::string(upstream ? "upstream-" : "own-") + Hex(std::hash<std::string>{}(key)));
  // One test process makes the samples; the others (ctest -j) wait for it and reuse them.
  const int lock = ::open((cache.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock >= 0)
  {
    ::flock(lock, LOCK_EX);
  }
  const struct Unlock
  {
    int fd;
    ~Unlock()
    {
      if (fd >= 0)
      {
        ::close(fd); // releases the lock
      }
    }
  } unlock{ lock };
  if (!fs::exists(cache / "manifest.json"))
  {
    TemporaryDirectory       work;
    ProcessOptions           options;
    std::vector<std::string> arguments{ script.string(), work / "samples" };
    if (upstream)
    {
      const ProcessResult untar = RunProcess("/bin/tar", { "-xzf", archive.string(), "-C", work.Path() });
      if (untar.exitCode != 0)
      {
        throw std::runtime_error("cannot extract " + archive.string() + ": " + untar.err);
      }
      options.environment.push_back({ "PYTHONPATH", work.Path() + ":" + (work / "stubs") });
      arguments.insert(arguments.end(), { "--upstream", work.Path() });
    }
    const ProcessResult run = RunProcess(python, arguments, options);
    if (run.exitCode == 3)
    {
      skipReason = "python3 cannot import what the samples need: " + run.err;
      return nullptr;
    }
    if (run.exitCode != 0)
    {
      throw std::runtime_error("make_resampling_samples.py failed (" + std::to_string(run.exitCode) + "): " + run.err);
    }
    std::error_code error;
    fs::rename(work / "samples", cache, error); // another test process may have won the race
  }
  auto samples = std::make_unique<NNUNetSamples>();
  samples->folder = cache.string();
  samples->manifest = nlohmann::json::parse(ReadText((cache / "manifest.json").string()));
  return samples;
}
} // namespace

/** The samples of one kind (upstream: from nnU-Net's own functions), or nullptr with the reason
 * to skip. Made once per process. */
const NNUNetSamples *
GetNNUNetSamples(bool upstream, std::string & skipReason)
{
  static std::map<bool, std::pair<std::unique_ptr<NNUNetSamples>, std::string>> made;
  auto                                                                          found = made.find(upstream);
  if (found == made.end())
  {
    std::string reason;
    auto        samples = MakeSamples(upstream, reason);
    found = made.emplace(upstream, std::make_pair(std::move(samples), reason)).first;
  }
  skipReason = found->second.second;
  return found->second.first.get();
}

/** A sample array ({"file", "shape"}): .f32 as float32, .u8 as bool. */
at::Tensor
LoadNNUNetSampleArray(const NNUNetSamples & samples, const nlohmann::json & entry)
{
  const std::string    file = entry.at("file");
  std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
  const std::string    bytes = ReadText(samples.folder + "/" + file);
  const bool           isFloat = file.size() > 4 && file.substr(file.size() - 4) == ".f32";
  at::Tensor           t = at::empty(shape, isFloat ? at::kFloat : at::kByte);
  if (static_cast<size_t>(t.nbytes()) != bytes.size())
  {
    throw std::runtime_error(file + ": size does not match its shape");
  }
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return isFloat ? t : t.to(at::kBool);
}

} // namespace medseg::test

namespace
{
template<typename T>
std::array<T, 3>
Array3(const nlohmann::json & j)
{
  const auto v = j.get<std::vector<T>>();
  return { v.at(0), v.at(1), v.at(2) };
}

std::optional<bool>
OptionalBool(const nlohmann::json & j)
{
  return j.is_null() ? std::nullopt : std::optional<bool>(j.get<bool>());
}

/** Checks every resampling sample; returns the worst max |difference| / data range. */
double
CheckResamplingSamples(const test::NNUNetSamples & samples)
{
  double worst = 0.0;
  for (const auto & c : samples.manifest.at("resampling"))
  {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const at::Tensor             input = test::LoadNNUNetSampleArray(samples, c.at("input"));
    const at::Tensor             expected = test::LoadNNUNetSampleArray(samples, c.at("expected"));
    const auto                   current = Array3<double>(c.at("current_spacing"));
    const auto                   target = Array3<double>(c.at("new_spacing"));
    const auto                   force = OptionalBool(c.at("force_separate_z"));
    const std::array<int64_t, 3> shape{ input.size(1), input.size(2), input.size(3) };
    const auto                   newShape = ComputeNNUNetNewShape(shape, current, target);
    EXPECT_EQ(newShape, Array3<int64_t>(c.at("new_shape")));
    const auto axis = DetermineNNUNetSeparateZAxis(force, current, target);
    const auto expectedAxis = c.at("separate_axis");
    EXPECT_EQ(axis.has_value(), !expectedAxis.is_null());
    if (axis && !expectedAxis.is_null())
    {
      EXPECT_EQ(*axis, expectedAxis.get<int>());
    }
    const at::Tensor result =
      ResampleLikeNNUNet(input, newShape, current, target, c.at("order").get<int>(), c.at("order_z").get<int>(), force);
    if (result.sizes() != expected.sizes())
    {
      ADD_FAILURE() << "shape " << result.sizes() << " instead of " << expected.sizes();
      continue;
    }
    EXPECT_EQ(result.scalar_type(), at::kFloat);
    const double range = (input.max() - input.min()).item<double>();
    const double difference = (result - expected).abs().max().item<double>() / range;
    EXPECT_LT(difference, 1e-6) << "max |difference| / range";
    worst = std::max(worst, difference);
  }
  return worst;
}

at::Tensor
Ramp(std::array<int64_t, 3> shape, std::array<double, 3> slope, at::ScalarType type = at::kFloat)
{
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const auto i = at::arange(shape[0], options).view({ -1, 1, 1 });
  const auto j = at::arange(shape[1], options).view({ 1, -1, 1 });
  const auto k = at::arange(shape[2], options).view({ 1, 1, -1 });
  return (i * slope[0] + j * slope[1] + k * slope[2]).unsqueeze(0).to(type);
}
} // namespace

TEST(NNUNetResampling, MatchesScipyAndSkimage)
{
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(false, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  ASSERT_GE(samples->manifest.at("resampling").size(), 15u);
  const double worst = CheckResamplingSamples(*samples);
  RecordProperty("worst_relative_difference", test::FormatFigure(worst));
}

TEST(NNUNetResampling, MatchesUpstreamNNUNet)
{
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(true, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  EXPECT_EQ(samples->manifest.at("reference"), "upstream");
  const double worst = CheckResamplingSamples(*samples);
  RecordProperty("worst_relative_difference", test::FormatFigure(worst));
}

TEST(NNUNetResampling, NewShapeRoundsHalvesToEven)
{
  // Python's round(): 2.5 -> 2, 3.5 -> 4; 0.5 -> 0.
  EXPECT_EQ(ComputeNNUNetNewShape({ 5, 7, 1 }, { 1.0, 1.0, 1.0 }, { 2.0, 2.0, 2.0 }),
            (std::array<int64_t, 3>{ 2, 4, 0 }));
  EXPECT_EQ(ComputeNNUNetNewShape({ 100, 512, 512 }, { 2.5, 0.7, 0.7 }, { 1.0, 0.8, 0.8 }),
            (std::array<int64_t, 3>{ 250, 448, 448 }));
}

TEST(NNUNetResampling, SeparateAxisRule)
{
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(std::nullopt, { 5.0, 0.8, 0.8 }, { 3.0, 1.0, 1.0 }), 0);
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(std::nullopt, { 0.8, 0.8, 5.0 }, { 1.0, 1.0, 1.0 }), 2);
  // Exactly 3 is not above the threshold; the new spacing decides next.
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(std::nullopt, { 3.0, 1.0, 1.0 }, { 1.0, 1.0, 1.0 }), std::nullopt);
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(std::nullopt, { 1.0, 1.0, 1.0 }, { 1.0, 3.5, 1.0 }), 1);
  // Two axes share the largest spacing: no separate axis.
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(std::nullopt, { 0.24, 1.25, 1.25 }, { 1.0, 1.0, 1.0 }), std::nullopt);
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(true, { 1.5, 1.0, 1.0 }, { 1.0, 1.0, 1.0 }), 0);
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(true, { 1.0, 1.0, 1.0 }, { 1.0, 1.0, 5.0 }), std::nullopt);
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(false, { 5.0, 1.0, 1.0 }, { 1.0, 1.0, 1.0 }), std::nullopt);
  // The anisotropy threshold is a parameter.
  EXPECT_EQ(DetermineNNUNetSeparateZAxis(std::nullopt, { 2.5, 1.0, 1.0 }, { 1.0, 1.0, 1.0 }, 2.0), 0);
}

TEST(NNUNetResampling, AnalyticProperties)
{
  // Constants stay constant at every order, separate or not.
  const at::Tensor constant = at::full({ 2, 5, 6, 7 }, 3.25f);
  for (const int order : { 0, 1, 3 })
  {
    for (const auto force : { std::optional<bool>(), std::optional<bool>(true) })
    {
      const auto r = ResampleLikeNNUNet(constant, { 9, 4, 11 }, { 2.0, 1.0, 1.0 }, { 1.0, 1.5, 0.6 }, order, 1, force);
      ASSERT_EQ(r.sizes(), (std::vector<int64_t>{ 2, 9, 4, 11 }));
      EXPECT_LT((r - 3.25f).abs().max().item<double>(), 1e-5) << "order " << order;
    }
  }
  // Order 1 reproduces a ramp inside (coordinates (k + 0.5) * in / out - 0.5) and clamps at the ends.
  const at::Tensor ramp = Ramp({ 4, 3, 8 }, { 0.0, 0.0, 1.0 });
  const at::Tensor up = ResampleLikeNNUNet(ramp, { 4, 3, 16 }, { 1, 1, 1 }, { 1, 1, 0.5 }, 1, 0, std::nullopt);
  for (int64_t k = 0; k < 16; ++k)
  {
    const double coordinate = std::clamp((k + 0.5) * 0.5 - 0.5, 0.0, 7.0);
    EXPECT_NEAR(up[0][2][1][k].item<double>(), coordinate, 1e-6) << k;
  }
  // Order 0: halves round up (coordinate 0.5 -> sample 1) for a 2 -> 1 shrink of 4 samples.
  const at::Tensor down = ResampleLikeNNUNet(ramp, { 4, 3, 4 }, { 1, 1, 1 }, { 1, 1, 2 }, 0, 0, std::nullopt);
  for (int64_t k = 0; k < 4; ++k)
  {
    EXPECT_EQ(down[0][0][0][k].item<float>(), static_cast<float>(2 * k + 1));
  }
  // Order 3 keeps values within the input range (resize's clip) and float64 stays float64.
  const at::Tensor step = (Ramp({ 6, 6, 6 }, { 1.0, 0.0, 0.0 }, at::kDouble) > 2.5).to(at::kDouble);
  const at::Tensor cubic = ResampleLikeNNUNet(step, { 13, 6, 6 }, { 1, 1, 1 }, { 0.46, 1, 1 }, 3, 0, std::nullopt);
  EXPECT_EQ(cubic.scalar_type(), at::kDouble);
  EXPECT_GE(cubic.min().item<double>(), 0.0);
  EXPECT_LE(cubic.max().item<double>(), 1.0);
  // A NaN stays local at order 1 (27 NaN voxels, as skimage gives): it turns resize's clip off
  // instead of making every value NaN.
  at::Tensor withNan = at::ones({ 1, 6, 6, 6 });
  withNan[0][3][3][3] = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor nanResult =
    ResampleLikeNNUNet(withNan, { 9, 9, 9 }, { 1, 1, 1 }, { 0.66, 0.66, 0.66 }, 1, 0, std::nullopt);
  const int64_t nans = nanResult.isnan().sum().item<int64_t>();
  EXPECT_EQ(nans, 27);
  EXPECT_EQ(nanResult[0][0][0][0].item<float>(), 1.0f);
  // An unchanged shape returns the input's values.
  const at::Tensor same = ResampleLikeNNUNet(ramp, { 4, 3, 8 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 0, std::nullopt);
  EXPECT_TRUE(at::equal(same, ramp));
}

TEST(NNUNetResampling, RefusesBadArguments)
{
  const at::Tensor data = at::zeros({ 1, 4, 4, 4 });
  EXPECT_THROW(ResampleLikeNNUNet(data, { 5, 5, 5 }, { 1, 1, 1 }, { 1, 1, 1 }, 2, 0, std::nullopt),
               std::invalid_argument);
  EXPECT_THROW(ResampleLikeNNUNet(data, { 5, 5, 5 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 3, std::nullopt),
               std::invalid_argument);
  EXPECT_THROW(ResampleLikeNNUNet(data, { 0, 5, 5 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 0, std::nullopt),
               std::invalid_argument);
  EXPECT_THROW(ResampleLikeNNUNet(data[0], { 5, 5, 5 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 0, std::nullopt),
               std::invalid_argument);
  EXPECT_THROW(ResampleLikeNNUNet(data.to(at::kInt), { 5, 5, 5 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 0, std::nullopt),
               std::invalid_argument);
  EXPECT_THROW(ResampleLikeNNUNet(data, { 5, 5, 5 }, { 0, 1, 1 }, { 1, 1, 1 }, 3, 0, std::nullopt),
               std::invalid_argument);
}

TEST(NNUNetResampling, SpeedOfTypicalVolumes)
{
  // 160^3 x 3 channels at order 3 (1 mm -> 0.8 mm: 200^3) and 4-class logits at order 1 (back to
  // 160^3 from 200^3), on 1 and 2 threads. Generous bounds so that a loaded CI machine passes;
  // the times are recorded (--gtest_output=json).
  const at::Tensor image = at::rand({ 3, 160, 160, 160 });
  const at::Tensor logits = at::rand({ 4, 200, 200, 200 });
  const int        threads = at::get_num_threads();
  for (const int n : { 1, 2 })
  {
    at::set_num_threads(n);
    const auto       t0 = std::chrono::steady_clock::now();
    const at::Tensor resized =
      ResampleLikeNNUNet(image, { 200, 200, 200 }, { 1, 1, 1 }, { 0.8, 0.8, 0.8 }, 3, 0, std::nullopt);
    const auto       t1 = std::chrono::steady_clock::now();
    const at::Tensor back =
      ResampleLikeNNUNet(logits, { 160, 160, 160 }, { 0.8, 0.8, 0.8 }, { 1, 1, 1 }, 1, 0, std::nullopt);
    const auto   t2 = std::chrono::steady_clock::now();
    const double cubic = std::chrono::duration<double>(t1 - t0).count();
    const double linear = std::chrono::duration<double>(t2 - t1).count();
    EXPECT_EQ(resized.size(1), 200);
    EXPECT_EQ(back.size(3), 160);
    RecordProperty("order3_3x160cubed_to_200cubed_seconds_threads" + std::to_string(n), test::FormatFigure(cubic));
    RecordProperty("order1_4x200cubed_to_160cubed_seconds_threads" + std::to_string(n), test::FormatFigure(linear));
    EXPECT_LT(cubic, 20.0);
    EXPECT_LT(linear, 20.0);
  }
  at::set_num_threads(threads);
}
