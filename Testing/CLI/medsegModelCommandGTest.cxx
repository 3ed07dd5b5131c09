// `medseg model pack/info` and `medseg segment --model PACKAGE` with no other flags.
#include "medsegFixtureModels.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>

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
