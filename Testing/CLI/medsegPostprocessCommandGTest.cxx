// medseg postprocess: exit codes, messages and output files of the real executable.
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include "itkCastImageFilter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace medseg;
using test::RunProcess;

namespace
{

test::Geometry
PhantomGeometry()
{
  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 24, 24, 20 };
  g.spacing = { 0.9, 0.9, 1.4 };
  g.origin = { -10.0, 4.5, 22.0 };
  return g;
}

double
Radius(const test::Geometry & g, long x, long y, long z)
{
  const double dx = (x - 12) * g.spacing[0], dy = (y - 12) * g.spacing[1], dz = (z - 10) * g.spacing[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

/** A hollow ball of label 1 (hole at the centre) plus a one-voxel island of label 1. */
std::string
WriteLabels(const test::TemporaryDirectory & dir, const std::string & name = "labels.nii.gz")
{
  const auto g = PhantomGeometry();
  const auto image = test::MakeImage(g, [&](long x, long y, long z) {
    const double r = Radius(g, x, y, z);
    return (r <= 7.0 && r > 2.0) || (x == 1 && y == 1 && z == 1) ? 1.0f : 0.0f;
  });
  auto cast = itk::CastImageFilter<FloatImage3, itk::Image<unsigned char, 3>>::New();
  cast->SetInput(image);
  cast->Update();
  WriteImageFile(cast->GetOutput(), dir / name);
  return dir / name;
}

std::string
WriteIntensity(const test::TemporaryDirectory & dir, test::Geometry g = PhantomGeometry())
{
  const auto image = test::MakeImage(g, [&](long x, long y, long z) { return Radius(g, x, y, z) <= 7.5 ? 90.0f : 10.0f; });
  WriteImageFile(image.GetPointer(), dir / "image.nii.gz");
  return dir / "image.nii.gz";
}

} // namespace

TEST(PostprocessCommand, HelpListsTheSpec)
{
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--help" });
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("--postprocess"), std::string::npos);
  EXPECT_NE(r.out.find("refine-edges"), std::string::npos);
}

TEST(PostprocessCommand, RemovesIslandsFillsHolesAndKeepsGeometry)
{
  test::TemporaryDirectory dir;
  const auto               input = WriteLabels(dir);
  const auto               image = WriteIntensity(dir);
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", input, "--output", dir / "out.nii.gz",
                                                 "--postprocess",
                                                 "largest-component;islands:min=10mm3;fill-holes;smooth:1mm;"
                                                 "refine-edges:band=2mm",
                                                 "--image", image });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto in = ReadLabelImage(input);
  const auto out = ReadLabelImage(dir / "out.nii.gz");
  EXPECT_EQ(out->GetPixel({ { 1, 1, 1 } }), 0);
  EXPECT_EQ(out->GetPixel({ { 12, 12, 10 } }), 1);
  EXPECT_EQ(out->GetLargestPossibleRegion(), in->GetLargestPossibleRegion());
  for (unsigned int i = 0; i < 3; ++i)
  {
    EXPECT_NEAR(out->GetSpacing()[i], in->GetSpacing()[i], 1e-6);
    EXPECT_NEAR(out->GetOrigin()[i], in->GetOrigin()[i], 1e-4);
    for (unsigned int j = 0; j < 3; ++j)
      EXPECT_NEAR(out->GetDirection()[i][j], in->GetDirection()[i][j], 1e-6);
  }
}

TEST(PostprocessCommand, MalformedSpecIsAUsageErrorBeforeAnyWork)
{
  test::TemporaryDirectory dir;
  // The input does not even exist: the spec is refused first.
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", dir / "missing.nii.gz", "--output",
                                                 dir / "out.nii.gz", "--postprocess", "fill-holes;smooth:2" });
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("--postprocess"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("smooth:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("needs a unit"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.nii.gz"));

  const auto noImage = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", WriteLabels(dir), "--output",
                                                       dir / "out.nii.gz", "--postprocess", "refine-edges" });
  EXPECT_EQ(noImage.exitCode, 2);
  EXPECT_NE(noImage.err.find("--image"), std::string::npos) << noImage.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.nii.gz"));
}

TEST(PostprocessCommand, BadInputsNameTheFileAndLeaveNoOutput)
{
  test::TemporaryDirectory dir;
  const auto               missing = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", dir / "nope.nii.gz",
                                                         "--output", dir / "out.nii.gz", "--postprocess", "fill-holes" });
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.err.find("nope.nii.gz"), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.nii.gz"));

  auto other = PhantomGeometry();
  other.spacing[2] = 2.0;
  const auto image = WriteIntensity(dir, other);
  const auto mismatch = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", WriteLabels(dir), "--output",
                                                        dir / "out.nii.gz", "--postprocess", "refine-edges",
                                                        "--image", image });
  EXPECT_EQ(mismatch.exitCode, 1);
  EXPECT_NE(mismatch.err.find("image.nii.gz"), std::string::npos) << mismatch.err;
  EXPECT_NE(mismatch.err.find("spacing"), std::string::npos) << mismatch.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.nii.gz"));
}

TEST(PostprocessCommand, RefusesToOverwriteWithoutTheFlag)
{
  test::TemporaryDirectory dir;
  const auto               input = WriteLabels(dir);
  test::WriteText(dir / "out.nii.gz", "keep me");
  const std::vector<std::string> args{ "postprocess", "--input", input, "--output", dir / "out.nii.gz",
                                       "--postprocess", "largest-component" };
  const auto r = RunProcess(MEDSEG_EXECUTABLE, args);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(test::ReadText(dir / "out.nii.gz"), "keep me");
  auto withFlag = args;
  withFlag.push_back("--overwrite");
  EXPECT_EQ(RunProcess(MEDSEG_EXECUTABLE, withFlag).exitCode, 0);
  EXPECT_EQ(ReadLabelImage(dir / "out.nii.gz")->GetPixel({ { 1, 1, 1 } }), 0);
  // The input itself is never the output.
  const auto self = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", input, "--output", input,
                                                    "--postprocess", "fill-holes", "--overwrite" });
  EXPECT_EQ(self.exitCode, 1);
  EXPECT_NE(self.err.find("input"), std::string::npos) << self.err;
}
