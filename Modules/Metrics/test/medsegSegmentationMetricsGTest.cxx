#include "medsegError.h"
#include "medsegSegmentationMetrics.h"
#include "medsegTestHelpers.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkCastImageFilter.h"
#include "itkHausdorffDistanceImageFilter.h"
#include "itkLabelOverlapMeasuresImageFilter.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace medseg;

namespace
{

LabelImage3::Pointer
Labels(const test::Geometry & g, const std::function<unsigned short(long, long, long)> & value)
{
  auto cast = itk::CastImageFilter<FloatImage3, LabelImage3>::New();
  cast->SetInput(test::MakeImage(g, [&](long x, long y, long z) { return static_cast<float>(value(x, y, z)); }));
  cast->Update();
  return cast->GetOutput();
}

/** A ball of `label` of radius `r` mm centred at `centre` (in mm from voxel 0). */
std::function<unsigned short(long, long, long)>
Ball(const test::Geometry & g, std::array<double, 3> centre, double r, unsigned short label = 1)
{
  return [=](long x, long y, long z) -> unsigned short {
    const double dx = x * g.spacing[0] - centre[0], dy = y * g.spacing[1] - centre[1], dz = z * g.spacing[2] - centre[2];
    return dx * dx + dy * dy + dz * dz <= r * r ? label : 0;
  };
}

const LabelMetrics &
Find(const std::vector<LabelMetrics> & all, unsigned int label)
{
  for (const auto & m : all)
  {
    if (m.label == label)
      return m;
  }
  throw std::runtime_error("label not evaluated");
}

double
ItkHausdorff(const LabelImage3 * a, const LabelImage3 * b, unsigned short label)
{
  using MaskType = itk::Image<unsigned char, 3>;
  auto ta = itk::BinaryThresholdImageFilter<LabelImage3, MaskType>::New();
  ta->SetInput(a);
  ta->SetLowerThreshold(label);
  ta->SetUpperThreshold(label);
  auto tb = itk::BinaryThresholdImageFilter<LabelImage3, MaskType>::New();
  tb->SetInput(b);
  tb->SetLowerThreshold(label);
  tb->SetUpperThreshold(label);
  auto hd = itk::HausdorffDistanceImageFilter<MaskType, MaskType>::New();
  hd->SetInput1(ta->GetOutput());
  hd->SetInput2(tb->GetOutput());
  hd->SetUseImageSpacing(true);
  hd->Update();
  return hd->GetHausdorffDistance();
}

} // namespace

TEST(SegmentationMetrics, OverlapAndVolumesOfShiftedCubes)
{
  test::Geometry g;
  g.spacing = { 0.5, 1.0, 2.0 }; // 1 mm^3 voxels
  const auto ref = Labels(g, [](long x, long y, long z) -> unsigned short {
    return x >= 4 && x < 12 && y >= 4 && y < 12 && z >= 4 && z < 12 ? 2 : 0;
  });
  const auto pred = Labels(g, [](long x, long y, long z) -> unsigned short {
    return x >= 6 && x < 14 && y >= 4 && y < 12 && z >= 4 && z < 12 ? 2 : 0;
  });
  const auto all = EvaluateSegmentation(ref, pred);
  ASSERT_EQ(all.size(), 1u);
  const auto & m = all[0];
  EXPECT_EQ(m.label, 2u);
  EXPECT_EQ(m.referenceVoxels, 512u);
  EXPECT_EQ(m.intersectionVoxels, 384u);
  EXPECT_DOUBLE_EQ(m.dice, 0.75);
  EXPECT_DOUBLE_EQ(m.iou, 0.6);
  EXPECT_DOUBLE_EQ(m.referenceVolume, 0.512);
  EXPECT_DOUBLE_EQ(m.volumeDifference, 0.0);
  // Shift 2 voxels of 0.5 mm along x: every distance is at most 1 mm.
  EXPECT_NEAR(m.hausdorff, 1.0, 1e-6);
  EXPECT_LE(m.hausdorff95, m.hausdorff);
  EXPECT_GT(m.averageSurfaceDistance, 0.0);
  EXPECT_LT(m.averageSurfaceDistance, 1.0);
  EXPECT_DOUBLE_EQ(EvaluateSegmentation(ref, pred, { {}, 1.0, 95.0 })[0].surfaceDice, 1.0);
}

