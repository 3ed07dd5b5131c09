#include "medsegError.h"
#include "medsegIntensitySynthesis.h"
#include "medsegPatchSampler.h"
#include "medsegTrainingConfig.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <iostream>

namespace
{
using namespace medseg;

/** 20^3 voxels in five slabs along x, intensities 0, 5 (outside the label, x < 8) and 10, 20, 30
 * (inside, x >= 8), each with a little noise: the tissue classes are known by construction. */
struct Slabs
{
  PreprocessedCase c;
  at::Tensor       truth; //!< [Z, Y, X] the class each voxel was made from
};

Slabs
MakeSlabs()
{
  const at::Tensor x = at::arange(20, at::kLong).reshape({ 1, 1, 20 }).expand({ 20, 20, 20 });
  const at::Tensor truth = at::where(x < 4, 0, at::where(x < 8, 1, at::where(x < 12, 2, at::where(x < 16, 3, 4))));
  const at::Tensor level = at::tensor(std::vector<float>{ 0, 5, 10, 20, 30 }).index_select(0, truth.reshape({ -1 }));
  at::Generator    g = at::make_generator<at::CPUGeneratorImpl>(3);
  const at::Tensor image = level.reshape({ 20, 20, 20 }) + 0.5 * at::randn({ 20, 20, 20 }, g, at::kFloat);
  Slabs s{ MakePreprocessedCase("slabs", image, (x >= 8).to(at::kLong).contiguous(), { { 1, 1, 1 } }, 2),
           truth.contiguous() };
  return s;
}

AugmentationSettings
OnlySynthesis(double probability)
{
  AugmentationSettings a;
  a.flipProbability = { { 0, 0, 0 } };
  a.rotationProbability = a.scaleProbability = a.intensityScaleProbability = a.intensityShiftProbability = 0.0;
  a.gammaProbability = a.noiseProbability = a.biasFieldProbability = a.lowResolutionProbability = 0.0;
  a.synthesisProbability = probability;
  a.synthesisClassesInside = 3;
  a.synthesisClassesOutside = 2;
  return a;
}
} // namespace

TEST(IntensitySynthesis, ClustersFindTheTissuesInsideAndOutsideTheLabel)
{
  const Slabs         s = MakeSlabs();
  const TissueClasses t = ClusterTissueClasses(s.c.image, s.c.label, 3, 2);
  ASSERT_EQ(t.fractions.size(), 5u);
  EXPECT_TRUE(at::equal(t.map.to(at::kLong), s.truth)) << "every voxel in the class of the slab it was made from";
  for (size_t k = 0; k < 5; ++k)
    EXPECT_NEAR(t.fractions[k], 0.2, 1e-12);
  const double expected[5] = { 0, 5, 10, 20, 30 };
  for (size_t k = 0; k < 5; ++k)
    EXPECT_NEAR(t.means[k], expected[k], 0.1);
  // Deterministic, and more classes than distinct groups leave some empty rather than failing.
  EXPECT_TRUE(at::equal(ClusterTissueClasses(s.c.image, s.c.label, 3, 2).map, t.map));
  const TissueClasses many = ClusterTissueClasses(s.c.image, s.c.label, 3, 6);
  double              sum = 0.0;
  for (double f : many.fractions)
    sum += f;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_THROW(ClusterTissueClasses(s.c.image, s.c.label, 0, 2), std::invalid_argument);
  EXPECT_THROW(ClusterTissueClasses(s.c.image, s.c.label.slice(0, 1), 3, 2), std::invalid_argument);
}

TEST(IntensitySynthesis, EachClassGetsARandomIntensitySoEveryContrastOccurs)
{
  const Slabs          s = MakeSlabs();
  const TissueClasses  t = ClusterTissueClasses(s.c.image, s.c.label, 3, 2);
  AugmentationSettings a = OnlySynthesis(1.0);
  a.synthesisMaxSd = 0.0;
  a.synthesisMaxBlur = 0.0;
  int  brighterInside = 0, darkerInside = 0, zeroBackground = 0;
  const int draws = 200;
  for (int i = 0; i < draws; ++i)
  {
    std::mt19937_64  rng(100 + i);
    at::Generator    g = at::make_generator<at::CPUGeneratorImpl>(100 + i);
    const at::Tensor x = SynthesizePatch(t.map.to(at::kLong), t.fractions, a, rng, g);
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{ 1, 20, 20, 20 }));
    ASSERT_TRUE(at::isfinite(x).all().item<bool>());
    // No spread and no blur: one value per class, and the whole case standardized.
    std::vector<float> value(5);
    for (int64_t k = 0; k < 5; ++k)
    {
      const at::Tensor in = x[0].masked_select(t.map == k);
      EXPECT_FLOAT_EQ(in.min().item<float>(), in.max().item<float>()) << "class " << k << " draw " << i;
      value[k] = in[0].item<float>();
    }
    EXPECT_NEAR(x.mean().item<double>(), 0.0, 1e-4);
    (value[4] > value[1] ? brighterInside : darkerInside) += 1;
    zeroBackground += value[0] < value[1] && value[0] < value[2] && value[0] < value[3] && value[0] < value[4];
  }
  std::cout << "of " << draws << " draws: brightest inside class above the outside one " << brighterInside
            << " times, below " << darkerInside << "; background darkest " << zeroBackground << "\n";
  EXPECT_GT(brighterInside, 60); // p = 0.5 either way
  EXPECT_GT(darkerInside, 60);
  // Class 0 is the darkest in every zero-background draw (p 0.3) and in 1/5 of the others:
  // expected 88 of 200, sd 7.
  EXPECT_GT(zeroBackground, 60);
  EXPECT_LT(zeroBackground, 120);

  // Blur (partial volume): the same draw, each voxel a weighted mean of its neighbours, so the
  // borders change and the range can only shrink.
  auto draw = [&](double maxBlur) {
    AugmentationSettings b = a;
    b.synthesisMaxBlur = maxBlur;
    std::mt19937_64 rng(7);
    at::Generator   g = at::make_generator<at::CPUGeneratorImpl>(7);
    return SynthesizePatch(t.map.to(at::kLong), t.fractions, b, rng, g);
  };
  const at::Tensor sharp = draw(0.0);
  const at::Tensor blurred = draw(2.0);
  EXPECT_FALSE(at::allclose(sharp, blurred));
  EXPECT_GE(blurred.min().item<float>(), sharp.min().item<float>() - 1e-5);
  EXPECT_LE(blurred.max().item<float>(), sharp.max().item<float>() + 1e-5);
}

