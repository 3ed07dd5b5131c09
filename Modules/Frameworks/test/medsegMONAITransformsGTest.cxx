// MONAI transforms against Testing/MONAI/make_transform_samples.py (monai_reference.py's numpy
// restatement of MONAI 1.5, and MONAI's torch resampling path op for op), plus analytic checks.
#include "medsegMONAITransforms.h"

#include "medsegError.h"
#include "medsegExpectInputError.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace medseg;
using nlohmann::json;

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

struct Samples
{
  std::string folder;
  json        manifest;
};

/** Runs the script once per version of it and of monai_reference.py (and, for the upstream kind,
 * of the MONAI archive): the folder in the temp directory is reused by later test processes, and
 * ctest -j processes wait on a lock for the first one. */
std::unique_ptr<Samples>
MakeSamples(bool upstream, std::string & skipReason)
{
  const std::string python = "/usr/bin/python3";
  const fs::path    script = SourceRoot() / "Testing/MONAI/make_transform_samples.py";
  const fs::path    archive = SourceRoot().parent_path() / "shared/reference/monai-upstream.tar.gz";
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
  std::string key =
    test::ReadText(script.string()) + test::ReadText((script.parent_path() / "monai_reference.py").string());
  if (upstream)
  {
    key +=
      std::to_string(fs::file_size(archive)) + std::to_string(fs::last_write_time(archive).time_since_epoch().count());
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(key));
  const fs::path cache = fs::temp_directory_path() /
                         ("medseg-monai-transform-samples-" + std::string(upstream ? "upstream-" : "own-") + hex);
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
        ::close(fd);
      }
    }
  } unlock{ lock };
  if (!fs::exists(cache / "manifest.json"))
  {
    test::TemporaryDirectory work;
    std::vector<std::string> arguments{ script.string(), work / "samples" };
    if (upstream)
    {
      const auto untar = test::RunProcess("/bin/tar", { "-xzf", archive.string(), "-C", work.Path() });
      if (untar.exitCode != 0)
      {
        throw std::runtime_error("cannot extract " + archive.string() + ": " + untar.err);
      }
      arguments.insert(arguments.end(), { "--upstream", work.Path() });
    }
    const auto run = test::RunProcess(python, arguments);
    if (run.exitCode == 3)
    {
      skipReason = "python3 cannot import what the samples need: " + run.err;
      return nullptr;
    }
    if (run.exitCode != 0)
    {
      throw std::runtime_error("make_transform_samples.py failed (" + std::to_string(run.exitCode) + "): " + run.err);
    }
    std::error_code error;
    fs::rename(work / "samples", cache, error); // another test process may have won the race
  }
  auto samples = std::make_unique<Samples>();
  samples->folder = cache.string();
  samples->manifest = json::parse(test::ReadText((cache / "manifest.json").string()));
  return samples;
}

/** The samples of one kind (upstream: with MONAI's own outputs), or nullptr with the reason to
 * skip; made once per process. */
const Samples *
GetSamples(bool upstream, std::string & skipReason)
{
  static std::map<bool, std::pair<std::unique_ptr<Samples>, std::string>> made;
  auto                                                                    found = made.find(upstream);
  if (found == made.end())
  {
    std::string reason;
    auto        samples = MakeSamples(upstream, reason);
    found = made.emplace(upstream, std::make_pair(std::move(samples), reason)).first;
  }
  skipReason = found->second.second;
  return found->second.first.get();
}

#define MONAI_SAMPLES(name, upstream)                                                                                  \
  std::string     skipReason;                                                                                          \
  const Samples * name = GetSamples(upstream, skipReason);                                                             \
  if (name == nullptr)                                                                                                 \
  {                                                                                                                    \
    GTEST_SKIP() << skipReason;                                                                                        \
  }

