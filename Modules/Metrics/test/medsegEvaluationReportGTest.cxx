#include "medsegEvaluationReport.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>

using namespace medseg;

namespace
{

std::vector<CaseEvaluation>
TwoCases()
{
  LabelMetrics a;
  a.label = 1;
  a.referenceVoxels = 10;
  a.predictionVoxels = 8;
  a.dice = 0.8;
  a.hausdorff = 2.0;
  LabelMetrics b = a;
  b.dice = 0.6;
  b.hausdorff = 4.0;
  LabelMetrics c;
  c.label = 2;
  c.referenceVoxels = 5;
  c.hausdorff = c.hausdorff95 = c.averageSurfaceDistance = std::numeric_limits<double>::infinity();
  return { { "case,1.nii.gz", { a, c } }, { "case2.nii.gz", { b } } };
}

} // namespace

TEST(EvaluationReport, CsvHasOneRowPerCaseAndLabelThenSummaryRows)
{
  test::TemporaryDirectory dir;
  WriteEvaluationCSV(TwoCases(), 1.0, dir / "m.csv");
  const std::string text = test::ReadText(dir / "m.csv");
  EXPECT_EQ(text.rfind("case,label,reference_voxels,prediction_voxels,reference_volume_ml,", 0), 0u);
  EXPECT_NE(text.find("\"case,1.nii.gz\",1,10,8,"), std::string::npos);
  EXPECT_NE(text.find("\"case,1.nii.gz\",2,5,0,"), std::string::npos);
  EXPECT_NE(text.find(",inf,inf,inf,"), std::string::npos);
  EXPECT_NE(text.find("\nmean,1,"), std::string::npos);
  EXPECT_NE(text.find("\nmedian,2,"), std::string::npos);
  EXPECT_EQ(text.find("nan"), std::string::npos);
  size_t lines = 0;
  for (const char c : text)
    lines += c == '\n';
  EXPECT_EQ(lines, 1u + 3u + 2u * 3u);
}

TEST(EvaluationReport, JsonWritesInfinityAsNullAndSummarizes)
{
  test::TemporaryDirectory dir;
  WriteEvaluationJSON(TwoCases(), 2.5, dir / "m.json");
  const auto j = nlohmann::json::parse(test::ReadText(dir / "m.json"));
  EXPECT_EQ(j["surface_tolerance_mm"], 2.5);
  ASSERT_EQ(j["cases"].size(), 2u);
  EXPECT_EQ(j["cases"][0]["case"], "case,1.nii.gz");
  EXPECT_TRUE(j["cases"][0]["labels"][1]["hausdorff_mm"].is_null());
  EXPECT_DOUBLE_EQ(j["summary"]["1"]["dice"]["mean"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(j["summary"]["1"]["hausdorff_mm"]["median"].get<double>(), 3.0);
  EXPECT_NEAR(j["summary"]["1"]["dice"]["std"].get<double>(), 0.1414213562, 1e-9);
  EXPECT_EQ(j["summary"]["2"]["hausdorff_mm"]["n"], 0);
  EXPECT_EQ(j["summary"]["2"]["hausdorff_mm"]["n_infinite"], 1);
  EXPECT_TRUE(j["summary"]["2"]["hausdorff_mm"]["mean"].is_null());
}

TEST(EvaluationReport, NoFileIsLeftWhenTheFolderIsMissing)
{
  test::TemporaryDirectory dir;
  EXPECT_ANY_THROW(WriteEvaluationJSON(TwoCases(), 1.0, dir / "missing/m.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "missing/m.json"));
}
