#include "medsegIntensityNormalization.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

TEST(IntensityNormalization, ChunkWiseStatisticsGiveTheWholeVolumeMapping)
{
  // Streaming normalizes chunk by chunk: statistics added slab by slab must give the very
  // mapping (bit for bit) that the whole buffer gives.
  auto         image = Ramp();
  const float * data = image->GetBufferPointer();
  const size_t n = 1000;
  for (const char * text : { "zscore", "minmax", "ct:500,200", "none" })
  {
    const auto          spec = NormalizationSpec::Parse(text);
    const auto          whole = ComputeIntensityMapping(data, n, spec);
    IntensityStatistics chunks;
    for (size_t first = 0; first < n; first += 300)
    {
      chunks.Add(data + first, std::min<size_t>(300, n - first));
    }
    const auto streamed = chunks.Finish(spec);
    EXPECT_EQ(chunks.GetCount(), n);
    for (size_t i = 0; i < n; ++i)
    {
      ASSERT_EQ(whole.Apply(data[i]), streamed.Apply(data[i])) << text << " voxel " << i;
    }
    // And the mapping is what NormalizeIntensities applies.
    auto copy = Ramp();
    NormalizeIntensities(copy, spec);
    for (size_t i = 0; i < n; ++i)
    {
      ASSERT_EQ(copy->GetBufferPointer()[i], whole.Apply(data[i])) << text << " voxel " << i;
    }
  }
  EXPECT_THROW(IntensityStatistics().Finish(NormalizationSpec::Parse("percentile:1,99")), std::invalid_argument);
  EXPECT_TRUE(NeedsStatistics(NormalizationSpec::Parse("percentile:1,99")));
  EXPECT_FALSE(NeedsStatistics(NormalizationSpec::Parse("ct:40,400")));
}

TEST(IntensityNormalization, MappingFormulas)
{
  IntensityMapping zscore;
  zscore.identity = false;
  zscore.shift = 10.0;
  zscore.divisor = 4.0;
  EXPECT_FLOAT_EQ(zscore.Apply(18.0f), 2.0f);
  IntensityMapping ct = IntensityStatistics().Finish(NormalizationSpec::Parse("ct:40,400"));
  EXPECT_FLOAT_EQ(ct.Apply(40.0f), 0.5f);
  EXPECT_FLOAT_EQ(ct.Apply(-1000.0f), 0.0f);
  EXPECT_FLOAT_EQ(ct.Apply(3000.0f), 1.0f);
  const float values[] = { 5.0f, 5.0f, 5.0f };
  EXPECT_FLOAT_EQ(ComputeIntensityMapping(values, 3, NormalizationSpec::Parse("minmax")).Apply(5.0f), 0.0f);
}

TEST(IntensityNormalization, NonzeroStatisticsIgnoreZeroPadding)
{
  // The same tissue with and without a zero-filled border around it: with @nonzero the mapping
  // is the same and the padding stays 0; without, the padding shifts the statistics.
  std::vector<float> tissue(500);
  for (size_t i = 0; i < tissue.size(); ++i)
  {
    tissue[i] = 20.0f + static_cast<float>((i * 37) % 101);
  }
  std::vector<float> padded(4 * tissue.size(), 0.0f);
  std::copy(tissue.begin(), tissue.end(), padded.begin() + 700);
  for (const char * text : { "zscore@nonzero", "minmax@nonzero", "percentile:0.5,99.5@nonzero",
                             "zscore@nonzero-statistics", "percentile:0.5,99.5@nonzero-statistics" })
  {
    const auto spec = NormalizationSpec::Parse(text);
    const bool keepZero = spec.keepZero;
    EXPECT_TRUE(spec.nonzero) << text;
    EXPECT_EQ(keepZero, std::string(text).find("statistics") == std::string::npos) << text;
    EXPECT_EQ(spec.ToString(), text);
    const auto alone = ComputeIntensityMapping(tissue.data(), tissue.size(), spec);
    const auto withPadding = ComputeIntensityMapping(padded.data(), padded.size(), spec);
    for (const float x : tissue)
    {
      ASSERT_FLOAT_EQ(alone.Apply(x), withPadding.Apply(x)) << text << " value " << x;
    }
    if (keepZero)
    {
      EXPECT_EQ(withPadding.Apply(0.0f), 0.0f) << text;
    }
    else if (spec.kind == NormalizationSpec::Kind::PercentileZScore) // to the lower clip, the tissue's darkest
    {
      EXPECT_EQ(withPadding.Apply(0.0f), withPadding.Apply(static_cast<float>(withPadding.clipLow))) << text;
      EXPECT_LT(withPadding.Apply(0.0f), withPadding.Apply(60.0f)) << text;
    }
    else // zero lies below the tissue (>= 20) and maps below it
    {
      EXPECT_LT(withPadding.Apply(0.0f), alone.Apply(20.0f) - 0.5f) << text;
    }
    const std::string plainText = std::string(text).substr(0, std::string(text).find('@'));
    const auto        plain = ComputeIntensityMapping(padded.data(), padded.size(), NormalizationSpec::Parse(plainText));
    EXPECT_GT(std::abs(plain.Apply(60.0f) - alone.Apply(60.0f)), 0.05f) << text;
    if (plainText != "minmax") // minmax maps the padding (the minimum) to 0 anyway
    {
      EXPECT_NE(plain.Apply(0.0f), 0.0f) << text;
    }
  }
  // Streaming gives the same mapping for the streamable ones.
  for (const char * text : { "zscore@nonzero", "minmax@nonzero" })
  {
    const auto          spec = NormalizationSpec::Parse(text);
    IntensityStatistics chunks;
    for (size_t first = 0; first < padded.size(); first += 333)
    {
      chunks.Add(padded.data() + first, std::min<size_t>(333, padded.size() - first));
    }
    const auto whole = ComputeIntensityMapping(padded.data(), padded.size(), spec);
    const auto streamed = chunks.Finish(spec);
    for (const float x : padded)
    {
      ASSERT_EQ(whole.Apply(x), streamed.Apply(x)) << text;
    }
  }
  // Mean 0 and sd 1 over the tissue after zscore@nonzero.
  const auto mapping = ComputeIntensityMapping(padded.data(), padded.size(), NormalizationSpec::Parse("zscore@nonzero"));
  double     sum = 0.0, squares = 0.0;
  for (const float x : tissue)
  {
    sum += mapping.Apply(x);
    squares += static_cast<double>(mapping.Apply(x)) * mapping.Apply(x);
  }
  EXPECT_NEAR(sum / tissue.size(), 0.0, 1e-5);
  EXPECT_NEAR(squares / tissue.size(), 1.0, 1e-4);
  EXPECT_THROW(NormalizationSpec::Parse("ct:40,400@nonzero"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("none@nonzero"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("zscore@nonzero@nonzero"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("@nonzero"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("zscore@nonzero@nonzero-statistics"), std::invalid_argument);
  EXPECT_THROW(NormalizationSpec::Parse("ct:40,400@nonzero-statistics"), std::invalid_argument);
}
