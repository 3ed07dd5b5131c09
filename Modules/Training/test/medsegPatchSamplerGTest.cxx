#include "medsegError.h"
#include "medsegPatchSampler.h"
#include "medsegTrainingConfig.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <tuple>

namespace
{
using namespace medseg;

/** 9 x 9 x 9 voxels, value x + 10 y + 100 z (asymmetric along every axis); label: x > 5. */
PreprocessedCase
AsymmetricPhantom()
{
  const at::Tensor z = at::arange(9, at::kFloat).reshape({ 9, 1, 1 });
  const at::Tensor y = at::arange(9, at::kFloat).reshape({ 1, 9, 1 });
  const at::Tensor x = at::arange(9, at::kFloat).reshape({ 1, 1, 9 });
  const at::Tensor image = (x + 10 * y + 100 * z).expand({ 9, 9, 9 }).contiguous();
  const at::Tensor label = (x > 5).expand({ 9, 9, 9 }).to(at::kLong).contiguous();
  return MakePreprocessedCase("phantom", image, label, { { 1.0, 1.0, 1.0 } }, 2);
}

/** The asymmetric phantom + 5: every voxel >= 5, so 0 (or 5, the case's minimum) marks padding. */
PreprocessedCase
ShiftedPhantom()
{
  const PreprocessedCase base = AsymmetricPhantom();
  return MakePreprocessedCase("phantom", base.image[0] + 5.0, base.label, { { 1.0, 1.0, 1.0 } }, 2);
}

/** Augmentation on, but no flip, rotation, zoom or intensity change: patches are cut as they are
 * unless a test turns something on. */
AugmentationSettings
NoTransforms()
{
  AugmentationSettings a;
  a.flipProbability = { { 0, 0, 0 } };
  a.rotationProbability = a.scaleProbability = a.intensityScaleProbability = a.intensityShiftProbability = 0.0;
  a.gammaProbability = a.noiseProbability = a.biasFieldProbability = a.lowResolutionProbability = 0.0;
  return a;
}

TEST(PatchSampler, IdentityFlipAndRotationAreExact)
{
  const PreprocessedCase c = AsymmetricPhantom();
  PatchTransform         t;
  t.centre = { { 4, 4, 4 } };
  const std::array<int64_t, 3> p{ { 5, 5, 5 } };
  const auto [plain, plainLabel] = ExtractPatch(c, t, p);
  EXPECT_TRUE(at::allclose(plain[0], c.image[0].slice(0, 2, 7).slice(1, 2, 7).slice(2, 2, 7), 1e-4, 1e-4));
  EXPECT_TRUE(at::equal(plainLabel, c.label.slice(0, 2, 7).slice(1, 2, 7).slice(2, 2, 7)));

  for (int axis = 0; axis < 3; ++axis)
  {
    PatchTransform f = t;
    f.flip[axis] = true;
    const auto [flipped, flippedLabel] = ExtractPatch(c, f, p);
    EXPECT_TRUE(at::allclose(flipped, plain.flip({ 3 - axis }), 1e-4, 1e-4)) << "axis " << axis;
    EXPECT_TRUE(at::equal(flippedLabel, plainLabel.flip({ 2 - axis })));
  }

  // 90 degrees about z: output offset (ox, oy) reads input offset (-oy, ox).
  PatchTransform r = t;
  r.matrix = RotationScaleMatrix({ { 0, 0, 90 } }, 1.0);
  const auto [rotated, rotatedLabel] = ExtractPatch(c, r, p);
  for (int64_t k = 0; k < 5; ++k)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t i = 0; i < 5; ++i)
      {
        const double expected = (4 - (j - 2)) + 10 * (4 + (i - 2)) + 100 * (k + 2);
        EXPECT_NEAR(rotated[0][k][j][i].item<double>(), expected, 1e-3);
        EXPECT_EQ(rotatedLabel[k][j][i].item<int64_t>(), (4 - (j - 2)) > 5 ? 1 : 0);
      }
  // Scaling by 2 reads every second voxel.
  PatchTransform s = t;
  s.matrix = RotationScaleMatrix({ { 0, 0, 0 } }, 2.0);
  const auto [scaled, scaledLabel] = ExtractPatch(c, s, { { 5, 5, 5 } });
  EXPECT_NEAR(scaled[0][4][4][4].item<double>(), 8 + 80 + 800, 1e-3);
  EXPECT_NEAR(scaled[0][0][0][0].item<double>(), 0, 1e-3);
}

