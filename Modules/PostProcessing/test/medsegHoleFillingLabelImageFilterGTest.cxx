#include "medsegHoleFillingLabelImageFilter.h"
#include "medsegLabelTestUtilities.h"

#include <gtest/gtest.h>

using namespace medseg;
using FilterType = HoleFillingLabelImageFilter<LabelImage3>;

namespace
{

long
Chebyshev(long x, long y, long z, long c)
{
  return std::max({ std::abs(x - c), std::abs(y - c), std::abs(z - c) });
}

LabelImage3::Pointer
Fill(const LabelImage3 * input, int axis = -1)
{
  auto filter = FilterType::New();
  filter->SetInput(input);
  filter->SetSliceAxis(axis);
  filter->Update();
  return filter->GetOutput();
}

} // namespace

TEST(HoleFilling, FillsAnEnclosedCavityButKeepsOtherLabelsInside)
{
  // A closed cubic shell of label 1 (Chebyshev radius 5 around 8) with a label-2 voxel inside.
  const auto input = test::MakeLabels({}, [](long x, long y, long z) -> unsigned short {
    const long r = Chebyshev(x, y, z, 8);
    if (x == 8 && y == 8 && z == 8)
      return 2;
    return r == 5 ? 1 : 0;
  });
  auto filter = FilterType::New();
  EXPECT_EQ(filter->GetSliceAxis(), -1);
  const auto out = Fill(input);
  EXPECT_EQ(test::Count(out, 1), 11u * 11u * 11u - 1u);
  EXPECT_EQ(test::At(out, 8, 8, 8), 2);
  EXPECT_EQ(test::At(out, 0, 0, 0), 0);
  EXPECT_TRUE(test::SameGeometry(input, out));
}

TEST(HoleFilling, NestedHolesGoToTheInnermostLabel)
{
  const auto input = test::MakeLabels({}, [](long x, long y, long z) -> unsigned short {
    const long r = Chebyshev(x, y, z, 8);
    return r == 6 ? 1 : (r == 3 ? 2 : 0);
  });
  const auto out = Fill(input);
  EXPECT_EQ(test::At(out, 8, 8, 8), 2);   // inside both shells
  EXPECT_EQ(test::At(out, 8, 8, 13), 1);  // between the shells
  EXPECT_EQ(test::Count(out, 2), 7u * 7u * 7u);
  EXPECT_EQ(test::Count(out, 1), 13u * 13u * 13u - 7u * 7u * 7u);
}

TEST(HoleFilling, SliceWiseFillsAnOpenTubeOnlyAcrossItsAxis)
{
  // A square tube along z, open at both ends: no 3D hole, but a 2D hole in every axial slice.
  test::Geometry g;
  g.spacing = { 0.7, 0.7, 3.0 };
  const auto input = test::MakeLabels(g, [](long x, long y, long) -> unsigned short {
    return std::max(std::abs(x - 8), std::abs(y - 8)) == 4 ? 1 : 0;
  });
  const size_t tube = test::Count(input, 1);
  EXPECT_EQ(test::Count(Fill(input), 1), tube);       // 3D: the inside reaches the border
  EXPECT_EQ(test::Count(Fill(input, 0), 1), tube);    // sagittal slices: nothing enclosed
  const auto axial = Fill(input, 2);
  EXPECT_EQ(test::Count(axial, 1), tube + 7u * 7u * 16u);
  EXPECT_EQ(test::At(axial, 8, 8, 0), 1);
  EXPECT_EQ(test::At(axial, 0, 0, 0), 0);
  EXPECT_TRUE(test::SameGeometry(input, axial));
}

TEST(HoleFilling, RejectsAnAxisOutsideTheImage)
{
  const auto input = test::MakeLabels({}, [](long, long, long) -> unsigned short { return 1; });
  EXPECT_THROW(Fill(input, 3), itk::ExceptionObject);
}