TEST(SegmentationMetrics, SpheresOffsetByDMillimetresHaveHausdorffD)
{
  for (const auto & [spacing, shift] :
       std::vector<std::pair<std::array<double, 3>, std::array<double, 3>>>{ { { 1, 1, 1 }, { 3, 0, 0 } },
                                                                              { { 0.5, 0.5, 1.5 }, { 3, 0, 0 } },
                                                                              { { 0.5, 0.5, 1.5 }, { 0, 0, 3 } },
                                                                              { { 1, 1, 1 }, { 2, 2, 1 } } })
  {
    test::Geometry g = test::WithDirection({}, "oblique");
    g.size = { static_cast<unsigned long>(40 / spacing[0]), static_cast<unsigned long>(40 / spacing[1]),
               static_cast<unsigned long>(40 / spacing[2]) };
    g.spacing = spacing;
    const std::array<double, 3> c{ 18.0, 18.0, 18.0 };
    const auto                  ref = Labels(g, Ball(g, c, 9.0));
    const auto pred = Labels(g, Ball(g, { c[0] + shift[0], c[1] + shift[1], c[2] + shift[2] }, 9.0));
    const double d = std::sqrt(shift[0] * shift[0] + shift[1] * shift[1] + shift[2] * shift[2]);
    const auto   m = EvaluateSegmentation(ref, pred)[0];
    EXPECT_NEAR(m.hausdorff, d, 1e-4) << "spacing " << spacing[0] << "," << spacing[1] << "," << spacing[2];
    EXPECT_NEAR(m.hausdorff, ItkHausdorff(ref, pred, 1), 1e-4);
    EXPECT_LE(m.hausdorff95, m.hausdorff + 1e-9);
    EXPECT_GT(m.hausdorff95, 0.5 * d);
    // Surface Dice: everything within d, only a sliver within a tenth of it.
    EXPECT_DOUBLE_EQ(EvaluateSegmentation(ref, pred, { {}, d, 95.0 })[0].surfaceDice, 1.0);
    EXPECT_LT(EvaluateSegmentation(ref, pred, { {}, 0.1 * d, 95.0 })[0].surfaceDice, 0.3);
    // Identical images: no distance at all.
    const auto same = EvaluateSegmentation(ref, ref)[0];
    EXPECT_EQ(same.dice, 1.0);
    EXPECT_EQ(same.hausdorff, 0.0);
    EXPECT_EQ(same.averageSurfaceDistance, 0.0);
    EXPECT_EQ(same.surfaceDice, 1.0);
  }
}

TEST(SegmentationMetrics, AgreesWithItkOverlapAndHausdorffFilters)
{
  test::Geometry g;
  g.size = { 36, 30, 24 };
  g.spacing = { 0.8, 1.1, 1.7 };
  // Label 1: ball vs. box; label 2: ball vs. smaller ball; label 3: present in both, displaced.
  const auto ref = Labels(g, [&](long x, long y, long z) -> unsigned short {
    if (Ball(g, { 8, 10, 12 }, 6.0)(x, y, z))
      return 1;
    if (Ball(g, { 20, 20, 20 }, 5.0)(x, y, z))
      return 2;
    return x > 28 && y > 20 && z > 15 ? 3 : 0;
  });
  const auto pred = Labels(g, [&](long x, long y, long z) -> unsigned short {
    if (x >= 4 && x < 16 && y >= 5 && y < 13 && z >= 4 && z < 10)
      return 1;
    if (Ball(g, { 21, 19, 20 }, 4.0)(x, y, z))
      return 2;
    return x > 26 && y > 22 && z > 13 ? 3 : 0;
  });
  const auto ours = EvaluateSegmentation(ref, pred);
  ASSERT_EQ(ours.size(), 3u);
  auto overlap = itk::LabelOverlapMeasuresImageFilter<LabelImage3>::New();
  overlap->SetSourceImage(pred);
  overlap->SetTargetImage(ref);
  overlap->Update();
  const double maxSpacing = 1.7;
  for (const unsigned short label : { 1, 2, 3 })
  {
    const auto & m = Find(ours, label);
    EXPECT_NEAR(m.dice, overlap->GetDiceCoefficient(label), 1e-12) << label;
    EXPECT_NEAR(m.iou, overlap->GetJaccardCoefficient(label), 1e-12) << label;
    const double itkHd = ItkHausdorff(ref, pred, label);
    EXPECT_NEAR(m.hausdorff, itkHd, maxSpacing) << label;
    EXPECT_GE(m.hausdorff, itkHd - 1e-4) << label; // surface distances never undercut voxel distances here
  }
}

