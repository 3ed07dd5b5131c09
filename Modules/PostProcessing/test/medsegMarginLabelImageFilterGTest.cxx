#include "medsegLabelTestUtilities.h"
#include "medsegMarginLabelImageFilter.h"

#include <gtest/gtest.h>

using namespace medseg;
using FilterType = MarginLabelImageFilter<LabelImage3>;

namespace
{

LabelImage3::Pointer
Margin(const LabelImage3 * input, double distance, unsigned short label = 0)
{
  auto filter = FilterType::New();
  filter->SetInput(input);
  filter->SetDistance(distance);
  filter->SetLabel(label);
  filter->Update();
  return filter->GetOutput();
}

bool
InBox(long x, long y, long z, long lo, long hi)
{
  return x >= lo && x < hi && y >= lo && y < hi && z >= lo && z < hi;
}

} // namespace

TEST(Margin, GrowsAndShrinksACubeByKnownVoxelCounts)
{
  test::Geometry g;
  g.size = { 20, 20, 20 };
  const auto cube = test::MakeLabels(g, [](long x, long y, long z) -> unsigned short { return InBox(x, y, z, 7, 13); });
  EXPECT_EQ(test::Count(cube, 1), 216u);
  EXPECT_EQ(test::Count(Margin(cube, 0.0), 1), 216u);
  // 1 mm: the six face layers only (edge neighbours are sqrt(2) mm away).
  EXPECT_EQ(test::Count(Margin(cube, 1.0), 1), 216u + 6u * 36u);
  // 2 mm: two face layers, the edge voxels at sqrt(2) and the corners at sqrt(3).
  EXPECT_EQ(test::Count(Margin(cube, 2.0), 1), 216u + 6u * 72u + 12u * 6u + 8u);
  // Shrinking by 1 mm peels one layer; by 2 mm two.
  EXPECT_EQ(test::Count(Margin(cube, -1.0), 1), 64u);
  EXPECT_EQ(test::Count(Margin(cube, -2.0), 1), 8u);
}

TEST(Margin, HonoursAnisotropicSpacing)
{
  test::Geometry g;
  g.size = { 20, 20, 20 };
  g.spacing = { 1.0, 1.0, 2.0 };
  const auto cube = test::MakeLabels(g, [](long x, long y, long z) -> unsigned short { return InBox(x, y, z, 7, 13); });
  const auto grown = Margin(cube, 2.0);
  EXPECT_EQ(test::At(grown, 14, 10, 10), 1); // 2 voxels = 2 mm along x
  EXPECT_EQ(test::At(grown, 15, 10, 10), 0);
  EXPECT_EQ(test::At(grown, 10, 10, 13), 1); // 1 voxel = 2 mm along z
  EXPECT_EQ(test::At(grown, 10, 10, 14), 0); // 4 mm
  EXPECT_TRUE(test::SameGeometry(cube, grown));
}

TEST(Margin, NeverOverwritesAnotherLabelAndSplitsGapsByDistance)
{
  // Label 1 in x < 6, label 2 in x >= 10 (a 4-voxel gap), label 3 right next to label 1.
  const auto input = test::MakeLabels({}, [](long x, long y, long) -> unsigned short {
    if (x < 6)
      return y < 14 ? 1 : 3;
    return x >= 10 ? 2 : 0;
  });
  const auto out = Margin(input, 3.0);
  for (long z = 0; z < 16; ++z)
    for (long y = 0; y < 16; ++y)
      for (long x = 0; x < 16; ++x)
        if (test::At(input, x, y, z) != 0)
          ASSERT_EQ(test::At(out, x, y, z), test::At(input, x, y, z)) << x << "," << y << "," << z;
  EXPECT_EQ(test::At(out, 6, 5, 5), 1);
  EXPECT_EQ(test::At(out, 7, 5, 5), 1);
  EXPECT_EQ(test::At(out, 8, 5, 5), 2);
  EXPECT_EQ(test::At(out, 9, 5, 5), 2);
  EXPECT_EQ(test::Count(out, 0), 0u);
  // Only label 2: label 1 keeps its extent.
  const auto only2 = Margin(input, 1.0, 2);
  EXPECT_EQ(test::At(only2, 6, 5, 5), 0);
  EXPECT_EQ(test::At(only2, 9, 5, 5), 2);
}