/** An array the manifest names ({"file", "shape"}): .f32 float32, .f64 float64. */
at::Tensor
Load(const Samples & samples, const json & entry)
{
  const std::string file = entry.at("file");
  const std::string bytes = test::ReadText(samples.folder + "/" + file);
  at::Tensor        t = at::empty(entry.at("shape").get<std::vector<int64_t>>(),
                           file.substr(file.size() - 4) == ".f64" ? at::kDouble : at::kFloat);
  if (static_cast<size_t>(t.nbytes()) != bytes.size())
  {
    throw std::runtime_error(file + ": size does not match its shape");
  }
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

double
MaxAbsDifference(const at::Tensor & a, const at::Tensor & b)
{
  if (a.sizes() != b.sizes())
  {
    ADD_FAILURE() << "shapes differ: " << a.sizes() << " vs " << b.sizes();
    return INFINITY;
  }
  return a.numel() == 0 ? 0.0 : (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/** max |a - b| / max(max |b|, 1) */
double
RelativeDifference(const at::Tensor & a, const at::Tensor & b)
{
  const double scale = b.numel() == 0 ? 1.0 : std::max(1.0, b.to(at::kDouble).abs().max().item<double>());
  return MaxAbsDifference(a, b) / scale;
}

void
Report(const std::string & what, double value)
{
  std::printf("[ MONAI    ] %s: %.3g\n", what.c_str(), value);
}

MONAIImage
InputImage(const Samples & s, const json & c)
{
  return MONAIImage{ Load(s, c.at("input")), Load(s, c.at("affine")) };
}

FloatImage3::Pointer
Phantom(const std::string & direction, std::array<double, 3> spacing = { 1.1, 0.7, 2.5 })
{
  test::Geometry g;
  g.size = { 6, 5, 4 };
  g.spacing = spacing;
  g.origin = { 12.5, -30.0, 4.25 };
  g = test::WithDirection(g, direction);
  return test::MakeImage(g, [](long x, long y, long z) { return static_cast<float>(100 * x + 10 * y + z); });
}

const char * const kDirections[] = { "LPS", "RAS", "permuted", "oblique" };

} // namespace

TEST(MONAITransforms, AffineFromITKGeometry)
{
  for (const char * name : kDirections)
  {
    SCOPED_TRACE(name);
    const auto       image = Phantom(name);
    const MONAIImage m = MONAIImageFromChannels({ image, Phantom(name) });
    ASSERT_EQ(m.data.sizes(), (std::vector<int64_t>{ 2, 6, 5, 4 }));
    EXPECT_EQ(m.data[1][4][3][2].item<float>(), 432.0f); // [C, I, J, K], I = ITK's x
    EXPECT_EQ(m.data[0][5][0][1].item<float>(), 501.0f);
    for (int r = 0; r < 3; ++r)
    {
      const double sign = r < 2 ? -1.0 : 1.0;
      for (int c = 0; c < 3; ++c)
      {
        EXPECT_NEAR(m.affine[r][c].item<double>(), sign * image->GetDirection()(r, c) * image->GetSpacing()[c], 1e-12);
      }
      EXPECT_NEAR(m.affine[r][3].item<double>(), sign * image->GetOrigin()[r], 1e-12);
    }
  }
  EXPECT_EQ(MONAIAxcodes(MONAIImageFromChannels({ Phantom("LPS") }).affine), "LPS");
  EXPECT_EQ(MONAIAxcodes(MONAIImageFromChannels({ Phantom("RAS") }).affine), "RAS");
  test::ExpectInputError([] { MONAIImageFromChannels({ Phantom("LPS"), Phantom("RAS") }); }, "channel 1", "grid");
  test::ExpectInputError(
    [] {
      MONAIImageFromChannels({ Phantom("LPS"), Phantom("LPS", { 1.1, 0.7, 2.6 }) });
    },
    "channel 1", "grid");
}

TEST(MONAITransforms, LoadMatchesNibabel)
{
  MONAI_SAMPLES(s, false);
  double worst = 0.0;
  for (const auto & c : s->manifest.at("geometry"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const MONAIImage m = MONAIImageFromChannels(ReadVolumeChannels(s->folder + "/" + c.at("file").get<std::string>()));
    EXPECT_EQ(MaxAbsDifference(m.data, Load(*s, c.at("data"))), 0.0);
    const double d = MaxAbsDifference(m.affine, Load(*s, c.at("affine")));
    EXPECT_LT(d, 1e-5); // the file holds float32
    worst = std::max(worst, d);
    EXPECT_EQ(MONAIAxcodes(m.affine), c.at("axcodes").get<std::string>());
  }
  Report("load affine vs nibabel, max abs", worst);
}

TEST(MONAITransforms, OrientationMatchesReference)
{
  MONAI_SAMPLES(s, false);
  double worst = 0.0;
  for (const auto & c : s->manifest.at("orientation"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const MONAIImage      input = InputImage(*s, c);
    MONAIAppliedOperation op;
    const MONAIImage      out = MONAIOrientation(input, c.at("axcodes").get<std::string>(), &op);
    EXPECT_EQ(MaxAbsDifference(out.data, Load(*s, c.at("expected"))), 0.0);
    const double d = MaxAbsDifference(out.affine, Load(*s, c.at("expected_affine")));
    EXPECT_LT(d, 1e-12);
    worst = std::max(worst, d);
    EXPECT_EQ(MONAIAxcodes(out.affine), c.at("axcodes").get<std::string>());
    EXPECT_EQ(op.kind, MONAIAppliedOperation::Kind::Orientation);
    // Invertd's inverse: back to the input exactly.
    const MONAIImage back = MONAIInvert(out, { op }, false);
    EXPECT_EQ(MaxAbsDifference(back.data, input.data), 0.0);
    EXPECT_EQ(MaxAbsDifference(back.affine, input.affine), 0.0);
  }
  Report("orientation affine, max abs", worst);
  const MONAIImage any = InputImage(*s, s->manifest.at("orientation").at(0));
  for (const char * bad : { "RAR", "RA", "XYZ", "ras", "RASI" })
  {
    EXPECT_THROW(MONAIOrientation(any, bad, nullptr), std::invalid_argument) << bad;
  }
}

TEST(MONAITransforms, SpacingMatchesReference)
{
  MONAI_SAMPLES(s, false);
  double worstReference = 0.0, worstTorch = 0.0, worstAffine = 0.0;
  for (const auto & c : s->manifest.at("spacing"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    MONAIAppliedOperation op;
    const MONAIImage      out = MONAISpacing(InputImage(*s, c), c.at("pixdim").get<std::vector<double>>(),
                                             c.at("mode").get<std::string>(), c.at("padding_mode").get<std::string>(), &op);
    const double          ref = RelativeDifference(out.data, Load(*s, c.at("expected")));
    const double          torch = MaxAbsDifference(out.data, Load(*s, c.at("torch_path")));
    const double          affine = MaxAbsDifference(out.affine, Load(*s, c.at("expected_affine")));
    EXPECT_LE(ref, 1e-6);
    EXPECT_EQ(torch, 0.0) << "not bit-identical to MONAI's affine_grid/grid_sample path";
    EXPECT_LT(affine, 1e-12);
    EXPECT_EQ(op.changedImage, !c.at("skipped").get<bool>());
    EXPECT_EQ(op.kind, MONAIAppliedOperation::Kind::Spacing);
    worstReference = std::max(worstReference, ref);
    worstTorch = std::max(worstTorch, torch);
    worstAffine = std::max(worstAffine, affine);
  }
  Report("spacing vs reference (torch grid), max rel", worstReference);
  Report("spacing vs MONAI torch path, max abs", worstTorch);
  Report("spacing affine, max abs", worstAffine);
  const MONAIImage any = InputImage(*s, s->manifest.at("spacing").at(0));
  EXPECT_THROW(MONAISpacing(any, { 1.0 }, "bicubic", "border", nullptr), std::invalid_argument);
  EXPECT_THROW(MONAISpacing(any, { 1.0 }, "bilinear", "wrap", nullptr), std::invalid_argument);
  EXPECT_THROW(MONAISpacing(any, {}, "bilinear", "border", nullptr), std::invalid_argument);
}

TEST(MONAITransforms, SpacingAnalyticRules)
{
  // 9 voxels of 1.1 to 1.5: round(8 * 1.1 / 1.5 + 1) = round(6.87) = 7; corner 0 stays put.
  at::Tensor affine = at::eye(4, at::kDouble);
  affine[0][0] = 1.1;
  affine[0][3] = -3.0;
  const MONAIImage image{ at::arange(9 * 2 * 2, at::kFloat).reshape({ 1, 9, 2, 2 }), affine };
  const MONAIImage out = MONAISpacing(image, { 1.5, 1.0 }, "bilinear", "border", nullptr);
  EXPECT_EQ(out.SpatialShape(), (std::array<int64_t, 3>{ 7, 2, 2 }));
  EXPECT_DOUBLE_EQ(out.affine[0][0].item<double>(), 1.5);
  EXPECT_DOUBLE_EQ(out.affine[0][3].item<double>(), -3.0);
  // Output voxel 1 is input index 1.5 / 1.1 along I: bilinear between voxels 1 and 2.
  const double t = 1.5 / 1.1 - 1.0;
  EXPECT_NEAR(out.data[0][1][0][0].item<double>(), (1.0 - t) * 4.0 + t * 8.0, 1e-5);
  // An input spacing within 1e-3 of pixdim is kept (MONAI's AFFINE_TOL rule): no resampling.
  MONAIAppliedOperation op;
  const MONAIImage      same = MONAISpacing(image, { 1.1004, 1.0, 0.9995 }, "bilinear", "border", &op);
  EXPECT_FALSE(op.changedImage);
  EXPECT_EQ(MaxAbsDifference(same.affine, affine), 0.0);
  EXPECT_EQ(MaxAbsDifference(same.data, image.data), 0.0);
}

TEST(MONAITransforms, ResampleMatchesTorchGrid)
{
  MONAI_SAMPLES(s, false);
  double worstReference = 0.0, worstTorch = 0.0;
  for (const auto & c : s->manifest.at("resample"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto       shape = c.at("out_shape").get<std::vector<int64_t>>();
    const at::Tensor out =
      MONAIResample(Load(*s, c.at("input")), Load(*s, c.at("xform")), { shape[0], shape[1], shape[2] },
                    c.at("mode").get<std::string>(), c.at("padding_mode").get<std::string>());
    EXPECT_EQ(out.scalar_type(), at::kFloat);
    const double torch = MaxAbsDifference(out, Load(*s, c.at("torch_path")));
    EXPECT_EQ(torch, 0.0);
    worstTorch = std::max(worstTorch, torch);
    if (c.contains("expected"))
    {
      const double ref = RelativeDifference(out, Load(*s, c.at("expected")));
      EXPECT_LE(ref, 1e-6);
      worstReference = std::max(worstReference, ref);
    }
  }
  Report("resample vs reference (torch grid), max rel", worstReference);
  Report("resample vs MONAI torch path, max abs", worstTorch);
}

TEST(MONAITransforms, ScaleIntensityRangeMatchesReference)
{
  MONAI_SAMPLES(s, false);
  const json & cases = s->manifest.at("intensity");
  double       worst = 0.0;
  for (const auto & c : cases.at("scale"))
  {
    SCOPED_TRACE(c.dump());
    MONAIImage image{ Load(*s, cases.at("input")), at::eye(4, at::kDouble) };
    const auto optional = [](const json & v) {
      return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
    };
    MONAIScaleIntensityRange(image, c.at("a_min"), c.at("a_max"), optional(c.at("b_min")), optional(c.at("b_max")),
                             c.at("clip"));
    const double d = RelativeDifference(image.data, Load(*s, c.at("expected")));
    EXPECT_LE(d, 1e-6);
    worst = std::max(worst, d);
    if (c.at("clip").get<bool>())
    {
      EXPECT_GE(image.data.min().item<double>(), c.at("b_min").get<double>());
      EXPECT_LE(image.data.max().item<double>(), c.at("b_max").get<double>());
    }
  }
  Report("scale intensity range, max rel", worst);
}

TEST(MONAITransforms, NormalizeIntensityMatchesReference)
{
  MONAI_SAMPLES(s, false);
  const json &     cases = s->manifest.at("intensity");
  const at::Tensor input = Load(*s, cases.at("input"));
  double           worst = 0.0;
  for (const auto & c : cases.at("normalize"))
  {
    SCOPED_TRACE(c.dump());
    MONAIImage image{ input.clone(), at::eye(4, at::kDouble) };
    MONAINormalizeIntensity(image, c.at("nonzero"), c.at("channel_wise"));
    const double d = RelativeDifference(image.data, Load(*s, c.at("expected")));
    EXPECT_LE(d, 1e-5); // float32 mean/std: torch's reduction vs numpy's float64 one
    worst = std::max(worst, d);
    if (c.at("nonzero").get<bool>())
    {
      EXPECT_TRUE(at::equal(image.data == 0, input == 0)) << "zeros must stay zero";
    }
  }
  Report("normalize intensity, max rel", worst);
  MONAIImage empty{ at::zeros({ 1, 3, 3, 3 }), at::eye(4, at::kDouble) };
  MONAINormalizeIntensity(empty, true, false);
  EXPECT_EQ(empty.data.abs().max().item<double>(), 0.0);
}

TEST(MONAITransforms, CropForegroundMatchesReference)
{
  MONAI_SAMPLES(s, false);
  for (const auto & c : s->manifest.at("crop"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto            margin = c.at("margin").get<std::vector<int64_t>>();
    const auto            k = c.at("k_divisible").get<std::vector<int64_t>>();
    MONAIAppliedOperation op;
    const MONAIImage      out = MONAICropForeground(InputImage(*s, c), { margin[0], margin[1], margin[2] },
                                                    c.at("allow_smaller"), { k[0], k[1], k[2] }, &op);
    EXPECT_EQ(MaxAbsDifference(out.data, Load(*s, c.at("expected"))), 0.0);
    EXPECT_LT(MaxAbsDifference(out.affine, Load(*s, c.at("expected_affine"))), 1e-12);
    const auto start = c.at("start").get<std::vector<int64_t>>();
    const auto end = c.at("end").get<std::vector<int64_t>>();
    EXPECT_EQ(op.cropStart, (std::array<int64_t, 3>{ start[0], start[1], start[2] }));
    EXPECT_EQ(op.cropEnd, (std::array<int64_t, 3>{ end[0], end[1], end[2] }));
    for (int a = 0; a < 3; ++a)
    {
      if (k[a] > 1)
      {
        EXPECT_EQ(out.SpatialShape()[a] % k[a], 0);
      }
    }
    // Inverting the crop puts every voxel back.
    const MONAIImage back = MONAIInvert(out, { op }, false);
    const at::Tensor input = Load(*s, c.at("input"));
    const at::Tensor kept = (input > 0).any(0, true).expand_as(input);
    EXPECT_EQ(MaxAbsDifference(back.data.masked_select(kept), input.masked_select(kept)), 0.0);
  }
  MONAIImage none{ at::zeros({ 1, 4, 4, 4 }) - 1.0, at::eye(4, at::kDouble) };
  test::ExpectInputError(
    [&] {
      MONAICropForeground(none, { 0, 0, 0 }, false, { 1, 1, 1 }, nullptr);
    },
    "image", "no foreground");
}

TEST(MONAITransforms, InvertMatchesReference)
{
  MONAI_SAMPLES(s, false);
  double worstPre = 0.0, worstInverted = 0.0;
  for (const auto & c : s->manifest.at("invert"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const MONAIImage                   input = InputImage(*s, c);
    std::vector<MONAIAppliedOperation> ops(3);
    MONAIImage                         x = MONAIOrientation(input, c.at("axcodes").get<std::string>(), &ops[0]);
    x = MONAISpacing(x, c.at("pixdim").get<std::vector<double>>(), "bilinear", "border", &ops[1]);
    const auto m = c.at("margin").get<std::vector<int64_t>>();
    x = MONAICropForeground(x, { m[0], m[1], m[2] }, false, { 1, 1, 1 }, &ops[2]);
    const double pre = RelativeDifference(x.data, Load(*s, c.at("preprocessed")));
    EXPECT_LE(pre, 1e-6);
    EXPECT_LT(MaxAbsDifference(x.affine, Load(*s, c.at("preprocessed_affine"))), 1e-12);
    const MONAIImage inverted =
      MONAIInvert(MONAIImage{ Load(*s, c.at("prediction")), x.affine }, ops, c.at("nearest_interp"));
    const double d = MaxAbsDifference(inverted.data, Load(*s, c.at("expected")));
    EXPECT_LE(d, 1e-6);
    EXPECT_EQ(MaxAbsDifference(inverted.affine, input.affine), 0.0);
    EXPECT_EQ(inverted.SpatialShape(), input.SpatialShape());
    worstPre = std::max(worstPre, pre);
    worstInverted = std::max(worstInverted, d);
  }
  Report("invert: preprocessing vs reference, max rel", worstPre);
  Report("invert: inverted prediction vs reference, max abs", worstInverted);
}

TEST(MONAITransforms, KeepLargestConnectedComponentMatchesReference)
{
  MONAI_SAMPLES(s, false);
  std::map<std::string, at::Tensor> results;
  for (const auto & c : s->manifest.at("lcc"))
  {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const at::Tensor out = MONAIKeepLargestConnectedComponent(
      Load(*s, c.at("input")), c.at("applied_labels").get<std::vector<int64_t>>(), c.at("connectivity"));
    EXPECT_EQ(out.scalar_type(), at::kFloat);
    EXPECT_EQ(MaxAbsDifference(out, Load(*s, c.at("expected"))), 0.0);
    results[name] = out;
  }
  // The diagonal contacts: faces keep the separate 12-voxel block, edges join two 8-voxel blocks,
  // corners add one more voxel.
  ASSERT_EQ(results.count("diagonal_c1_all") + results.count("diagonal_c2_all") + results.count("diagonal_c3_all"), 3u);
  EXPECT_EQ(results["diagonal_c1_all"].sum().item<double>(), 12.0);
  EXPECT_EQ(results["diagonal_c2_all"].sum().item<double>(), 16.0);
  EXPECT_EQ(results["diagonal_c3_all"].sum().item<double>(), 17.0);
  EXPECT_THROW(MONAIKeepLargestConnectedComponent(at::zeros({ 2, 2, 2 }), {}, 4), std::invalid_argument);
}

TEST(MONAITransforms, KeepLargestConnectedComponentTies)
{
  // Two components of 2 voxels: the one whose first voxel comes first in [I, J, K] order stays.
  at::Tensor labels = at::zeros({ 5, 3, 3 }, at::kLong);
  labels[3][0][0] = 2;
  labels[4][0][0] = 2;
  labels[0][2][2] = 2;
  labels[0][2][1] = 2;
  labels[2][2][2] = 7; // a label not applied is left alone
  labels[0][0][0] = 7;
  const at::Tensor out = MONAIKeepLargestConnectedComponent(labels, { 2 }, 1);
  EXPECT_EQ(out.scalar_type(), at::kLong);
  EXPECT_EQ(out[0][2][2].item<int64_t>(), 2);
  EXPECT_EQ(out[0][2][1].item<int64_t>(), 2);
  EXPECT_EQ(out[3][0][0].item<int64_t>(), 0);
  EXPECT_EQ(out[4][0][0].item<int64_t>(), 0);
  EXPECT_EQ((out == 7).sum().item<int64_t>(), 2);
  // All labels: 7's two single voxels tie as well; (0, 0, 0) comes first.
  const at::Tensor all = MONAIKeepLargestConnectedComponent(labels, {}, 3);
  EXPECT_EQ(all[0][0][0].item<int64_t>(), 7);
  EXPECT_EQ(all[2][2][2].item<int64_t>(), 0);
}

TEST(MONAITransforms, LabelsToImageRoundTrip)
{
  for (const char * name : kDirections)
  {
    SCOPED_TRACE(name);
    const auto       image = Phantom(name);
    const MONAIImage m = MONAIImageFromChannels({ image });
    const auto       labels = MONAILabelsToImage(m.data[0].remainder(7), m.affine);
    for (unsigned int i = 0; i < 3; ++i)
    {
      EXPECT_EQ(labels->GetLargestPossibleRegion().GetSize()[i], image->GetLargestPossibleRegion().GetSize()[i]);
      EXPECT_NEAR(labels->GetSpacing()[i], image->GetSpacing()[i], 1e-12);
      EXPECT_NEAR(labels->GetOrigin()[i], image->GetOrigin()[i], 1e-12);
      for (unsigned int j = 0; j < 3; ++j)
      {
        EXPECT_NEAR(labels->GetDirection()(i, j), image->GetDirection()(i, j), 1e-12);
      }
    }
    const LabelImage3::IndexType index{ { 4, 3, 2 } };
    EXPECT_EQ(labels->GetPixel(index), 432 % 7);
    // After Orientation to RAS, a voxel keeps its world position.
    const MONAIImage ras = MONAIOrientation(m, "RAS", nullptr);
    const auto       reoriented = MONAILabelsToImage(ras.data[0], ras.affine);
    const at::Tensor where = (ras.data[0] == 432.0f).nonzero();
    ASSERT_EQ(where.size(0), 1);
    const LabelImage3::IndexType moved{ { where[0][0].item<long>(), where[0][1].item<long>(),
                                          where[0][2].item<long>() } };
    EXPECT_EQ(reoriented->GetPixel(moved), 432);
    LabelImage3::PointType a, b;
    image->TransformIndexToPhysicalPoint(index, a);
    reoriented->TransformIndexToPhysicalPoint(moved, b);
    EXPECT_LT(a.EuclideanDistanceTo(b), 1e-9);
    const auto d = reoriented->GetDirection();
    EXPECT_GT(-d(0, 0), 0.9); // RAS in ITK's LPS terms: diag(-1, -1, 1) up to obliquity
    EXPECT_GT(-d(1, 1), 0.9);
    EXPECT_GT(d(2, 2), 0.9);
  }
  test::ExpectInputError(
    [] {
      MONAILabelsToImage(at::full({ 2, 2, 2 }, -1.0), at::eye(4, at::kDouble));
    },
    "labels", "integers");
  test::ExpectInputError(
    [] {
      MONAILabelsToImage(at::full({ 2, 2, 2 }, 1.5), at::eye(4, at::kDouble));
    },
    "labels", "integers");
}

TEST(MONAITransforms, MatchesUpstreamMONAI)
{
  // MONAI 1.5's own transforms (../shared/reference/monai-upstream.tar.gz) on the same cases: the
  // data bit for bit (the same ATen kernels on the same grids), the affines to the last bits.
  MONAI_SAMPLES(s, true);
  const json &                  m = s->manifest;
  std::map<std::string, double> worst;
  const auto check = [&](const std::string & what, const json & c, const MONAIImage & out, double tolerance) {
    const double d = MaxAbsDifference(out.data, Load(*s, c.at("monai")));
    EXPECT_LE(d, tolerance) << what;
    worst[what] = std::max(worst[what], d);
    if (c.contains("monai_affine"))
    {
      const double a = MaxAbsDifference(out.affine, Load(*s, c.at("monai_affine")));
      EXPECT_LT(a, 1e-12) << what << " affine";
      worst[what + " affine"] = std::max(worst[what + " affine"], a);
    }
  };
  const at::Tensor none;
  for (const auto & c : m.at("orientation"))
  {
    check("orientation", c, MONAIOrientation(InputImage(*s, c), c.at("axcodes").get<std::string>(), nullptr), 0.0);
  }
  for (const auto & c : m.at("spacing"))
  {
    check("spacing", c,
          MONAISpacing(InputImage(*s, c), c.at("pixdim").get<std::vector<double>>(), c.at("mode").get<std::string>(),
                       c.at("padding_mode").get<std::string>(), nullptr),
          0.0);
  }
  for (const auto & c : m.at("resample"))
  {
    const auto shape = c.at("out_shape").get<std::vector<int64_t>>();
    check("resample", c,
          MONAIImage{ MONAIResample(Load(*s, c.at("input")), Load(*s, c.at("xform")), { shape[0], shape[1], shape[2] },
                                    c.at("mode").get<std::string>(), c.at("padding_mode").get<std::string>()),
                      none },
          0.0);
  }
  const at::Tensor input = Load(*s, m.at("intensity").at("input"));
  for (const auto & c : m.at("intensity").at("scale"))
  {
    MONAIImage image{ input.clone(), at::eye(4, at::kDouble) };
    const auto optional = [](const json & v) {
      return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
    };
    MONAIScaleIntensityRange(image, c.at("a_min"), c.at("a_max"), optional(c.at("b_min")), optional(c.at("b_max")),
                             c.at("clip"));
    check("scale intensity range", c, image, 0.0);
  }
  for (const auto & c : m.at("intensity").at("normalize"))
  {
    MONAIImage image{ input.clone(), at::eye(4, at::kDouble) };
    MONAINormalizeIntensity(image, c.at("nonzero"), c.at("channel_wise"));
    check("normalize intensity", c, image, 0.0);
  }
  for (const auto & c : m.at("crop"))
  {
    const auto margin = c.at("margin").get<std::vector<int64_t>>();
    const auto k = c.at("k_divisible").get<std::vector<int64_t>>();
    check("crop foreground", c,
          MONAICropForeground(InputImage(*s, c), { margin[0], margin[1], margin[2] }, c.at("allow_smaller"),
                              { k[0], k[1], k[2] }, nullptr),
          0.0);
  }
  for (const auto & c : m.at("invert"))
  {
    std::vector<MONAIAppliedOperation> ops(3);
    MONAIImage x = MONAIOrientation(InputImage(*s, c), c.at("axcodes").get<std::string>(), &ops[0]);
    x = MONAISpacing(x, c.at("pixdim").get<std::vector<double>>(), "bilinear", "border", &ops[1]);
    const auto margin = c.at("margin").get<std::vector<int64_t>>();
    x = MONAICropForeground(x, { margin[0], margin[1], margin[2] }, false, { 1, 1, 1 }, &ops[2]);
    EXPECT_EQ(MaxAbsDifference(x.data, Load(*s, c.at("monai_preprocessed"))), 0.0);
    check("invert", c, MONAIInvert(MONAIImage{ Load(*s, c.at("prediction")), x.affine }, ops, c.at("nearest_interp")),
          1e-6);
  }
  for (const auto & c : m.at("lcc"))
  {
    const at::Tensor out = MONAIKeepLargestConnectedComponent(
      Load(*s, c.at("input")), c.at("applied_labels").get<std::vector<int64_t>>(), c.at("connectivity"));
    check("keep largest connected component", c, MONAIImage{ out, none }, 0.0);
  }
  for (const auto & [what, value] : worst)
  {
    Report(what + " vs MONAI, max abs", value);
  }
}
