// End-to-end tests of `medseg mesh` (no X display needed).
#include "medsegImageFileIO.h"
#include "medsegLabelSurface.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"
#include "medsegVisualizationTestUtilities.h"

#include <vtkSTLReader.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;

namespace
{

class MeshCommand : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    test::Geometry g = test::WithDirection({}, "oblique");
    g.size = { 32, 30, 28 };
    g.spacing = { 0.9, 1.1, 1.3 };
    g.origin = { 10.0, -20.0, 5.5 };
    m_Labels = test::MakeLabels(g, [](long x, long y, long z) {
      const double d = (x - 12) * (x - 12) + (y - 14) * (y - 14) + (z - 13) * (z - 13);
      return static_cast<unsigned short>(d <= 49 ? 1 : (x >= 22 && x <= 28 && y >= 4 && y <= 12 && z >= 6 ? 3 : 0));
    });
    WriteImageFile(m_Labels.GetPointer(), m_Dir / "labels.nii.gz");
    test::WriteText(m_Dir / "table.txt", "# value name r g b a\n1 liver 200 60 50 255\n3 right_kidney 10 20 30 255\n");
  }

  test::TemporaryDirectory m_Dir;
  LabelImage3::Pointer     m_Labels;
};

} // namespace

TEST_F(MeshCommand, WritesNamedMeshesWhoseVolumesMatchTheVoxels)
{
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "labels.nii.gz", "--output-dir", m_Dir / "meshes",
                                                 "--label-table", m_Dir / "table.txt", "--format", "stl,obj" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("label 1 (liver)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(m_Dir / "meshes/label_1_liver.stl"));
  EXPECT_TRUE(fs::exists(m_Dir / "meshes/label_1_liver.obj"));
  EXPECT_TRUE(fs::exists(m_Dir / "meshes/label_3_right_kidney.stl"));
  EXPECT_FALSE(fs::exists(m_Dir / "meshes/label_1_liver.vtp"));

  vtkNew<vtkSTLReader> stl;
  stl->SetFileName((m_Dir / "meshes/label_1_liver.stl").c_str());
  stl->Update();
  const double voxels = test::CountLabel(m_Labels, 1) * 0.9 * 1.1 * 1.3;
  EXPECT_NEAR(ComputeEnclosedVolume(stl->GetOutput()) / voxels, 1.0, 0.03);
  // The mesh is in LPS world coordinates: its centre is the ball's centre in world space.
  double b[6];
  stl->GetOutput()->GetBounds(b);
  LabelImage3::PointType centre;
  m_Labels->TransformIndexToPhysicalPoint({ { 12, 14, 13 } }, centre);
  for (int d = 0; d < 3; ++d)
    EXPECT_NEAR(0.5 * (b[2 * d] + b[2 * d + 1]), centre[d], 0.5) << "axis " << d;
}

TEST_F(MeshCommand, SelectsLabelsDecimatesAndWritesRas)
{
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "labels.nii.gz", "--output-dir", m_Dir / "out",
                                                 "--labels", "3", "--decimate", "0.5", "--smoothing", "10",
                                                 "--coordinates", "RAS", "--format", "ply", "--quiet" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(fs::exists(m_Dir / "out/label_3_label_3.ply"));
  EXPECT_FALSE(fs::exists(m_Dir / "out/label_1_label_1.ply"));
  const std::string csv = test::ReadText(m_Dir / "out/meshes.csv");
  EXPECT_NE(csv.find(",RAS,label_3_label_3.ply"), std::string::npos) << csv;
}

TEST_F(MeshCommand, RefusesBadInputWithOneLineMessages)
{
  auto r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "labels.nii.gz", "--output-dir", m_Dir / "o", "--labels", "7" });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("label 7: not present"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(m_Dir / "o/meshes.csv"));

  r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "labels.nii.gz", "--output-dir", m_Dir / "o", "--decimate", "1.5" });
  EXPECT_EQ(r.exitCode, 2) << r.err;
  r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "labels.nii.gz", "--output-dir", m_Dir / "o", "--format", "fbx" });
  EXPECT_EQ(r.exitCode, 2) << r.err;
  r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "missing.nii.gz", "--output-dir", m_Dir / "o" });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("missing.nii.gz"), std::string::npos);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", m_Dir / "labels.nii.gz" });
  EXPECT_EQ(r.exitCode, 2) << "--output-dir is required";
  r = RunProcess(MEDSEG_EXECUTABLE, { "mesh", "--help" });
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("--decimate"), std::string::npos);
}
