// The 3D Slicer CLI modules (MedSegSegment, MedSegPostprocess, MedSegEvaluate, MedSegMesh), run
// exactly as Slicer runs them: `--xml` to discover them, then every flag with its value (booleans
// bare, only when true), the images as positional NRRD files, and --returnparameterfile.
#include "medsegFixtureModels.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include "itkCastImageFilter.h"
#include "itkImageRegionConstIterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;

namespace
{

std::string
Module(const std::string & name)
{
  return std::string(MEDSEG_SLICER_BIN_DIR) + "/" + name;
}

test::Geometry
PhantomGeometry()
{
  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 24, 22, 20 };
  g.spacing = { 0.9, 1.1, 1.3 };
  g.origin = { -10.0, 4.5, 22.0 };
  return g;
}

bool
InBall(const test::Geometry & g, long x, long y, long z, double radiusMm)
{
  const double dx = (x - 12) * g.spacing[0], dy = (y - 11) * g.spacing[1], dz = (z - 10) * g.spacing[2];
  return dx * dx + dy * dy + dz * dz <= radiusMm * radiusMm;
}

/** A label map as Slicer hands it to a module: unsigned char NRRD. */
std::string
WriteLabelMap(const test::TemporaryDirectory & dir, const std::string & name,
              const std::function<bool(long, long, long)> & inside)
{
  const auto g = PhantomGeometry();
  const auto image = test::MakeImage(g, [&](long x, long y, long z) { return inside(x, y, z) ? 1.0f : 0.0f; });
  auto       cast = itk::CastImageFilter<FloatImage3, itk::Image<unsigned char, 3>>::New();
  cast->SetInput(image);
  cast->Update();
  WriteImageFile(cast->GetOutput(), dir / name);
  return dir / name;
}

size_t
CountLabel(const LabelImage3 * labels, unsigned int label)
{
  size_t n = 0;
  for (itk::ImageRegionConstIterator<LabelImage3> it(labels, labels->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    n += it.Get() == label ? 1 : 0;
  }
  return n;
}

void
ExpectSameGeometry(const itk::ImageBase<3> * a, const itk::ImageBase<3> * b)
{
  EXPECT_EQ(a->GetLargestPossibleRegion().GetSize(), b->GetLargestPossibleRegion().GetSize());
  for (unsigned int i = 0; i < 3; ++i)
  {
    EXPECT_NEAR(a->GetSpacing()[i], b->GetSpacing()[i], 1e-5);
    EXPECT_NEAR(a->GetOrigin()[i], b->GetOrigin()[i], 1e-4);
    for (unsigned int j = 0; j < 3; ++j)
      EXPECT_NEAR(a->GetDirection()[i][j], b->GetDirection()[i][j], 1e-5);
  }
}

} // namespace

TEST(SlicerModules, XmlDescribesTypedImagesAndIdentifierNames)
{
  std::vector<std::string> modules{ "MedSegSegment", "MedSegPostprocess", "MedSegEvaluate" };
#ifdef MEDSEG_WITH_VISUALIZATION
  modules.push_back("MedSegMesh"); // built only with VTK
#endif
  for (const std::string & name : modules)
  {
    const auto r = RunProcess(Module(name), { "--xml" });
    ASSERT_EQ(r.exitCode, 0) << name << ": " << r.err;
    EXPECT_EQ(r.out.rfind("<?xml", 0), 0u) << name;
    EXPECT_NE(r.out.find("<executable>"), std::string::npos) << name;
    EXPECT_NE(r.out.find("<category>"), std::string::npos) << name;
    EXPECT_NE(r.out.find("<index>0</index>"), std::string::npos) << name;
    EXPECT_EQ(r.out.find("<name>patch-size</name>"), std::string::npos) << name;
  }
  const auto segment = RunProcess(Module("MedSegSegment"), { "--xml" }).out;
  EXPECT_NE(segment.find("<image type=\"label\" reference=\"input\">"), std::string::npos) << segment;
  EXPECT_NE(segment.find("<longflag>patchSize</longflag>"), std::string::npos) << segment;
  EXPECT_NE(segment.find("<file>"), std::string::npos) << segment;
  EXPECT_NE(segment.find("One of: gaussian, constant."), std::string::npos) << segment;
  const auto postprocess = RunProcess(Module("MedSegPostprocess"), { "--xml" }).out;
  EXPECT_NE(postprocess.find("<image type=\"label\">"), std::string::npos) << postprocess;
  EXPECT_NE(postprocess.find("<image type=\"scalar\">"), std::string::npos) << postprocess;
}

