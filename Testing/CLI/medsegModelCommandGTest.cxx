// `medseg model pack/info` and `medseg segment --model PACKAGE` with no other flags.
#include "medsegFixtureModels.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;

namespace
{
class ModelPackageCommand : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    auto model = test::MakeThresholdModule(50.0);
    test::SaveModule(model, m_Dir / "weights.pt");
    m_Metadata = nlohmann::json::parse(R"json({
      "format": "medseg-model", "format_version": 1, "name": "ball-finder", "version": "0.3.0",
      "description": "thresholds at 50 (a test fixture)",
      "architecture": { "plugin": "torchscript", "hyper_parameters": {} },
      "input": { "channels": [ { "name": "CT", "normalization": "none" } ], "orientation": "RAS",
                 "spacing": [1.0, 1.0, 1.0] },
      "inference": { "patch_size": [16, 16, 16], "overlap": 0.5, "mirror_axes": [0] },
      "labels": [ { "value": 0, "name": "background", "color": [0, 0, 0] },
                  { "value": 5, "name": "ball", "color": [250, 20, 20] } ],
      "training": { "note": "not trained; a fixture" } })json");
    test::WriteText(m_Dir / "meta.json", m_Metadata.dump());
    // An LPS phantom at 1 mm: the package reorients it to RAS and back.
    test::Geometry g;
    g.size = { 26, 22, 18 };
    g.origin = { -5, 7, 100 };
    m_Image = test::MakeBallPhantom(g, { 12, 10, 8 }, 6.5);
    WriteImageFile(m_Image.GetPointer(), m_Dir / "ball.nii.gz");
  }

  test::ProcessResult
  Pack(const std::string & output)
  {
    return RunProcess(MEDSEG_EXECUTABLE, { "model", "pack", "--metadata", m_Dir / "meta.json", "--weights",
                                           m_Dir / "weights.pt", "--output", output });
  }

  test::TemporaryDirectory m_Dir;
  nlohmann::json           m_Metadata;
  FloatImage3::Pointer     m_Image;
};
} // namespace

TEST_F(ModelPackageCommand, PackInfoAndSegmentWithNoOtherFlags)
{
  ASSERT_EQ(Pack(m_Dir / "ball.medseg").exitCode, 0);
  const auto info = RunProcess(MEDSEG_EXECUTABLE, { "model", "info", m_Dir / "ball.medseg" });
  ASSERT_EQ(info.exitCode, 0) << info.err;
  for (const char * text : { "ball-finder 0.3.0", "torchscript", "verified", "RAS", "16 x 16 x 16", "5  ball" })
    EXPECT_NE(info.out.find(text), std::string::npos) << text << " missing from:\n" << info.out;

  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "ball.medseg", "--input",
                                                 m_Dir / "ball.nii.gz", "--output", m_Dir / "labels.nii.gz" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("label 5 (ball)"), std::string::npos) << r.out;
  const auto labels = ReadScalarImage(m_Dir / "labels.nii.gz");
  EXPECT_EQ(DescribeGeometryDifference(m_Image, labels, 1e-6), "");
  size_t mismatches = 0;
  for (size_t i = 0; i < m_Image->GetBufferedRegion().GetNumberOfPixels(); ++i)
    mismatches += labels->GetBufferPointer()[i] != (m_Image->GetBufferPointer()[i] > 50.0f ? 5.0f : 0.0f);
  EXPECT_EQ(mismatches, 0u);
}

TEST_F(ModelPackageCommand, RefusesTamperedWeightsAndUnknownVersions)
{
  // A folder package whose weights no longer match model.json.
  fs::create_directory(m_Dir / "pkg");
  ASSERT_EQ(Pack(m_Dir / "ball.medseg").exitCode, 0);
  ASSERT_EQ(std::system(("tar -xzf " + m_Dir / "ball.medseg" + " -C " + m_Dir / "pkg").c_str()), 0);
  test::WriteText(m_Dir / "pkg/weights.pt", test::ReadText(m_Dir / "pkg/weights.pt") + "x");
  const auto tampered = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "pkg", "--input",
                                                        m_Dir / "ball.nii.gz", "--output", m_Dir / "out.nii.gz" });
  EXPECT_EQ(tampered.exitCode, 1);
  EXPECT_NE(tampered.err.find("SHA-256"), std::string::npos) << tampered.err;
  EXPECT_FALSE(fs::exists(m_Dir / "out.nii.gz"));

  m_Metadata["format_version"] = 7;
  test::WriteText(m_Dir / "meta.json", m_Metadata.dump());
  const auto future = Pack(m_Dir / "future.medseg");
  EXPECT_EQ(future.exitCode, 1);
  EXPECT_NE(future.err.find("format_version"), std::string::npos) << future.err;
  EXPECT_FALSE(fs::exists(m_Dir / "future.medseg"));
}