TEST(PatchSampler, SeededAndDeterministic)
{
  const PreprocessedCase c = AsymmetricPhantom();
  AugmentationSettings   a;
  a.elasticProbability = 0.5;
  a.noiseProbability = 0.5;
  const PatchSampler sampler({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, a, 7);
  const auto         a1 = sampler.Sample(5, 3);
  const auto         a2 = sampler.Sample(5, 3);
  const auto         b = sampler.Sample(6, 3);
  EXPECT_EQ(a1.images.sizes(), (std::vector<int64_t>{ 3, 1, 6, 6, 6 }));
  EXPECT_EQ(a1.labels.sizes(), (std::vector<int64_t>{ 3, 6, 6, 6 }));
  EXPECT_TRUE(at::equal(a1.images, a2.images));
  EXPECT_TRUE(at::equal(a1.labels, a2.labels));
  EXPECT_FALSE(at::equal(a1.images, b.images));
  const PatchSampler other({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, a, 8);
  EXPECT_FALSE(at::equal(other.Sample(5, 3).images, a1.images));

  // 2D: patches lose the slice axis; in-plane augmentation only.
  const PatchSampler flat({ &c }, { { 6, 6, 6 } }, 2, 2, 0.5, a, 7);
  const auto         s = flat.Sample(1, 2);
  EXPECT_EQ(s.images.sizes(), (std::vector<int64_t>{ 2, 1, 6, 6 }));
  EXPECT_EQ(s.labels.sizes(), (std::vector<int64_t>{ 2, 6, 6 }));
}

TEST(PatchSampler, ForegroundRatio)
{
  // 32^3 background with a 2^3 foreground cube in a corner: uniform patches rarely hit it.
  at::Tensor label = at::zeros({ 32, 32, 32 }, at::kLong);
  label.slice(0, 3, 5).slice(1, 3, 5).slice(2, 3, 5).fill_(1);
  const PreprocessedCase c = MakePreprocessedCase("c", at::randn({ 32, 32, 32 }), label, { { 1, 1, 1 } }, 2);
  AugmentationSettings   off;
  off.enabled = false;
  auto centreIsForeground = [&](double ratio) {
    const PatchSampler sampler({ &c }, { { 8, 8, 8 } }, 3, 2, ratio, off, 3);
    int                flagged = 0, hits = 0;
    const int          n = 200;
    for (int step = 1; step <= n; ++step)
    {
      const auto b = sampler.Sample(step, 1);
      flagged += b.foregroundCentred[0] ? 1 : 0;
      hits += b.labels.sum().item<int64_t>() > 0 ? 1 : 0;
    }
    return std::pair<double, double>{ flagged / double(n), hits / double(n) };
  };
  const auto [f1, h1] = centreIsForeground(1.0);
  EXPECT_EQ(f1, 1.0);
  EXPECT_EQ(h1, 1.0);
  const auto [f5, h5] = centreIsForeground(0.5);
  EXPECT_NEAR(f5, 0.5, 0.1);
  EXPECT_GE(h5, f5);
  EXPECT_LT(h5, 0.7);
  const auto [f0, h0] = centreIsForeground(0.0);
  EXPECT_EQ(f0, 0.0);
  EXPECT_LT(h0, 0.15);
}

TEST(PatchSampler, IntensityAugmentationsStayFiniteAndSeeded)
{
  AugmentationSettings a;
  a.lowResolutionProbability = a.biasFieldProbability = a.gammaProbability = 1.0;
  a.intensityScaleProbability = a.intensityShiftProbability = a.noiseProbability = 1.0;
  const at::Tensor patch = at::randn({ 1, 8, 8, 8 });
  auto run = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    at::Generator   g = at::make_generator<at::CPUGeneratorImpl>(seed);
    return AugmentIntensities(patch.clone(), a, rng, g);
  };
  const at::Tensor x = run(1);
  EXPECT_TRUE(at::isfinite(x).all().item<bool>());
  EXPECT_TRUE(at::equal(x, run(1)));
  EXPECT_FALSE(at::equal(x, run(2)));
  EXPECT_FALSE(at::allclose(x, patch));
}

} // namespace

