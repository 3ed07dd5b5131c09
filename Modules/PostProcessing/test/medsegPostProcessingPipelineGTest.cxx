#include "medsegError.h"
#include "medsegLabelTestUtilities.h"
#include "medsegPostProcessingPipeline.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace medseg;
using Kind = PostProcessingStep::Kind;

namespace
{

std::string
UsageMessage(const std::string & spec)
{
  try
  {
    PostProcessingSpec::Parse(spec);
  }
  catch (const std::invalid_argument & e)
  {
    return e.what();
  }
  return "";
}

} // namespace

TEST(PostProcessingSpec, ParsesTheDocumentedExample)
{
  const auto steps =
    ParsePostProcessingSpec("largest-component;islands:min=100mm3;fill-holes;smooth:1mm;refine-edges:band=2mm");
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[0].kind, Kind::LargestComponent);
  EXPECT_EQ(steps[0].keep, 1u);
  EXPECT_EQ(steps[1].kind, Kind::Islands);
  EXPECT_EQ(steps[1].minimumVolume, 100.0);
  EXPECT_EQ(steps[1].keep, 0u);
  EXPECT_EQ(steps[2].kind, Kind::FillHoles);
  EXPECT_EQ(steps[2].axis, -1);
  EXPECT_EQ(steps[3].kind, Kind::Smooth);
  EXPECT_EQ(steps[3].radius, 1.0);
  EXPECT_FALSE(steps[3].median);
  EXPECT_EQ(steps[4].kind, Kind::RefineEdges);
  EXPECT_EQ(steps[4].band, 2.0);
  EXPECT_EQ(steps[4].sigma, 1.0);
}

TEST(PostProcessingSpec, ParsesUnitsAndOptions)
{
  const auto steps = ParsePostProcessingSpec(
    " islands:0.5mL ; islands:keep=3,min=20mm^3; fill-holes:axis=z; smooth:radius=1.5 mm,mode=median;"
    "margin:-2mm,label=3; largest-component:keep=2,connectivity=full; refine-edges:3mm,sigma=0.5mm,confidence=0.8;");
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_DOUBLE_EQ(steps[0].minimumVolume, 500.0);
  EXPECT_EQ(steps[1].keep, 3u);
  EXPECT_DOUBLE_EQ(steps[1].minimumVolume, 20.0);
  EXPECT_EQ(steps[2].axis, 2);
  EXPECT_DOUBLE_EQ(steps[3].radius, 1.5);
  EXPECT_TRUE(steps[3].median);
  EXPECT_DOUBLE_EQ(steps[4].distance, -2.0);
  EXPECT_EQ(steps[4].label, 3u);
  EXPECT_EQ(steps[5].keep, 2u);
  EXPECT_TRUE(steps[5].fullyConnected);
  EXPECT_DOUBLE_EQ(steps[6].band, 3.0);
  EXPECT_DOUBLE_EQ(steps[6].sigma, 0.5);
  EXPECT_DOUBLE_EQ(steps[6].confidence, 0.8);
  EXPECT_TRUE(ParsePostProcessingSpec("").empty());
  EXPECT_TRUE(PostProcessingSpec::Parse("fill-holes;refine-edges").NeedsIntensity());
  EXPECT_FALSE(PostProcessingSpec::Parse("fill-holes").NeedsIntensity());
  EXPECT_TRUE(PostProcessingSpec::Parse(";;").IsEmpty());
  EXPECT_EQ(PostProcessingSpec::Parse("fill-holes;smooth:1mm").GetSteps().size(), 2u);
  EXPECT_EQ(PostProcessingSpec::Parse("fill-holes;smooth:1mm").GetText(), "fill-holes;smooth:1mm");
  EXPECT_TRUE(PostProcessingSpec().IsEmpty());
}

