// End-to-end tests of `medseg render` and `medseg view`: run by CTest under `xvfb-run -a`.
#include "medsegImageFileIO.h"
#include "medsegOverviewRenderer.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"
#include "medsegVisualizationTestUtilities.h"

#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGReader.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;

namespace
{

class RenderCommand : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    if (!HasRenderingDisplay())
    {
      if (std::getenv("MEDSEG_REQUIRE_DISPLAY") != nullptr)
        FAIL() << "no X display although CTest ran this under xvfb-run";
      GTEST_SKIP() << "no X display (run under xvfb-run -a)";
    }
    test::Geometry g = test::WithDirection({}, "permuted");
    g.size = { 40, 40, 40 };
    m_Image = test::MakeBallPhantom(g, { 20, 20, 20 }, 8, 150.0f, 30.0f);
    auto labels = test::MakeLabelBall(g, { 20, 20, 20 }, 8, 2);
    WriteImageFile(m_Image.GetPointer(), m_Dir / "image.nii.gz");
    WriteImageFile(labels.GetPointer(), m_Dir / "labels.nii.gz");
    test::WriteText(m_Dir / "table.json", R"({"labels":[{"value":2,"name":"tumour","color":[250,200,0]}]})");
  }

  /** Pixels of the given colour in a PNG. */
  static std::size_t
  CountColour(const std::string & png, const std::array<int, 3> & colour, int & width)
  {
    vtkNew<vtkPNGReader> reader;
    reader->SetFileName(png.c_str());
    reader->Update();
    int dims[3];
    reader->GetOutput()->GetDimensions(dims);
    width = dims[0];
    std::size_t n = 0;
    for (int y = 0; y < dims[1]; ++y)
      for (int x = 0; x < dims[0]; ++x)
      {
        bool same = true;
        for (int k = 0; k < 3; ++k)
          same = same && std::abs(reader->GetOutput()->GetScalarComponentAsDouble(x, y, 0, k) - colour[k]) <= 3;
        n += same;
      }
    return n;
  }

  test::TemporaryDirectory m_Dir;
  FloatImage3::Pointer     m_Image;
};

} // namespace

TEST_F(RenderCommand, WritesAnOverviewWithTheLabelColour)
{
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "render", m_Dir / "image.nii.gz", "--labels", m_Dir / "labels.nii.gz",
                                                 "--label-table", m_Dir / "table.json", "--opacity", "1",
                                                 "--size", "200", "--output", m_Dir / "overview.png" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  int        width = 0;
  const auto yellow = CountColour(m_Dir / "overview.png", { 250, 200, 0 }, width);
  RenderOptions options;
  options.panelSize = 200;
  EXPECT_EQ(width, ComputeOverviewLayout(options).width);
  // Three discs of radius ~8.25 voxels at 40 voxels per 200 pixels (5 px per mm) plus the legend swatch.
  const double disc = M_PI * 8.25 * 8.25 * 25.0;
  EXPECT_GT(yellow, 3 * 0.7 * disc);
  EXPECT_LT(yellow, 3 * 1.3 * disc + 2000);

  // Existing output is kept unless --overwrite.
  auto again = RunProcess(MEDSEG_EXECUTABLE, { "render", m_Dir / "image.nii.gz", "--output", m_Dir / "overview.png" });
  EXPECT_EQ(again.exitCode, 1);
  again = RunProcess(MEDSEG_EXECUTABLE,
                     { "render", m_Dir / "image.nii.gz", "--output", m_Dir / "overview.png", "--overwrite" });
  EXPECT_EQ(again.exitCode, 0) << again.err;
  EXPECT_EQ(CountColour(m_Dir / "overview.png", { 250, 200, 0 }, width), 0u) << "no labels given: no label colour";
}

TEST_F(RenderCommand, RefusesBadOptions)
{
  auto r = RunProcess(MEDSEG_EXECUTABLE, { "render", m_Dir / "image.nii.gz", "--output", m_Dir / "o.jpg" });
  EXPECT_EQ(r.exitCode, 2);
  r = RunProcess(MEDSEG_EXECUTABLE, { "render", m_Dir / "image.nii.gz", "--output", m_Dir / "o.png", "--window", "10" });
  EXPECT_EQ(r.exitCode, 2) << "--window without --level";
  r = RunProcess(MEDSEG_EXECUTABLE,
                 { "render", m_Dir / "image.nii.gz", "--labels", m_Dir / "labels.nii.gz", "--only", "5", "--output",
                   m_Dir / "o.png" });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("label 5"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(m_Dir / "o.png"));
}

TEST_F(RenderCommand, ViewRunsScriptedFramesOffScreen)
{
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "view", m_Dir / "image.nii.gz", "--labels", m_Dir / "labels.nii.gz",
                                                 "--frames", "3", "--offscreen", "--size", "128", "--screenshot",
                                                 m_Dir / "view.png" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  int width = 0;
  EXPECT_GT(CountColour(m_Dir / "view.png", { 0, 0, 0 }, width), 0u);
  EXPECT_TRUE(fs::exists(m_Dir / "view.png"));
  const auto bad = RunProcess(MEDSEG_EXECUTABLE, { "view", m_Dir / "image.nii.gz", "--offscreen" });
  EXPECT_EQ(bad.exitCode, 2);
}
