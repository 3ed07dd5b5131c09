#include "medsegIntensityNormalization.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace medseg;

namespace
{
FloatImage3::Pointer
Ramp()
{
  test::Geometry g;
  g.size = { 10, 10, 10 };
  return test::MakeImage(g, [](long x, long y, long z) { return static_cast<float>(x + 10 * y + 100 * z); });
}
} // namespace

TEST(IntensityNormalization, ZScoreGivesZeroMeanUnitStd)
{
  auto image = Ramp();
  NormalizeIntensities(image, NormalizationSpec::Parse("zscore"));
  double       sum = 0, sumSq = 0;
  const size_t n = 1000;
  for (size_t i = 0; i < n; ++i)
  {
    sum += image->GetBufferPointer()[i];
    sumSq += image->GetBufferPointer()[i] * image->GetBufferPointer()[i];
  }
  EXPECT_NEAR(sum / n, 0.0, 1e-5);
  EXPECT_NEAR(std::sqrt(sumSq / n), 1.0, 1e-5);
}

TEST(IntensityNormalization, MinMaxAndCTWindowMapOntoTheUnitInterval)
{
  auto image = Ramp();
  NormalizeIntensities(image, NormalizationSpec::Parse("minmax"));
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[0], 0.0f);
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[999], 1.0f);

  image = Ramp();
  NormalizeIntensities(image, NormalizationSpec::Parse("ct:500,200"));
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[0], 0.0f);    // below 400 -> 0
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[500], 0.5f);  // the level
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[450], 0.25f); // 450 in [400, 600]
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[999], 1.0f);  // above 600 -> 1
}

TEST(IntensityNormalization, PercentileClipsOutliersBeforeZScore)
{
  test::Geometry g;
  g.size = { 10, 10, 10 };
  auto image = test::MakeImage(g, [](long x, long y, long z) { return (x + y + z == 0) ? 1e6f : 1.0f * (x % 2); });
  NormalizeIntensities(image, NormalizationSpec::Parse("percentile:1,99"));
  // The outlier is clipped to the 99th percentile (1), so it equals the other ones.
  EXPECT_FLOAT_EQ(image->GetBufferPointer()[0], image->GetBufferPointer()[1]);
}

TEST(IntensityNormalization, ParseRefusesWhatItDoesNotKnow)
{
  EXPECT_THROW(NormalizationSpec::Parse("zscores"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("ct:40"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("ct:40,-1"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("ct:40,abc"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("percentile:99,1"), std::invalid_argument);
  EXPECT_EQ(NormalizationSpec::Parse("ct:40,400").ToString(), "ct:40,400");
  EXPECT_EQ(NormalizationSpec::Parse("none").ToString(), "none");
}