TEST(PostProcessingSpec, MalformedSpecsAreRefusedSayingWhatIsWrong)
{
  EXPECT_NE(UsageMessage("smooth:1").find("needs a unit"), std::string::npos);
  EXPECT_NE(UsageMessage("smooth:1cm").find("unknown unit"), std::string::npos);
  EXPECT_NE(UsageMessage("islands").find("min=VOLUME"), std::string::npos);
  EXPECT_NE(UsageMessage("islands:min=100").find("needs a unit"), std::string::npos);
  EXPECT_NE(UsageMessage("islands:min=-5mm3").find("negative"), std::string::npos);
  EXPECT_NE(UsageMessage("largest-component;dilate:2mm").find("unknown step 'dilate'"), std::string::npos);
  EXPECT_NE(UsageMessage("fill-holes:axis=w").find("axis must be"), std::string::npos);
  EXPECT_NE(UsageMessage("smooth:mode=mean").find("majority or median"), std::string::npos);
  EXPECT_NE(UsageMessage("margin").find("distance"), std::string::npos);
  EXPECT_NE(UsageMessage("refine-edges:band=2mm,colour=red").find("unknown argument 'colour'"), std::string::npos);
  EXPECT_NE(UsageMessage("refine-edges:confidence=1.5").find("[0, 1]"), std::string::npos);
  EXPECT_NE(UsageMessage("smooth:1mm,2mm").find("more than one"), std::string::npos);
  EXPECT_NE(UsageMessage("smooth:abc").find("smooth:abc"), std::string::npos); // names the step
  EXPECT_EQ(UsageMessage("largest-component;islands:min=100mm3;fill-holes;smooth:1mm;refine-edges:band=2mm"), "");
}

TEST(PostProcessingPipeline, KeepsGeometryExactlyAndRunsEveryStep)
{
  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 32, 32, 24 };
  g.spacing = { 0.9, 0.9, 1.7 };
  g.origin = { -12.5, 30.25, 7.0 };
  const auto radius = [&](long x, long y, long z, double cx, double cy, double cz) {
    const double dx = (x - cx) * g.spacing[0], dy = (y - cy) * g.spacing[1], dz = (z - cz) * g.spacing[2];
    return std::sqrt(dx * dx + dy * dy + dz * dz);
  };
  // A ball of label 1 with a hole in the middle, plus a small stray island of label 1.
  const auto labels = test::MakeLabels(g, [&](long x, long y, long z) -> unsigned short {
    const double r = radius(x, y, z, 16, 16, 12);
    if (r <= 9.0 && r > 2.0)
      return 1;
    return (x == 2 && y == 2 && z == 2) ? 1 : 0;
  });
  const auto intensity = test::MakeImage(g, [&](long x, long y, long z) {
    return radius(x, y, z, 16, 16, 12) <= 9.0 ? 80.0f : 10.0f;
  });
  const auto out = ApplyPostProcessing(
    labels, PostProcessingSpec::Parse("largest-component;islands:min=100mm3;fill-holes;smooth:1mm;refine-edges:band=2mm"),
    intensity);
  ASSERT_TRUE(out);
  EXPECT_TRUE(test::SameGeometry(labels, out));
  EXPECT_EQ(test::At(out, 2, 2, 2), 0);   // island removed
  EXPECT_EQ(test::At(out, 16, 16, 12), 1); // hole filled
  EXPECT_NE(out.GetPointer(), labels);
  EXPECT_EQ(test::At(labels, 16, 16, 12), 0); // input untouched
  // Empty spec: an identical copy.
  const auto copy = ApplyPostProcessing(labels, PostProcessingSpec(), nullptr);
  EXPECT_EQ(test::Differences(copy, labels), 0u);
  EXPECT_TRUE(test::SameGeometry(labels, copy));
}

TEST(PostProcessingPipeline, RefineEdgesNeedsAnIntensityImageOnTheSameGrid)
{
  test::Geometry g;
  const auto     labels = test::MakeLabels(g, [](long x, long, long) -> unsigned short { return x < 8; });
  EXPECT_THROW(ApplyPostProcessing(labels, PostProcessingSpec::Parse("refine-edges"), nullptr), std::invalid_argument);
  auto h = g;
  h.spacing[2] = 2.0;
  const auto other = test::MakeImage(h, [](long, long, long) { return 0.0f; });
  try
  {
    ApplyPostProcessing(labels, PostProcessingSpec::Parse("refine-edges"), other);
    FAIL() << "expected InputError";
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), "intensity image");
    EXPECT_NE(e.GetProblem().find("spacing"), std::string::npos);
  }
}
