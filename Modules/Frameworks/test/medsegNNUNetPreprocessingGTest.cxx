#include "medsegExpectInputError.h"
#include "medsegNNUNetPreprocessing.h"
#include "medsegNNUNetResampling.h"
#include "medsegNNUNetSamples.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include <gtest/gtest.h>

using namespace medseg;


namespace
{
std::optional<NNUNetIntensityProperties>
Properties(const nlohmann::json & j)
{
  if (j.is_null())
  {
    return std::nullopt;
  }
  NNUNetIntensityProperties p;
  p.mean = j.at("mean");
  p.std = j.at("std");
  p.percentile_00_5 = j.at("percentile_00_5");
  p.percentile_99_5 = j.at("percentile_99_5");
  return p;
}

void
CheckCropSamples(const test::NNUNetSamples & samples)
{
  ASSERT_GE(samples.manifest.at("crop").size(), 4u);
  for (const auto & c : samples.manifest.at("crop"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const at::Tensor data = test::LoadNNUNetSampleArray(samples, c.at("input"));
    const NNUNetCrop crop = ComputeNNUNetCrop(data);
    const auto       bbox = c.at("bbox").get<std::vector<std::vector<int64_t>>>();
    for (int a = 0; a < 3; ++a)
    {
      EXPECT_EQ(crop.start[a], bbox[a][0]) << "axis " << a;
      EXPECT_EQ(crop.end[a], bbox[a][1]) << "axis " << a;
    }
    const at::Tensor mask = test::LoadNNUNetSampleArray(samples, c.at("mask"));
    ASSERT_EQ(crop.mask.sizes(), mask.sizes());
    EXPECT_EQ(crop.mask.scalar_type(), at::kBool);
    EXPECT_EQ(crop.mask.ne(mask).sum().item<int64_t>(), 0);
    EXPECT_EQ(ApplyNNUNetCrop(data, crop).sizes().slice(1), mask.sizes());
  }
}

/** Returns the worst max |difference| over all normalisation samples. */
double
CheckNormalizationSamples(const test::NNUNetSamples & samples)
{
  double worst = 0.0;
  EXPECT_GE(samples.manifest.at("normalization").size(), 9u);
  for (const auto & c : samples.manifest.at("normalization"))
  {
    SCOPED_TRACE(c.at("name").get<std::string>());
    at::Tensor       image = test::LoadNNUNetSampleArray(samples, c.at("input"));
    const at::Tensor mask = test::LoadNNUNetSampleArray(samples, c.at("mask"));
    const at::Tensor expected = test::LoadNNUNetSampleArray(samples, c.at("expected"));
    const auto       scheme = ParseNNUNetNormalization(c.at("scheme"), "plans.json");
    NormalizeNNUNetChannel(image, scheme, c.at("use_mask_for_norm"), mask, Properties(c.at("properties")));
    if (image.sizes() != expected.sizes())
    {
      ADD_FAILURE() << "shape " << image.sizes() << " instead of " << expected.sizes();
      continue;
    }
    EXPECT_EQ(image.scalar_type(), at::kFloat);
    const double difference = (image - expected).abs().max().item<double>();
    const double scale = std::max(1.0, expected.abs().max().item<double>());
    // ZScore's statistics are accumulated in double here and in float32 (pairwise) by numpy; the
    // elementwise float32 steps themselves agree exactly.
    const bool zscore = scheme == NNUNetNormalization::ZScore;
    EXPECT_LE(difference, (zscore ? 1e-5 : 1e-7) * scale);
    worst = std::max(worst, difference / scale);
  }
  return worst;
}

at::Tensor
Box(at::Tensor volume, std::array<int64_t, 3> start, std::array<int64_t, 3> end, float value)
{
  volume.slice(0, start[0], end[0]).slice(1, start[1], end[1]).slice(2, start[2], end[2]).fill_(value);
  return volume;
}
} // namespace

TEST(NNUNetPreprocessing, CropMatchesScipy)
{
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(false, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  CheckCropSamples(*samples);
}

TEST(NNUNetPreprocessing, CropMatchesUpstreamNNUNet)
{
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(true, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  CheckCropSamples(*samples);
}

TEST(NNUNetPreprocessing, NormalizationMatchesNumpy)
{
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(false, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  RecordProperty("worst_relative_difference", test::FormatFigure(CheckNormalizationSamples(*samples)));
}

TEST(NNUNetPreprocessing, NormalizationMatchesUpstreamNNUNet)
{
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(true, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  RecordProperty("worst_relative_difference", test::FormatFigure(CheckNormalizationSamples(*samples)));
}

TEST(NNUNetPreprocessing, RunCaseOrderMatchesUpstreamPreprocessor)
{
  // DefaultPreprocessor.run_case_npy: transpose, crop, new shape, normalise, resample.
  std::string  reason;
  const auto * samples = test::GetNNUNetSamples(true, reason);
  if (!samples)
  {
    GTEST_SKIP() << reason;
  }
  const auto &                p = samples->manifest.at("pipeline");
  const at::Tensor            input = test::LoadNNUNetSampleArray(*samples, p.at("input"));
  const at::Tensor            expected = test::LoadNNUNetSampleArray(*samples, p.at("expected"));
  const auto                  t = p.at("transpose_forward").get<std::vector<int64_t>>();
  const auto                  spacing = p.at("spacing").get<std::vector<double>>();
  const auto                  targetList = p.at("target_spacing").get<std::vector<double>>();
  const at::Tensor            transposed = input.permute({ 0, 1 + t[0], 1 + t[1], 1 + t[2] });
  const std::array<double, 3> original{ spacing[t[0]], spacing[t[1]], spacing[t[2]] };
  const std::array<double, 3> target{ targetList[0], targetList[1], targetList[2] };

  const NNUNetCrop crop = ComputeNNUNetCrop(transposed);
  const auto       bbox = p.at("bbox").get<std::vector<std::vector<int64_t>>>();
  for (int a = 0; a < 3; ++a)
  {
    EXPECT_EQ(crop.start[a], bbox[a][0]);
    EXPECT_EQ(crop.end[a], bbox[a][1]);
  }
  const at::Tensor cropped = ApplyNNUNetCrop(transposed, crop).contiguous();
  const auto newShape = ComputeNNUNetNewShape({ cropped.size(1), cropped.size(2), cropped.size(3) }, original, target);
  for (int64_t c = 0; c < cropped.size(0); ++c)
  {
    at::Tensor channel = cropped[c];
    NormalizeNNUNetChannel(channel, ParseNNUNetNormalization(p.at("schemes")[c], "plans.json"),
                           p.at("use_mask_for_norm")[c], crop.mask, Properties(p.at("properties")[c]));
  }
  const at::Tensor result = ResampleLikeNNUNet(cropped, newShape, original, target, 3, 0, std::nullopt);
  ASSERT_EQ(result.sizes(), expected.sizes());
  const double range = (expected.max() - expected.min()).item<double>();
  const double difference = (result - expected).abs().max().item<double>() / range;
  EXPECT_LT(difference, 1e-5);
  RecordProperty("relative_difference", test::FormatFigure(difference));
}

TEST(NNUNetPreprocessing, CropFillsEnclosedHolesOnly)
{
  at::Tensor data = at::zeros({ 2, 9, 10, 11 });
  Box(data[0], { 2, 2, 2 }, { 7, 8, 9 }, 4.0f);
  Box(data[0], { 3, 3, 3 }, { 6, 7, 8 }, 0.0f);  // enclosed cavity: filled
  Box(data[0], { 2, 2, 5 }, { 3, 3, 6 }, 0.0f);  // a dent open to the outside: stays out
  Box(data[1], { 1, 6, 1 }, { 2, 7, 2 }, -1.0f); // the other channel widens the box
  const NNUNetCrop crop = ComputeNNUNetCrop(data);
  EXPECT_EQ(crop.start, (std::array<int64_t, 3>{ 1, 2, 1 }));
  EXPECT_EQ(crop.end, (std::array<int64_t, 3>{ 7, 8, 9 }));
  ASSERT_EQ(crop.mask.sizes(), (std::vector<int64_t>{ 6, 6, 8 }));
  // mask index = array index - start
  EXPECT_TRUE(crop.mask[4 - 1][5 - 2][5 - 1].item<bool>());  // inside the cavity
  EXPECT_FALSE(crop.mask[2 - 1][2 - 2][5 - 1].item<bool>()); // the dent
  EXPECT_TRUE(crop.mask[1 - 1][6 - 2][1 - 1].item<bool>());  // channel 1's voxel
  EXPECT_FALSE(crop.mask[1 - 1][2 - 2][2 - 1].item<bool>()); // zero in both channels
  EXPECT_EQ(crop.mask.sum().item<int64_t>(), 5 * 6 * 7 - 1 + 1);
}

TEST(NNUNetPreprocessing, CropOfAllZeroImageKeepsEverything)
{
  const NNUNetCrop crop = ComputeNNUNetCrop(at::zeros({ 1, 3, 4, 5 }));
  EXPECT_EQ(crop.start, (std::array<int64_t, 3>{ 0, 0, 0 }));
  EXPECT_EQ(crop.end, (std::array<int64_t, 3>{ 3, 4, 5 }));
  EXPECT_EQ(crop.mask.sum().item<int64_t>(), 0);
  EXPECT_THROW(ComputeNNUNetCrop(at::zeros({ 3, 4, 5 })), std::invalid_argument);
}

TEST(NNUNetPreprocessing, ParsesSchemeNames)
{
  for (const auto scheme : { NNUNetNormalization::ZScore, NNUNetNormalization::CT, NNUNetNormalization::None,
                             NNUNetNormalization::RescaleTo01, NNUNetNormalization::RGBTo01 })
  {
    EXPECT_EQ(ParseNNUNetNormalization(NNUNetNormalizationName(scheme), "plans.json"), scheme);
  }
  test::ExpectInputError([] { ParseNNUNetNormalization("ZScore", "/m/plans.json"); }, "/m/plans.json",
                         "unknown normalization scheme 'ZScore' (supported: ZScoreNormalization, CTNormalization, "
                         "NoNormalization, RescaleTo01Normalization, RGBTo01Normalization)");
}

TEST(NNUNetPreprocessing, NormalizationProperties)
{
  // ZScore over the whole channel: mean 0, population std 1.
  at::Tensor image = at::arange(60, at::kFloat).reshape({ 3, 4, 5 }) * 3.0f + 7.0f;
  NormalizeNNUNetChannel(image, NNUNetNormalization::ZScore, false, at::Tensor(), std::nullopt);
  EXPECT_NEAR(image.mean().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(image.std(false).item<double>(), 1.0, 1e-5);
  // With the mask: statistics and changes inside only; outside keeps its values.
  at::Tensor masked = at::arange(60, at::kFloat).reshape({ 3, 4, 5 });
  at::Tensor mask = masked >= 30.0f;
  NormalizeNNUNetChannel(masked, NNUNetNormalization::ZScore, true, mask, std::nullopt);
  EXPECT_EQ(masked[0][0][3].item<float>(), 3.0f);
  EXPECT_NEAR(masked.masked_select(mask).mean().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(masked.masked_select(mask).std(false).item<double>(), 1.0, 1e-5);
  EXPECT_THROW(NormalizeNNUNetChannel(masked, NNUNetNormalization::ZScore, true, at::Tensor(), std::nullopt),
               std::invalid_argument);
  // A constant channel divides by the 1e-8 floor, after subtracting its mean: all zero.
  at::Tensor constant = at::full({ 2, 2, 2 }, 5.0f);
  NormalizeNNUNetChannel(constant, NNUNetNormalization::ZScore, false, at::Tensor(), std::nullopt);
  EXPECT_EQ(constant.abs().max().item<float>(), 0.0f);
  // CT: clip, then shift and scale by the dataset's properties; a double channel becomes float.
  at::Tensor ct = at::tensor({ -2000.0, 0.0, 50.0, 4000.0 }, at::kDouble).reshape({ 1, 2, 2 });
  NormalizeNNUNetChannel(ct, NNUNetNormalization::CT, false, at::Tensor(),
                         NNUNetIntensityProperties{ 100.0, 50.0, -1000.0, 3000.0 });
  EXPECT_EQ(ct.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(ct.flatten(), at::tensor({ -22.0f, -2.0f, -1.0f, 58.0f })));
  EXPECT_THROW(NormalizeNNUNetChannel(ct, NNUNetNormalization::CT, false, at::Tensor(), std::nullopt),
               std::invalid_argument);
  // RescaleTo01 and RGBTo01.
  at::Tensor rescale = at::tensor({ -4.0f, 0.0f, 4.0f, 12.0f }).reshape({ 1, 1, 4 });
  NormalizeNNUNetChannel(rescale, NNUNetNormalization::RescaleTo01, true, at::Tensor(), std::nullopt);
  EXPECT_TRUE(at::equal(rescale.flatten(), at::tensor({ 0.0f, 0.25f, 0.5f, 1.0f })));
  at::Tensor rgb = at::tensor({ 0.0f, 51.0f, 255.0f }).reshape({ 1, 1, 3 });
  NormalizeNNUNetChannel(rgb, NNUNetNormalization::RGBTo01, false, at::Tensor(), std::nullopt);
  EXPECT_TRUE(at::allclose(rgb.flatten(), at::tensor({ 0.0f, 0.2f, 1.0f })));
  at::Tensor notRgb = at::tensor({ 0.0f, 256.0f }).reshape({ 1, 1, 2 });
  test::ExpectInputError(
    [&] { NormalizeNNUNetChannel(notRgb, NNUNetNormalization::RGBTo01, false, at::Tensor(), std::nullopt); },
    "RGBTo01Normalization", "values in [0, 255]");
  // A non-contiguous view is normalised in place.
  at::Tensor volume = at::arange(24, at::kFloat).reshape({ 2, 3, 4 });
  at::Tensor view = volume.permute({ 2, 1, 0 });
  NormalizeNNUNetChannel(view, NNUNetNormalization::RescaleTo01, false, at::Tensor(), std::nullopt);
  EXPECT_EQ(volume[1][2][3].item<float>(), 1.0f);
  EXPECT_EQ(volume[0][0][0].item<float>(), 0.0f);
}