TEST(SlicerModules, SegmentRunsAsSlicerCallsIt)
{
  test::TemporaryDirectory dir;
  auto                     model = test::MakeThresholdModule(0.0);
  test::SaveModule(model, dir / "model.pt");
  const auto g = PhantomGeometry();
  const auto image = test::MakeImage(g, [&](long x, long y, long z) { return InBall(g, x, y, z, 6.0) ? 100.0f : 0.0f; });
  WriteImageFile(image.GetPointer(), dir / "input.nrrd");

  // Slicer passes every parameter that has a value (empty ones it leaves empty), booleans only when on.
  const auto r = RunProcess(Module("MedSegSegment"),
                            { "--patchSize", "16,16,16", "--overlap", "", "--blend", "gaussian", "--batchSize", "",
                              "--normalize", "", "--threads", "0", "--device", "cpu", "--postprocess", "",
                              "--no-optimize", "--quiet", "--returnparameterfile", dir / "return.txt", dir / "model.pt",
                              dir / "input.nrrd", dir / "output.nrrd" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto labels = ReadLabelImage(dir / "output.nrrd");
  ExpectSameGeometry(labels, image);
  size_t ball = 0;
  for (long z = 0; z < 20; ++z)
    for (long y = 0; y < 22; ++y)
      for (long x = 0; x < 24; ++x)
        ball += InBall(g, x, y, z, 6.0) ? 1 : 0;
  EXPECT_EQ(CountLabel(labels, 1), ball);
  const std::string returned = test::ReadText(dir / "return.txt");
  EXPECT_NE(returned.find("numberOfClasses = 2\n"), std::string::npos) << returned;
  EXPECT_NE(returned.find("label1VolumeMl = "), std::string::npos) << returned;

  // Slicer's progress protocol on stdout (--quiet silences MedSeg's own lines, not Slicer's bar):
  // a <filter-start> per phase in order, progress that never goes back and ends at 1, one <filter-end>.
  size_t at = 0;
  for (const char * phase : { "reading", "loading model", "inference", "writing" })
  {
    const size_t found = r.out.find(std::string("<filter-comment>") + phase + "</filter-comment>", at);
    ASSERT_NE(found, std::string::npos) << phase << " missing or out of order in: " << r.out;
    at = found;
  }
  std::vector<double> progress;
  for (size_t p = r.out.find("<filter-progress>"); p != std::string::npos; p = r.out.find("<filter-progress>", p + 1))
    progress.push_back(std::stod(r.out.substr(p + std::string("<filter-progress>").size())));
  ASSERT_GE(progress.size(), 4u) << r.out;
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end())) << r.out;
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);
  EXPECT_NE(r.out.find("<filter-end>\n<filter-name>segment</filter-name>", at), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("<filter-end>"), r.out.rfind("<filter-end>")) << r.out;
}