TEST(PatchSampler, TheStreamHoldsConstantAndFieldOfViewCutPatchesAsConfigured)
{
  // Issue 16: a window that sees only zero padding is constant after normalization; the sample
  // stream must contain such patches (counted here) so that a model learns they are background.
  const PreprocessedCase c = AsymmetricPhantom();
  AugmentationSettings   a = NoTransforms();
  a.constantPatchProbability = 0.25;
  a.fieldOfViewProbability = 0.5;
  const PatchSampler sampler({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, a, 11);
  int constant = 0, cut = 0, plain = 0;
  const int samples = 400;
  for (int step = 0; step < samples / 4; ++step)
  {
    const TrainingBatch batch = sampler.Sample(step, 4);
    for (int64_t i = 0; i < 4; ++i)
    {
      const at::Tensor image = batch.images[i][0];
      const at::Tensor label = batch.labels[i];
      const at::Tensor atMin = image == image.min();
      if (image.max().item<float>() == image.min().item<float>())
      {
        ++constant;
        EXPECT_EQ(label.sum().item<int64_t>(), 0) << "a constant patch must be all background";
      }
      else if (atMin.sum().item<int64_t>() >= 36) // a cut leaves at least one 6 x 6 plane at the minimum
      {
        ++cut;
        EXPECT_EQ(label.masked_select(atMin).sum().item<int64_t>(), 0) << "the cut-off part must be background";
      }
      else
      {
        ++plain;
      }
    }
  }
  std::cout << "of " << samples << " patches: " << constant << " constant, " << cut << " cut, " << plain << " plain\n";
  // Expected: 100 constant, 150 cut, 150 plain of 400 (binomial sd ~9 and ~10).
  EXPECT_GT(constant, 60);
  EXPECT_LT(constant, 140);
  EXPECT_GT(cut, 100);
  EXPECT_LT(cut, 200);
  EXPECT_GT(plain, 100);

  // Off (the default): no patch of this phantom (values x + 10 y + 100 z) is constant.
  AugmentationSettings off = a;
  off.constantPatchProbability = off.fieldOfViewProbability = 0.0;
  const PatchSampler plainSampler({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, off, 11);
  for (int step = 0; step < 25; ++step)
  {
    const at::Tensor images = plainSampler.Sample(step, 4).images;
    for (int64_t i = 0; i < 4; ++i)
      EXPECT_GT(images[i].max().item<float>(), images[i].min().item<float>());
  }
}

TEST(PatchSampler, PaddingIsWhatZeroPaddingBecomesAtInference)
{
  // With `@nonzero` a zero voxel stays 0 through the normalization, so at inference zero padding
  // reaches the model as 0, not as the channel's minimum: the constant and the cut-off part of the
  // training patches must be 0 too; with `@nonzero-statistics` zero maps to the case's minimum.
  // The config sets this from the channel's normalization.
  nlohmann::json j = nlohmann::json::parse(R"({
    "architecture": {"plugin": "unet", "hyper_parameters": {"features": [4, 8]}},
    "input": {"channels": [{"name": "T1", "normalization": "zscore@nonzero"}]},
    "labels": [{"value": 0, "name": "background"}, {"value": 1, "name": "x"}],
    "patch_size": [16, 16, 16]
  })");
  using Padding = AugmentationSettings::Padding;
  EXPECT_EQ(TrainingConfig::FromJson(j, "config.json").augmentation.padding, Padding::Zero);
  j["input"]["channels"][0]["normalization"] = "zscore";
  EXPECT_EQ(TrainingConfig::FromJson(j, "config.json").augmentation.padding, Padding::PatchMinimum);
  j["input"]["channels"][0]["normalization"] = "percentile:1,99@nonzero-statistics";
  EXPECT_EQ(TrainingConfig::FromJson(j, "config.json").augmentation.padding, Padding::CaseMinimum);

  const PreprocessedCase c = ShiftedPhantom();
  AugmentationSettings   a = NoTransforms();
  a.constantPatchProbability = 0.3;
  a.fieldOfViewProbability = 0.5;
  a.padding = Padding::Zero;
  const PatchSampler sampler({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, a, 5);
  int constant = 0, cut = 0;
  for (int step = 0; step < 50; ++step)
  {
    const TrainingBatch batch = sampler.Sample(step, 4);
    for (int64_t i = 0; i < 4; ++i)
    {
      const at::Tensor image = batch.images[i][0];
      const at::Tensor zero = image == 0;
      const int64_t    zeros = zero.sum().item<int64_t>();
      EXPECT_GE(image.min().item<float>(), 0.0f) << "only 0 may lie below the phantom's values (>= 5)";
      if (zeros == image.numel())
        ++constant;
      else if (zeros > 0)
      {
        ++cut;
        EXPECT_GE(zeros, 36) << "a cut sets at least one 6 x 6 plane to 0";
        EXPECT_EQ(batch.labels[i].masked_select(zero).sum().item<int64_t>(), 0);
      }
    }
  }
  EXPECT_GT(constant, 30); // expected 60 of 200
  EXPECT_GT(cut, 40);      // expected 70

  // `@nonzero-statistics`: the case's minimum (5 here), also in patches whose own minimum is higher.
  a.padding = Padding::CaseMinimum;
  a.constantPatchProbability = 0.0;
  a.fieldOfViewProbability = 1.0;
  const PatchSampler caseMinimum({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, a, 5);
  int higher = 0;
  for (int step = 0; step < 25; ++step)
  {
    const at::Tensor images = caseMinimum.Sample(step, 4).images;
    for (int64_t i = 0; i < 4; ++i)
    {
      const at::Tensor atFive = images[i][0] == 5.0f;
      EXPECT_GE(atFive.sum().item<int64_t>(), 36) << "the cut-off part is the case's minimum";
      const at::Tensor rest = images[i][0].masked_select(images[i][0] != 5.0f);
      higher += rest.numel() > 0 && rest.min().item<float>() > 6.0f;
    }
  }
  EXPECT_GT(higher, 10) << "patches away from the phantom's corner have a minimum above the case's";
}

TEST(PatchSampler, BeyondTheCaseAPatchSeesWhatZeroPaddingBecomes)
{
  // Zoomed out, a patch reaches beyond the case's field of view. With a `@nonzero...` normalization
  // it sees there what zero padding becomes at inference (the case's minimum here) and background,
  // not the case's border voxels repeated.
  const PreprocessedCase c = ShiftedPhantom();
  AugmentationSettings   a = NoTransforms();
  a.scaleProbability = 1.0;
  a.scaleRange = { { 2.5, 3.0 } }; // a 6-voxel patch spans 15-18 voxels of the 9-voxel case
  for (const auto padding : { AugmentationSettings::Padding::CaseMinimum, AugmentationSettings::Padding::PatchMinimum })
  {
    a.padding = padding;
    const PatchSampler sampler({ &c }, { { 6, 6, 6 } }, 3, 2, 0.5, a, 3);
    int64_t            atMinimum = 0, foregroundThere = 0;
    for (int step = 0; step < 10; ++step)
    {
      const TrainingBatch batch = sampler.Sample(step, 2);
      const at::Tensor    minimum = batch.images.select(1, 0) == 5.0f; // [N, z, y, x]
      atMinimum += minimum.sum().item<int64_t>();
      foregroundThere += batch.labels.masked_select(minimum).sum().item<int64_t>();
    }
    if (padding == AugmentationSettings::Padding::CaseMinimum)
    {
      EXPECT_GT(atMinimum, 2000) << "most of these patches lies beyond the case"; // of 4320 voxels
      EXPECT_EQ(foregroundThere, 0) << "beyond the case is background";
    }
    else
    {
      EXPECT_LT(atMinimum, 500) << "the border repeated: only the corner voxel's value is 5";
    }
  }
}

TEST(PatchSampler, BeyondCasePatchesReachPastTheCaseOnEverySide)
{
  // Without the crop, the windows at the edge of a zero-filled field of view hold mostly padding.
  // beyond_case puts such patches in the stream: a background patch may hang past the case by up
  // to max_fraction of its width; what it sees there is the padding value, labelled background.
  const PreprocessedCase c = ShiftedPhantom();
  AugmentationSettings   a = NoTransforms();
  a.padding = AugmentationSettings::Padding::Zero; // the case itself is >= 5: 0 is the padding
  const int samples = 200;
  int       facesPadded = 0; // of the patch's 6 faces (low and high along z, y, x), how many were ever all padding
  auto      count = [&](double probability, int64_t & mostlyOutside, int64_t & foregroundOutside) {
    a.beyondCaseProbability = probability;
    a.beyondCaseFraction = 0.75;
    const PatchSampler sampler({ &c }, { { 8, 8, 8 } }, 3, 2, /*foregroundRatio*/ 0.0, a, 5);
    mostlyOutside = foregroundOutside = 0;
    bool faces[6] = {};
    for (int step = 0; step < samples / 4; ++step)
    {
      const TrainingBatch batch = sampler.Sample(step, 4);
      for (int64_t i = 0; i < 4; ++i)
      {
        const at::Tensor outside = batch.images[i][0] == 0.0f;
        mostlyOutside += outside.to(at::kFloat).mean().item<float>() > 0.5f;
        foregroundOutside += batch.labels[i].masked_select(outside).sum().item<int64_t>();
        for (int64_t dim = 0; dim < 3; ++dim)
        {
          // A face wholly padded: the patch hangs past the case on that side of that axis.
          faces[2 * dim] |= outside.select(dim, 0).all().item<bool>();
          faces[2 * dim + 1] |= outside.select(dim, -1).all().item<bool>();
        }
      }
    }
    facesPadded = static_cast<int>(std::count(std::begin(faces), std::end(faces), true));
  };
  int64_t mostly = 0, foreground = 0;
  count(0.0, mostly, foreground);
  EXPECT_EQ(mostly, 0) << "off (the default), every background patch lies inside the case";
  EXPECT_EQ(facesPadded, 0);
  count(1.0, mostly, foreground);
  EXPECT_EQ(facesPadded, 6) << "patches hang past the case on the low and the high side of every axis";
  std::cout << "beyond_case 1.0: " << mostly << " of " << samples << " patches are more than half padding\n";
  // Each axis' centre is uniform over [3.5 - 6, 4.5 + 6], so in most draws the 8-voxel patch is
  // more than half outside the 9-voxel case (161 of 200 with this seed).
  EXPECT_GT(mostly, samples / 2);
  EXPECT_LT(mostly, samples);
  EXPECT_EQ(foreground, 0) << "beyond the case is background";
}

TEST(PatchSampler, FieldOfViewCutsCanHoldACorner)
{
  // field_of_view.max_axes 3: a patch can be cut across two or three axes (an edge or a corner of
  // the field of view); with 1 (the default) the padding is always a slab across one axis.
  const PreprocessedCase c = ShiftedPhantom();
  AugmentationSettings   a = NoTransforms();
  a.padding = AugmentationSettings::Padding::Zero; // the case itself is >= 5: 0 is the padding
  a.fieldOfViewProbability = 1.0;
  int  threeAxes = 0;
  auto multiAxisCuts = [&](int64_t maxAxes) {
    a.fieldOfViewMaxAxes = maxAxes;
    const PatchSampler sampler({ &c }, { { 6, 6, 6 } }, 3, 2, 0.0, a, 13);
    int                multiAxis = 0;
    for (int step = 0; step < 25; ++step)
    {
      const TrainingBatch batch = sampler.Sample(step, 4);
      for (int64_t i = 0; i < 4; ++i)
      {
        const at::Tensor padded = batch.images[i][0] == 0.0f; // [z, y, x]
        EXPECT_TRUE(padded.any().item<bool>());
        EXPECT_EQ(batch.labels[i].masked_select(padded).sum().item<int64_t>(), 0) << "padding is background";
        // A slab across one axis varies along that axis only; a union of slabs across several.
        int varying = 0;
        for (int64_t dim = 0; dim < 3; ++dim)
          varying += padded.ne(padded.narrow(dim, 0, 1)).any().item<bool>() ? 1 : 0;
        EXPECT_GE(varying, 1);
        EXPECT_LE(varying, maxAxes);
        multiAxis += varying >= 2;
        threeAxes += varying == 3;
      }
    }
    return multiAxis;
  };
  EXPECT_EQ(multiAxisCuts(1), 0);
  threeAxes = 0;
  const int multi = multiAxisCuts(3);
  std::cout << "field_of_view.max_axes 3: " << multi << " of 100 cut patches are cut across 2-3 axes, " << threeAxes
            << " across all 3\n";
  EXPECT_GT(multi, 45); // 1, 2 or 3 axes, uniform: about 67 of 100
  EXPECT_LT(multi, 90);
  // Three distinct axes in a third of the draws (about 33); cuts that could repeat an axis would
  // give all three in about 7.
  EXPECT_GT(threeAxes, 18);
}

TEST(PatchSampler, ConfigReadsWritesAndRefusesTheFieldOfViewSettings)
{
  nlohmann::json j = AugmentationSettings().ToJson();
  EXPECT_EQ(j["beyond_case"]["probability"], 0.0) << "off unless a config asks for it";
  EXPECT_EQ(j["field_of_view"]["max_axes"], 1);
  j["beyond_case"] = { { "probability", 0.25 }, { "max_fraction", 0.5 } };
  j["field_of_view"] = { { "probability", 0.15 }, { "max_axes", 3 } };
  const AugmentationSettings a = AugmentationSettings::FromJson(j, "config.json");
  EXPECT_EQ(a.beyondCaseProbability, 0.25);
  EXPECT_EQ(a.beyondCaseFraction, 0.5);
  EXPECT_EQ(a.fieldOfViewMaxAxes, 3);
  EXPECT_EQ(AugmentationSettings::FromJson(a.ToJson(), "again").ToJson(), a.ToJson());
  for (const auto & [group, key, value] : std::vector<std::tuple<std::string, std::string, nlohmann::json>>{
         { "beyond_case", "max_fraction", 1.5 },
         { "beyond_case", "probability", -0.1 },
         { "beyond_case", "margin", 1 },
         { "field_of_view", "max_axes", 4 },
         { "field_of_view", "max_axes", 0 } })
  {
    nlohmann::json bad = j;
    bad[group][key] = value;
    EXPECT_THROW(AugmentationSettings::FromJson(bad, "config.json"), InputError) << group << "." << key;
  }
}
