#include "medsegLabelTestUtilities.h"
#include "medsegVotingSmoothingLabelImageFilter.h"

#include <gtest/gtest.h>

#include <set>

using namespace medseg;
using FilterType = VotingSmoothingLabelImageFilter<LabelImage3>;

namespace
{

LabelImage3::Pointer
Smooth(const LabelImage3 * input, double radius, FilterType::ModeEnum mode = FilterType::ModeEnum::Majority)
{
  auto filter = FilterType::New();
  filter->SetInput(input);
  filter->SetRadius(radius);
  filter->SetMode(mode);
  filter->Update();
  return filter->GetOutput();
}

bool
InCube(long x, long y, long z)
{
  return x >= 4 && x < 12 && y >= 4 && y < 12 && z >= 4 && z < 12;
}

} // namespace

TEST(VotingSmoothing, RemovesASpikeAndKeepsTheCube)
{
  auto filter = FilterType::New();
  EXPECT_EQ(filter->GetRadius(), 1.0);
  EXPECT_EQ(filter->GetMode(), FilterType::ModeEnum::Majority);
  const auto cube = test::MakeLabels({}, [](long x, long y, long z) -> unsigned short { return InCube(x, y, z); });
  const auto spiky = test::MakeLabels({}, [](long x, long y, long z) -> unsigned short {
    return InCube(x, y, z) || (x == 8 && y == 8 && z == 12) || (x == 2 && y == 2 && z == 2);
  });
  const auto out = Smooth(spiky, 1.0);
  EXPECT_EQ(test::Differences(out, cube), 0u);
  EXPECT_TRUE(test::SameGeometry(spiky, out));
}

TEST(VotingSmoothing, NeverInventsALabelNorTakesOneThatWasNotAdjacent)
{
  // A deterministic pseudo-random mosaic of labels 0..4.
  test::Geometry g;
  g.size = { 20, 18, 16 };
  const auto input = test::MakeLabels(g, [](long x, long y, long z) -> unsigned short {
    const unsigned long h = (static_cast<unsigned long>(x / 2) * 73856093ul) ^
                            (static_cast<unsigned long>(y / 3) * 19349663ul) ^ (static_cast<unsigned long>(z) * 83492791ul);
    return static_cast<unsigned short>(h % 5);
  });
  for (const double radius : { 1.0, 2.0, 3.0 })
  {
    const auto out = Smooth(input, radius);
    size_t     changed = 0;
    for (long z = 0; z < 16; ++z)
      for (long y = 0; y < 18; ++y)
        for (long x = 0; x < 20; ++x)
        {
          std::set<unsigned short> adjacent;
          for (long dz = -1; dz <= 1; ++dz)
            for (long dy = -1; dy <= 1; ++dy)
              for (long dx = -1; dx <= 1; ++dx)
              {
                const long a = x + dx, b = y + dy, c = z + dz;
                if (a >= 0 && a < 20 && b >= 0 && b < 18 && c >= 0 && c < 16)
                  adjacent.insert(test::At(input, a, b, c));
              }
          const auto v = test::At(out, x, y, z);
          ASSERT_TRUE(adjacent.count(v)) << "voxel " << x << "," << y << "," << z << " got " << v;
          changed += v != test::At(input, x, y, z);
        }
    EXPECT_GT(changed, 0u) << radius;
  }
}

TEST(VotingSmoothing, RadiusIsInMillimetresOnAnisotropicGrids)
{
  // A one-voxel line along z. At 1 mm voxels a 1 mm ball holds 3 line and 4 background voxels:
  // the line goes. At 0.4 mm slices the ball reaches 2 slices each way: 5 line voxels vs 4, it stays.
  test::Geometry iso;
  test::Geometry thin;
  thin.spacing = { 1.0, 1.0, 0.4 };
  const auto line = [](long x, long y, long) -> unsigned short { return x == 8 && y == 8 ? 3 : 0; };
  EXPECT_EQ(test::Count(Smooth(test::MakeLabels(iso, line), 1.0), 3), 0u);
  // (The two end voxels lose: the ball is cut by the image border there.)
  const auto kept = Smooth(test::MakeLabels(thin, line), 1.0);
  EXPECT_EQ(test::Count(kept, 3), 14u);
  EXPECT_EQ(test::At(kept, 8, 8, 8), 3);
  // A radius below every spacing changes nothing.
  const auto spiky = test::MakeLabels(iso, line);
  EXPECT_EQ(test::Differences(Smooth(spiky, 0.5), spiky), 0u);
}

TEST(VotingSmoothing, MedianNeedsAStrictMajorityWhereMajorityTakesAPlurality)
{
  // Centre voxel 3 with face neighbours 1,1 (x), 2,2 (y), 4,4 (z): no label has > 50 % of 7.
  const auto input = test::MakeLabels({}, [](long x, long y, long z) -> unsigned short {
    const long dx = std::abs(x - 8), dy = std::abs(y - 8), dz = std::abs(z - 8);
    if (dx + dy + dz == 0)
      return 3;
    if (dx == 1 && dy == 0 && dz == 0)
      return 1;
    if (dy == 1 && dx == 0 && dz == 0)
      return 2;
    if (dz == 1 && dx == 0 && dy == 0)
      return 4;
    return 0;
  });
  EXPECT_EQ(test::At(Smooth(input, 1.0, FilterType::ModeEnum::Median), 8, 8, 8), 3);
  EXPECT_EQ(test::At(Smooth(input, 1.0, FilterType::ModeEnum::Majority), 8, 8, 8), 1); // tie -> smallest
}