TEST(SlicerModules, SegmentWithoutItsPositionalsIsAUsageError)
{
  const auto r = RunProcess(Module("MedSegSegment"), { "--patchSize", "16" });
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("MedSegSegment"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model is required"), std::string::npos) << r.err;
}

TEST(SlicerModules, PostprocessRunsAsSlicerCallsIt)
{
  test::TemporaryDirectory dir;
  const auto               g = PhantomGeometry();
  const auto input = WriteLabelMap(dir, "input.nrrd", [&](long x, long y, long z) {
    return (InBall(g, x, y, z, 7.0) && !InBall(g, x, y, z, 2.0)) || (x == 1 && y == 1 && z == 1);
  });
  const auto r = RunProcess(Module("MedSegPostprocess"), { "--postprocess", "largest-component;fill-holes",
                                                           "--returnparameterfile", dir / "return.txt", input,
                                                           dir / "output.nrrd" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto output = ReadLabelImage(dir / "output.nrrd");
  ExpectSameGeometry(output, ReadLabelImage(input));
  EXPECT_EQ(output->GetPixel({ { 1, 1, 1 } }), 0u);  // the island is gone
  EXPECT_EQ(output->GetPixel({ { 12, 11, 10 } }), 1u); // the hole is filled
  EXPECT_EQ(test::ReadText(dir / "return.txt"), "maximumLabel = 1\n");
}

TEST(SlicerModules, EvaluateReportsDiceThroughTheReturnParameterFile)
{
  test::TemporaryDirectory dir;
  const auto               g = PhantomGeometry();
  const auto reference = WriteLabelMap(dir, "reference.nrrd", [&](long x, long y, long z) { return InBall(g, x, y, z, 6.0); });
  const auto same = WriteLabelMap(dir, "same.nrrd", [&](long x, long y, long z) { return InBall(g, x, y, z, 6.0); });
  const auto r = RunProcess(Module("MedSegEvaluate"), { "--outputCsv", dir / "metrics.csv", "--outputJson", "",
                                                        "--tolerance", "1", "--quiet", "--returnparameterfile",
                                                        dir / "return.txt", reference, same });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "metrics.csv"));
  EXPECT_FALSE(fs::exists(dir / "metrics.json"));
  const std::string returned = test::ReadText(dir / "return.txt");
  EXPECT_NE(returned.find("diceLabel1 = 1.0000\n"), std::string::npos) << returned;
  EXPECT_NE(returned.find("hd95Label1 = 0.0000\n"), std::string::npos) << returned;

  // A smaller prediction: Dice 2|A n B| / (|A| + |B|) < 1.
  const auto smaller = WriteLabelMap(dir, "smaller.nrrd", [&](long x, long y, long z) { return InBall(g, x, y, z, 4.0); });
  const auto r2 = RunProcess(Module("MedSegEvaluate"), { "--returnparameterfile", dir / "return2.txt", reference, smaller });
  ASSERT_EQ(r2.exitCode, 0) << r2.err;
  const std::string returned2 = test::ReadText(dir / "return2.txt");
  EXPECT_EQ(returned2.find("diceLabel1 = 1.0000"), std::string::npos) << returned2;
  EXPECT_NE(returned2.find("diceLabel1 = 0."), std::string::npos) << returned2;
}

#ifdef MEDSEG_WITH_VISUALIZATION
TEST(SlicerModules, MeshRunsAsSlicerCallsIt)
{
  test::TemporaryDirectory dir;
  const auto               g = PhantomGeometry();
  const auto labels = WriteLabelMap(dir, "labels.nrrd", [&](long x, long y, long z) { return InBall(g, x, y, z, 6.0); });
  const auto r = RunProcess(Module("MedSegMesh"), { "--outputDir", dir / "meshes", "--labels", "", "--labelTable", "",
                                                    "--smoothing", "20", "--format", "stl,vtp", "--coordinates", "LPS",
                                                    "--returnparameterfile", dir / "return.txt", labels });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "meshes/meshes.csv"));
  bool stl = false;
  for (const auto & entry : fs::directory_iterator(dir / "meshes"))
    stl = stl || (entry.path().extension() == ".stl" && fs::file_size(entry.path()) > 1000);
  EXPECT_TRUE(stl);
  EXPECT_EQ(test::ReadText(dir / "return.txt"), "numberOfMeshes = 1\n");
}
#endif

TEST(SlicerModules, HelpShowsTheSlicerForm)
{
  const auto r = RunProcess(Module("MedSegPostprocess"), { "--help" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("Usage: MedSegPostprocess input output"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--returnparameterfile"), std::string::npos) << r.out;
}
