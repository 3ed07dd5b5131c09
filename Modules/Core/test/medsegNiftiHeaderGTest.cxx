// ReadNifti1Header / NibabelAffine on headers written byte by byte here.
#include "medsegNiftiHeader.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

namespace
{

/** A 348-byte NIfTI-1 header (native byte order) with the given forms, followed by 4 bytes. */
std::string
Header(int16_t qformCode, int16_t sformCode)
{
  std::string h(352, '\0');
  const auto  put = [&](size_t offset, const auto & value) { std::memcpy(&h[offset], &value, sizeof(value)); };
  put(0, int32_t{ 348 });
  const int16_t dim[8] = { 3, 2, 2, 2, 1, 1, 1, 1 };
  std::memcpy(&h[40], dim, sizeof(dim));
  const float pixdim[8] = { -1.0f, 2.0f, 3.0f, 4.0f, 1, 1, 1, 1 }; // qfac -1
  std::memcpy(&h[76], pixdim, sizeof(pixdim));
  put(252, qformCode);
  put(254, sformCode);
  const float half = static_cast<float>(std::sqrt(0.5)); // 90 degrees about z: d = sin(45)
  const float quatern[6] = { 0.0f, 0.0f, half, 10.0f, -20.0f, 30.0f };
  std::memcpy(&h[256], quatern, sizeof(quatern));
  const float srow[12] = { 1.5f, 0, 0, 7, 0, 2.5f, 0.25f, 8, 0, 0, 3.5f, 9 }; // sheared: stored as is
  std::memcpy(&h[280], srow, sizeof(srow));
  std::memcpy(&h[344], "n+1", 4);
  return h;
}

std::string
Write(const medseg::test::TemporaryDirectory & dir, const std::string & name, const std::string & bytes)
{
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

} // namespace

TEST(NiftiHeader, TheSformIsTakenAsStoredWhenItsCodeIsSet)
{
  medseg::test::TemporaryDirectory dir;
  const auto header = medseg::ReadNifti1Header(Write(dir, "s.nii", Header(1, 2)));
  ASSERT_TRUE(header);
  const auto a = medseg::NibabelAffine(*header);
  ASSERT_TRUE(a);
  EXPECT_DOUBLE_EQ((*a)[0], 1.5);
  EXPECT_DOUBLE_EQ((*a)[6], 0.25); // the shear stays: nibabel does not orthonormalise
  EXPECT_DOUBLE_EQ((*a)[11], 9.0);
  EXPECT_DOUBLE_EQ((*a)[15], 1.0);
}

TEST(NiftiHeader, TheQformIsTheQuaternionTimesTheVoxelSizesWithQfac)
{
  medseg::test::TemporaryDirectory dir;
  const auto a = medseg::NibabelAffine(*medseg::ReadNifti1Header(Write(dir, "q.nii", Header(1, 0))));
  ASSERT_TRUE(a);
  // R = [[0, -1, 0], [1, 0, 0], [0, 0, 1]], times diag(2, 3, -4) (qfac -1), offset (10, -20, 30).
  const double expected[16] = { 0, -3, 0, 10, 2, 0, 0, -20, 0, 0, -4, 30, 0, 0, 0, 1 };
  for (int i = 0; i < 16; ++i)
    EXPECT_NEAR((*a)[i], expected[i], 1e-6) << i;
  EXPECT_FALSE(medseg::NibabelAffine(*medseg::ReadNifti1Header(Write(dir, "none.nii", Header(0, 0)))));
  EXPECT_FALSE(medseg::ReadNifti1Header(Write(dir, "short.nii", std::string(100, 'x'))));
  std::string analyze = Header(1, 1);
  std::memcpy(&analyze[344], "\0\0\0\0", 4);
  EXPECT_FALSE(medseg::ReadNifti1Header(Write(dir, "analyze.hdr", analyze)));
}
