#include "medsegComponentSelectionLabelImageFilter.h"
#include "medsegLabelTestUtilities.h"

#include <gtest/gtest.h>

using namespace medseg;
using FilterType = ComponentSelectionLabelImageFilter<LabelImage3>;

namespace
{

bool
InBox(long x, long y, long z, long x0, long y0, long z0, long side)
{
  return x >= x0 && x < x0 + side && y >= y0 && y < y0 + side && z >= z0 && z < z0 + side;
}

// Label 1: a 5^3 cube, a 3^3 cube and a 2^3 cube apart from each other; label 2: a 3^3 cube
// touching the big label-1 cube (touching labels must stay separate components).
LabelImage3::Pointer
Phantom(const test::Geometry & g)
{
  return test::MakeLabels(g, [](long x, long y, long z) -> unsigned short {
    if (InBox(x, y, z, 2, 2, 2, 5))
      return 1;
    if (InBox(x, y, z, 7, 2, 2, 3))
      return 2;
    if (InBox(x, y, z, 2, 10, 2, 3))
      return 1;
    if (InBox(x, y, z, 10, 10, 10, 2))
      return 1;
    return 0;
  });
}

LabelImage3::Pointer
Select(const LabelImage3 * input, itk::SizeValueType keep, double minimumVolume, bool full = false)
{
  auto filter = FilterType::New();
  filter->SetInput(input);
  filter->SetNumberOfComponentsToKeep(keep);
  filter->SetMinimumComponentVolume(minimumVolume);
  filter->SetFullyConnected(full);
  filter->Update();
  return filter->GetOutput();
}

} // namespace

TEST(ComponentSelection, DefaultsKeepTheLargestComponentOfEachLabel)
{
  auto filter = FilterType::New();
  EXPECT_EQ(filter->GetNumberOfComponentsToKeep(), 1u);
  EXPECT_EQ(filter->GetMinimumComponentVolume(), 0.0);
  EXPECT_FALSE(filter->GetFullyConnected());

  const auto input = Phantom({});
  filter->SetInput(input);
  filter->Update();
  const auto * out = filter->GetOutput();
  EXPECT_EQ(test::Count(out, 1), 125u);
  EXPECT_EQ(test::Count(out, 2), 27u); // touches label 1 but is its own component
  EXPECT_EQ(test::At(out, 3, 11, 3), 0);
  EXPECT_EQ(test::At(out, 10, 10, 10), 0);
  EXPECT_TRUE(test::SameGeometry(input, out));
}

TEST(ComponentSelection, KeepsTheNLargest)
{
  const auto out = Select(Phantom({}), 2, 0.0);
  EXPECT_EQ(test::Count(out, 1), 125u + 27u);
  EXPECT_EQ(test::At(out, 10, 10, 10), 0);
  EXPECT_EQ(test::Count(Select(Phantom({}), 0, 0.0), 1), 125u + 27u + 8u);
}

TEST(ComponentSelection, MinimumVolumeIsInCubicMillimetresWithAnisotropicSpacing)
{
  test::Geometry g;
  g.spacing = { 1.0, 1.0, 2.5 }; // 2.5 mm^3 voxels: the cubes are 312.5, 67.5 and 20 mm^3
  g.direction = test::WithDirection(g, "oblique").direction;
  const auto input = Phantom(g);
  EXPECT_EQ(test::Count(Select(input, 0, 20.0), 1), 125u + 27u + 8u); // exactly at the limit: kept
  EXPECT_EQ(test::Count(Select(input, 0, 20.1), 1), 125u + 27u);
  EXPECT_EQ(test::Count(Select(input, 0, 67.6), 1), 125u);
  EXPECT_EQ(test::Count(Select(input, 0, 67.6), 2), 0u); // label 2 is 67.5 mm^3 too
  // At 1 mm^3 voxels the same 20 mm^3 limit removes the 8-voxel cube and keeps the 27-voxel one.
  EXPECT_EQ(test::Count(Select(Phantom({}), 0, 20.0), 1), 125u + 27u);
}

TEST(ComponentSelection, ConnectivityDecidesWhetherCornersJoin)
{
  // Two 2^3 cubes of label 1 touching at one corner, and a 3^3 cube of label 1 elsewhere.
  const auto input = test::MakeLabels({}, [](long x, long y, long z) -> unsigned short {
    return (InBox(x, y, z, 2, 2, 2, 2) || InBox(x, y, z, 4, 4, 4, 2) || InBox(x, y, z, 10, 10, 10, 3)) ? 1 : 0;
  });
  EXPECT_EQ(test::Count(Select(input, 1, 0.0, false), 1), 27u);
  EXPECT_EQ(test::Count(Select(input, 1, 0.0, true), 1), 27u); // 16 < 27 still
  EXPECT_EQ(test::Count(Select(input, 2, 0.0, false), 1), 27u + 8u);
  EXPECT_EQ(test::Count(Select(input, 2, 0.0, true), 1), 27u + 16u);
}

TEST(ComponentSelection, EmptyImageStaysEmpty)
{
  const auto input = test::MakeLabels({}, [](long, long, long) -> unsigned short { return 0; });
  EXPECT_EQ(test::Count(Select(input, 1, 0.0), 0), 16u * 16u * 16u);
}