TEST(IntensitySynthesis, TheSampleStreamSynthesizesAsOftenAsConfiguredAndKeepsTheLabels)
{
  Slabs s = MakeSlabs();
  s.c.tissue = ClusterTissueClasses(s.c.image, s.c.label, 3, 2);
  const PatchSampler plain({ &s.c }, { { 8, 8, 8 } }, 3, 2, 0.5, OnlySynthesis(0.0), 5);
  const PatchSampler mixed({ &s.c }, { { 8, 8, 8 } }, 3, 2, 0.5, OnlySynthesis(0.5), 5);
  int synthesized = 0, samples = 0;
  for (int step = 0; step < 50; ++step)
  {
    const TrainingBatch p = plain.Sample(step, 4);
    const TrainingBatch m = mixed.Sample(step, 4);
    EXPECT_TRUE(at::equal(p.labels, m.labels)) << "the same patches, the same labels, step " << step;
    for (int64_t i = 0; i < 4; ++i)
    {
      ++samples;
      EXPECT_FALSE(p.synthesized[i]);
      synthesized += m.synthesized[i];
      EXPECT_EQ(at::equal(p.images[i], m.images[i]), !m.synthesized[i]) << "step " << step << " sample " << i;
    }
  }
  std::cout << synthesized << " of " << samples << " patches synthesized\n";
  EXPECT_GT(synthesized, 70); // expected 100, sd 7
  EXPECT_LT(synthesized, 130);
}

TEST(IntensitySynthesis, ConfigReadsWritesAndRefusesTheSynthesisSettings)
{
  nlohmann::json j = AugmentationSettings().ToJson();
  j["synthesis"] = { { "probability", 0.5 }, { "classes_inside", 4 }, { "classes_outside", 2 }, { "max_sd", 0.05 },
                     { "max_blur_voxels", 1.5 }, { "zero_background_probability", 0.2 } };
  const AugmentationSettings a = AugmentationSettings::FromJson(j, "config.json");
  EXPECT_EQ(a.synthesisProbability, 0.5);
  EXPECT_EQ(a.synthesisClassesInside, 4);
  EXPECT_EQ(a.synthesisClassesOutside, 2);
  EXPECT_EQ(a.synthesisMaxSd, 0.05);
  EXPECT_EQ(a.synthesisMaxBlur, 1.5);
  EXPECT_EQ(a.synthesisZeroBackgroundProbability, 0.2);
  EXPECT_EQ(AugmentationSettings::FromJson(a.ToJson(), "again").ToJson(), a.ToJson());
  EXPECT_EQ(AugmentationSettings().synthesisProbability, 0.0) << "off unless a config asks for it";
  for (const auto & [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
         { "classes_inside", 0 }, { "probability", 1.5 }, { "max_sd", -1 }, { "colour", 1 } })
  {
    nlohmann::json bad = j;
    bad["synthesis"][key] = value;
    EXPECT_THROW(AugmentationSettings::FromJson(bad, "config.json"), InputError) << key;
  }
}

TEST(IntensitySynthesis, NeedsANormalizationThatStandardizesAsItDoes)
{
  nlohmann::json j = nlohmann::json::parse(R"({
    "architecture": {"plugin": "unet", "hyper_parameters": {"features": [4, 8]}},
    "input": {"channels": [{"name": "T1", "normalization": "percentile:0.5,99.5"}]},
    "labels": [{"value": 0, "name": "background"}, {"value": 1, "name": "brain"}],
    "patch_size": [16, 16, 16],
    "augmentation": {"synthesis": {"probability": 0.5}}
  })");
  EXPECT_EQ(TrainingConfig::FromJson(j, "config.json").augmentation.synthesisProbability, 0.5);
  j["input"]["channels"][0]["normalization"] = "zscore";
  EXPECT_NO_THROW(TrainingConfig::FromJson(j, "config.json"));
  j["input"]["channels"][0]["normalization"] = "minmax";
  try
  {
    TrainingConfig::FromJson(j, "config.json");
    ADD_FAILURE() << "synthesis with minmax normalization was accepted";
  }
  catch (const InputError & e)
  {
    EXPECT_NE(std::string(e.what()).find("augmentation.synthesis"), std::string::npos) << e.what();
  }
  j["augmentation"]["synthesis"]["probability"] = 0.0; // off: any normalization
  EXPECT_NO_THROW(TrainingConfig::FromJson(j, "config.json"));
}
