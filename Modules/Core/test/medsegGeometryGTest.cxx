#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <limits>

using namespace medseg;

TEST(Geometry, OrthonormalMatricesPassAndShearedOnesFail)
{
  for (const char * name : { "identity", "RAS", "permuted", "oblique" })
  {
    const auto image = test::MakeImage(test::WithDirection({}, name), [](long, long, long) { return 0.0f; });
    EXPECT_TRUE(IsOrthonormal(image->GetDirection())) << name;
  }
  Direction3 sheared;
  sheared.SetIdentity();
  sheared[0][1] = 0.2;
  EXPECT_FALSE(IsOrthonormal(sheared));
  Direction3 scaled;
  scaled.SetIdentity();
  scaled[2][2] = 2.0;
  EXPECT_FALSE(IsOrthonormal(scaled));
}

TEST(Geometry, ValidateGeometryNamesTheField)
{
  Spacing3   spacing;
  Origin3    origin;
  Direction3 direction;
  spacing.Fill(1.0);
  origin.Fill(0.0);
  direction.SetIdentity();
  EXPECT_NO_THROW(ValidateGeometry(spacing, origin, direction, "a"));
  origin[1] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(ValidateGeometry(spacing, origin, direction, "a"), InputError);
}

TEST(Geometry, DescribeGeometryDifferenceNamesTheFirstDifferingField)
{
  test::Geometry g;
  const auto        a = test::MakeImage(g, [](long, long, long) { return 0.0f; });
  EXPECT_EQ(DescribeGeometryDifference(a, a), "");
  auto h = g;
  h.spacing[2] = 2.0;
  EXPECT_EQ(DescribeGeometryDifference(a, test::MakeImage(h, [](long, long, long) { return 0.0f; })).rfind("spacing", 0),
            0u);
  h = g;
  h.origin[0] = 0.5;
  EXPECT_EQ(DescribeGeometryDifference(a, test::MakeImage(h, [](long, long, long) { return 0.0f; })).rfind("origin", 0),
            0u);
  h = test::WithDirection(g, "RAS");
  EXPECT_EQ(
    DescribeGeometryDifference(a, test::MakeImage(h, [](long, long, long) { return 0.0f; })).rfind("direction", 0), 0u);
  h = g;
  h.size[1] = 5;
  EXPECT_EQ(DescribeGeometryDifference(a, test::MakeImage(h, [](long, long, long) { return 0.0f; })).rfind("size", 0),
            0u);
}