TEST_F(ModelPackageCommand, ChannelCountMustMatchThePackage)
{
  m_Metadata["input"]["channels"].push_back({ { "name", "PET" } });
  test::WriteText(m_Dir / "meta.json", m_Metadata.dump());
  ASSERT_EQ(Pack(m_Dir / "two.medseg").exitCode, 0);
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "two.medseg", "--input",
                                                 m_Dir / "ball.nii.gz", "--output", m_Dir / "out.nii.gz" });
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("takes 2 input(s) (CT, PET)"), std::string::npos) << r.err;
}

TEST_F(ModelPackageCommand, StreamedSegmentationEqualsTheUnstreamedOneForAnyDivisions)
{
  // A 3-class convolutional model, z-scored input, labels 0/4/9, batches of 2: streamed runs
  // read the uncompressed MetaImage slab by slab and must give the unstreamed labels exactly.
  auto model = test::MakeConvolutionModule(3, 5);
  test::SaveModule(model, m_Dir / "weights.pt");
  m_Metadata["input"] = { { "channels", { { { "name", "T1" }, { "normalization", "zscore" } } } },
                          { "orientation", "any" },
                          { "spacing", nullptr } };
  m_Metadata["inference"] = { { "patch_size", { 8, 8, 6 } }, { "overlap", 0.5 }, { "batch_size", 2 } };
  m_Metadata["labels"] = { { { "value", 0 }, { "name", "a" }, { "color", { 0, 0, 0 } } },
                           { { "value", 4 }, { "name", "b" }, { "color", { 9, 9, 9 } } },
                           { { "value", 9 }, { "name", "c" }, { "color", { 99, 99, 99 } } } };
  test::WriteText(m_Dir / "meta.json", m_Metadata.dump());
  ASSERT_EQ(Pack(m_Dir / "conv.medseg").exitCode, 0);

  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 21, 17, 27 };
  g.spacing = { 0.8, 1.2, 1.5 };
  const auto scan = test::MakeImage(g, [](long x, long y, long z) {
    return static_cast<float>(300.0 + 80.0 * std::sin(0.6 * x + 0.2 * z) * std::cos(0.5 * y) + 2.0 * z);
  });
  WriteImageFile(scan.GetPointer(), m_Dir / "scan.mha", false);
  const auto segment = [&](const std::string & input, const std::string & output, std::vector<std::string> extra,
                           const std::string & package = "") {
    std::vector<std::string> args{ "segment", "--model", package.empty() ? m_Dir / "conv.medseg" : package,
                                   "--input", input, "--output", output, "--threads", "1" };
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProcess(MEDSEG_EXECUTABLE, args);
  };
  const auto whole = segment(m_Dir / "scan.mha", m_Dir / "whole.nii.gz", {});
  ASSERT_EQ(whole.exitCode, 0) << whole.err;
  const auto expected = ReadLabelImage(m_Dir / "whole.nii.gz");
  const auto * e = expected->GetBufferPointer();
  const size_t n = expected->GetBufferedRegion().GetNumberOfPixels();
  std::set<unsigned short> values(e, e + n);
  EXPECT_GE(values.size(), 2u);
  EXPECT_TRUE(values.count(4) || values.count(9)) << "label values come from the package";

  for (const char * divisions : { "1", "3", "27" })
  {
    const std::string out = m_Dir / (std::string("streamed") + divisions + ".nii.gz");
    const auto        r = segment(m_Dir / "scan.mha", out, { "--stream-divisions", divisions });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto labels = ReadLabelImage(out);
    EXPECT_EQ(DescribeGeometryDifference(expected, labels, 1e-9), "");
    EXPECT_TRUE(std::equal(e, e + n, labels->GetBufferPointer())) << divisions << " divisions";
  }

  // A compressed file cannot be read in parts: one line naming it, nothing written.
  WriteImageFile(scan.GetPointer(), m_Dir / "scan.nii.gz");
  const auto compressed = segment(m_Dir / "scan.nii.gz", m_Dir / "c.nii.gz", { "--stream-divisions", "2" });
  EXPECT_EQ(compressed.exitCode, 1);
  EXPECT_NE(compressed.err.find("scan.nii.gz"), std::string::npos) << compressed.err;
  EXPECT_NE(compressed.err.find("cannot be read in parts"), std::string::npos) << compressed.err;
  EXPECT_EQ(std::count(compressed.err.begin(), compressed.err.end(), '\n'), 1) << compressed.err;
  EXPECT_FALSE(fs::exists(m_Dir / "c.nii.gz"));

  // Percentiles need every voxel at once.
  m_Metadata["input"]["channels"][0]["normalization"] = "percentile:1,99";
  test::WriteText(m_Dir / "meta.json", m_Metadata.dump());
  ASSERT_EQ(Pack(m_Dir / "percentile.medseg").exitCode, 0);
  const auto percentile =
    segment(m_Dir / "scan.mha", m_Dir / "p.nii.gz", { "--stream-divisions", "2" }, m_Dir / "percentile.medseg");
  EXPECT_EQ(percentile.exitCode, 1);
  EXPECT_NE(percentile.err.find("needs every voxel at once"), std::string::npos) << percentile.err;
  EXPECT_FALSE(fs::exists(m_Dir / "p.nii.gz"));
}