TEST(SegmentationMetrics, EmptyLabelsHaveDefinedValues)
{
  test::Geometry g;
  const auto     ref = Labels(g, [](long x, long, long) -> unsigned short { return x < 4 ? 1 : (x > 10 ? 2 : 0); });
  const auto     pred = Labels(g, [](long x, long, long) -> unsigned short { return x < 5 ? 1 : (x == 8 ? 4 : 0); });
  EvaluationOptions options;
  options.labels = { 1, 2, 3, 4 };
  const auto all = EvaluateSegmentation(ref, pred, options);
  ASSERT_EQ(all.size(), 4u);
  const double inf = std::numeric_limits<double>::infinity();
  const auto & missing = Find(all, 2); // reference only
  EXPECT_EQ(missing.dice, 0.0);
  EXPECT_EQ(missing.iou, 0.0);
  EXPECT_EQ(missing.surfaceDice, 0.0);
  EXPECT_EQ(missing.hausdorff, inf);
  EXPECT_EQ(missing.hausdorff95, inf);
  EXPECT_EQ(missing.averageSurfaceDistance, inf);
  EXPECT_DOUBLE_EQ(missing.volumeDifference, -missing.referenceVolume);
  const auto & absent = Find(all, 3); // in neither
  EXPECT_EQ(absent.dice, 1.0);
  EXPECT_EQ(absent.iou, 1.0);
  EXPECT_EQ(absent.hausdorff, 0.0);
  EXPECT_EQ(absent.surfaceDice, 1.0);
  const auto & extra = Find(all, 4); // prediction only
  EXPECT_EQ(extra.dice, 0.0);
  EXPECT_EQ(extra.hausdorff, inf);
  for (const auto & m : all)
  {
    for (const double v : { m.dice, m.iou, m.hausdorff, m.hausdorff95, m.averageSurfaceDistance, m.surfaceDice })
      EXPECT_FALSE(std::isnan(v)) << m.label;
  }
  // Default: every label present in either image, background excluded.
  const auto defaults = EvaluateSegmentation(ref, pred);
  ASSERT_EQ(defaults.size(), 3u);
  EXPECT_EQ(defaults[0].label, 1u);
  EXPECT_EQ(defaults[2].label, 4u);
}

TEST(SegmentationMetrics, RefusesDifferentGeometryNamingTheField)
{
  test::Geometry g;
  auto           h = g;
  h.origin[1] = 3.0;
  try
  {
    EvaluateSegmentation(Labels(g, [](long, long, long) -> unsigned short { return 1; }),
                         Labels(h, [](long, long, long) -> unsigned short { return 1; }));
    FAIL() << "expected InputError";
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), "prediction");
    EXPECT_EQ(e.GetProblem().rfind("origin", 0), 0u) << e.what();
  }
}

TEST(SegmentationMetrics, PercentileAndSummary)
{
  std::vector<double> v{ 4, 1, 3, 2 };
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 4.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1.0);
  const auto s = Summarize({ 1.0, 2.0, 6.0, std::numeric_limits<double>::infinity() });
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.nonFinite, 1u);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.median, 2.0);
  EXPECT_NEAR(s.std, std::sqrt(7.0), 1e-12);
}

TEST(SegmentationMetrics, TheSurfaceOfA2DImageIsItsContour)
{
  // One slice: an 11 x 11 square (reference) around a concentric 7 x 7 square (prediction), 1 mm
  // pixels. Contour to contour, every prediction pixel is 2 mm from the reference contour; the
  // reference contour is 2 mm from the prediction's along the sides, sqrt(5) next to the corners
  // and sqrt(8) at them. (Were every pixel of a single slice surface, the prediction would lie on
  // the reference's surface: distances 0, surface Dice > 0.)
  test::Geometry g;
  g.size = { 15, 15, 1 };
  const auto square = [](long lo, long hi) {
    return [=](long x, long y, long) -> unsigned short { return x >= lo && x <= hi && y >= lo && y <= hi ? 1 : 0; };
  };
  const auto reference = Labels(g, square(2, 12));
  const auto prediction = Labels(g, square(4, 10));
  const auto m = Find(EvaluateSegmentation(reference, prediction), 1);
  EXPECT_EQ(m.referenceVoxels, 121u);
  EXPECT_EQ(m.predictionVoxels, 49u);
  EXPECT_NEAR(m.hausdorff, std::sqrt(8.0), 1e-5);
  EXPECT_DOUBLE_EQ(m.surfaceDice, 0.0); // no contour pixel within 1 mm of the other contour
  // 24 prediction contour pixels at 2 mm; 40 reference contour pixels: 28 at 2, 8 at sqrt(5), 4 at sqrt(8).
  const double expected = (24 * 2.0 + 28 * 2.0 + 8 * std::sqrt(5.0) + 4 * std::sqrt(8.0)) / 64.0;
  EXPECT_NEAR(m.averageSurfaceDistance, expected, 1e-5);
}
