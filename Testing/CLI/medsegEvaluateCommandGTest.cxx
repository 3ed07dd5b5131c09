// medseg evaluate: exit codes, messages, CSV and JSON of the real executable.
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include "itkCastImageFilter.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace medseg;
using test::RunProcess;
namespace fs = std::filesystem;

namespace
{

/** A cube of label 1 over x in [x0, x0 + 8), y and z in [4, 12), on 1 mm^3 voxels. */
void
WriteCube(const std::string & path, long x0, test::Geometry g = {})
{
  const auto image = test::MakeImage(g, [&](long x, long y, long z) {
    return x >= x0 && x < x0 + 8 && y >= 4 && y < 12 && z >= 4 && z < 12 ? 1.0f : 0.0f;
  });
  auto cast = itk::CastImageFilter<FloatImage3, LabelImage3>::New();
  cast->SetInput(image);
  cast->Update();
  WriteImageFile(cast->GetOutput(), path);
}

} // namespace

TEST(EvaluateCommand, OnePairWritesCsvAndJson)
{
  test::TemporaryDirectory dir;
  WriteCube(dir / "ref.nii.gz", 4);
  WriteCube(dir / "pred.nii.gz", 6);
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref.nii.gz", "--prediction",
                                                 dir / "pred.nii.gz", "--output-csv", dir / "m.csv", "--output-json",
                                                 dir / "m.json", "--tolerance", "2" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("Dice 0.7500"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(test::ReadText(dir / "m.json"));
  EXPECT_EQ(j["surface_tolerance_mm"], 2.0);
  ASSERT_EQ(j["cases"].size(), 1u);
  EXPECT_EQ(j["cases"][0]["case"], "pred.nii.gz");
  EXPECT_DOUBLE_EQ(j["cases"][0]["labels"][0]["dice"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["cases"][0]["labels"][0]["hausdorff_mm"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["cases"][0]["labels"][0]["surface_dice"].get<double>(), 1.0);
  const auto csv = test::ReadText(dir / "m.csv");
  EXPECT_EQ(csv.rfind("case,label,", 0), 0u);
  EXPECT_NE(csv.find("\npred.nii.gz,1,512,512,0.512,0.512,0,0.75,0.6,2,"), std::string::npos) << csv;
}

TEST(EvaluateCommand, FoldersAreMatchedByFileNameAndSummarized)
{
  test::TemporaryDirectory dir;
  fs::create_directories(dir / "ref");
  fs::create_directories(dir / "pred");
  WriteCube(dir / "ref/a.nii.gz", 4);
  WriteCube(dir / "pred/a.nii.gz", 4);
  WriteCube(dir / "ref/b.nii.gz", 4);
  WriteCube(dir / "pred/b.nii.gz", 6);
  WriteCube(dir / "pred/extra.nii.gz", 6); // no reference: ignored
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref", "--prediction", dir / "pred",
                                                 "--output-json", dir / "m.json", "--labels", "1,7", "--quiet" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const auto j = nlohmann::json::parse(test::ReadText(dir / "m.json"));
  ASSERT_EQ(j["cases"].size(), 2u);
  EXPECT_EQ(j["cases"][0]["case"], "a.nii.gz");
  EXPECT_EQ(j["cases"][1]["case"], "b.nii.gz");
  EXPECT_DOUBLE_EQ(j["summary"]["1"]["dice"]["mean"].get<double>(), 0.875);
  EXPECT_DOUBLE_EQ(j["summary"]["1"]["dice"]["median"].get<double>(), 0.875);
  EXPECT_NEAR(j["summary"]["1"]["dice"]["std"].get<double>(), 0.1767766953, 1e-9);
  // Label 7 is in neither image: defined as a perfect match.
  EXPECT_DOUBLE_EQ(j["cases"][0]["labels"][1]["dice"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["cases"][0]["labels"][1]["hausdorff_mm"].get<double>(), 0.0);
}

TEST(EvaluateCommand, RefusesDifferentGeometryNamingTheField)
{
  test::TemporaryDirectory dir;
  test::Geometry           g;
  g.spacing = { 1.0, 1.0, 1.5 };
  WriteCube(dir / "ref.nii.gz", 4);
  WriteCube(dir / "pred.nii.gz", 4, g);
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref.nii.gz", "--prediction",
                                                 dir / "pred.nii.gz", "--output-csv", dir / "m.csv" });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("pred.nii.gz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spacing differs"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "m.csv"));
}

TEST(EvaluateCommand, MissingPredictionAndUsageErrors)
{
  test::TemporaryDirectory dir;
  fs::create_directories(dir / "ref");
  fs::create_directories(dir / "pred");
  WriteCube(dir / "ref/a.nii.gz", 4);
  const auto missing = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref", "--prediction",
                                                       dir / "pred", "--output-json", dir / "m.json" });
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.err.find("a.nii.gz"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(dir / "m.json"));

  const auto mixed =
    RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref", "--prediction", dir / "ref/a.nii.gz" });
  EXPECT_EQ(mixed.exitCode, 2);
  EXPECT_NE(mixed.err.find("both"), std::string::npos) << mixed.err;

  const auto tolerance = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref/a.nii.gz",
                                                         "--prediction", dir / "ref/a.nii.gz", "--tolerance", "-1" });
  EXPECT_EQ(tolerance.exitCode, 2);
  EXPECT_NE(tolerance.err.find("--tolerance"), std::string::npos) << tolerance.err;

  const auto label = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref/a.nii.gz", "--prediction",
                                                     dir / "ref/a.nii.gz", "--labels", "0" });
  EXPECT_EQ(label.exitCode, 2);
  EXPECT_NE(label.err.find("--labels"), std::string::npos) << label.err;

  const auto badName = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", dir / "ref/a.nii.gz",
                                                       "--prediction", dir / "ref/a.nii.gz", "--output-csv",
                                                       dir / "m.txt" });
  EXPECT_EQ(badName.exitCode, 1);
  EXPECT_NE(badName.err.find("m.txt"), std::string::npos) << badName.err;
}

TEST(EvaluateCommand, ExistingReportNeedsOverwrite)
{
  test::TemporaryDirectory dir;
  WriteCube(dir / "ref.nii.gz", 4);
  test::WriteText(dir / "m.json", "old");
  const std::vector<std::string> args{ "evaluate", "--reference", dir / "ref.nii.gz", "--prediction",
                                       dir / "ref.nii.gz", "--output-json", dir / "m.json" };
  const auto r = RunProcess(MEDSEG_EXECUTABLE, args);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(test::ReadText(dir / "m.json"), "old");
  auto withFlag = args;
  withFlag.push_back("--overwrite");
  EXPECT_EQ(RunProcess(MEDSEG_EXECUTABLE, withFlag).exitCode, 0);
  EXPECT_NE(test::ReadText(dir / "m.json"), "old");
}
