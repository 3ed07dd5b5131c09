#include "medsegEdgeRefinementLabelImageFilter.h"
#include "medsegLabelTestUtilities.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace medseg;
using FilterType = EdgeRefinementLabelImageFilter<LabelImage3, FloatImage3>;

namespace
{

test::Geometry
Grid(std::array<double, 3> spacing = { 1.0, 1.0, 1.0 })
{
  test::Geometry g;
  g.size = { 40, 40, 40 };
  g.spacing = spacing;
  return g;
}

/** Distance in mm from the voxel to the phantom centre (voxel 20,20,20). */
double
Radius(const test::Geometry & g, long x, long y, long z)
{
  const double dx = (x - 20) * g.spacing[0], dy = (y - 20) * g.spacing[1], dz = (z - 20) * g.spacing[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

/** A bright ball of radius 10.6 mm (no voxel centre exactly on the edge) with mild texture. */
FloatImage3::Pointer
Intensity(const test::Geometry & g)
{
  return test::MakeImage(g, [&](long x, long y, long z) {
    const float texture = static_cast<float>(3.0 * std::sin(1.7 * x + 0.3 * y) * std::cos(0.9 * z + 1.1 * y));
    return (Radius(g, x, y, z) <= 10.6 ? 100.0f : 20.0f) + texture;
  });
}

LabelImage3::Pointer
Ball(const test::Geometry & g, double radius)
{
  return test::MakeLabels(g, [&](long x, long y, long z) -> unsigned short { return Radius(g, x, y, z) <= radius; });
}

LabelImage3::Pointer
Refine(const LabelImage3 * labels, const FloatImage3 * intensity, double band,
       const ProbabilityImage3 * probabilities = nullptr)
{
  auto filter = FilterType::New();
  filter->SetInput(labels);
  filter->SetFeatureImage(intensity);
  if (probabilities)
  {
    filter->SetProbabilityImage(probabilities);
  }
  filter->SetBandWidth(band);
  filter->Update();
  return filter->GetOutput();
}

} // namespace

TEST(EdgeRefinement, DefaultsAreDocumented)
{
  auto filter = FilterType::New();
  EXPECT_EQ(filter->GetBandWidth(), 2.0);
  EXPECT_EQ(filter->GetSigma(), 1.0);
  EXPECT_EQ(filter->GetConfidenceThreshold(), 0.9);
}

TEST(EdgeRefinement, RaisesDiceWhenTheBoundaryIsDisplacedByOneOrTwoVoxels)
{
  const auto g = Grid();
  const auto truth = Ball(g, 10.6);
  const auto image = Intensity(g);
  for (const double predicted : { 8.6, 9.6, 11.6, 12.6 }) // 1 and 2 voxels in and out
  {
    const auto   labels = Ball(g, predicted);
    const double before = test::DiceOf(labels, truth, 1);
    const auto   refined = Refine(labels, image, 3.0);
    const double after = test::DiceOf(refined, truth, 1);
    EXPECT_GT(after, before + 0.03) << "predicted radius " << predicted;
    EXPECT_GT(after, 0.99) << "predicted radius " << predicted;
    EXPECT_TRUE(test::SameGeometry(labels, refined));
  }
}

TEST(EdgeRefinement, LeavesACorrectBoundaryWhereItIs)
{
  const auto g = Grid();
  const auto truth = Ball(g, 10.6);
  const auto refined = Refine(truth, Intensity(g), 2.0);
  EXPECT_GT(test::DiceOf(refined, truth, 1), 0.997);
  // At most a few one-voxel tips of the digital ball may flip (they are ridge voxels themselves).
  EXPECT_LE(test::Differences(refined, truth), test::Count(truth, 1) / 500);
}

TEST(EdgeRefinement, WorksInMillimetresOnAnisotropicGrids)
{
  const auto g = Grid({ 0.8, 0.8, 1.6 });
  const auto truth = Ball(g, 10.6);
  const auto labels = Ball(g, 9.0); // 2 voxels in-plane, 1 voxel across slices
  const auto refined = Refine(labels, Intensity(g), 3.0);
  EXPECT_GT(test::DiceOf(refined, truth, 1), test::DiceOf(labels, truth, 1) + 0.03);
  EXPECT_GT(test::DiceOf(refined, truth, 1), 0.95);
}

TEST(EdgeRefinement, NeverMovesAVoxelFromOneLabelIntoAnother)
{
  const auto g = Grid();
  // Label 1 = left half of a displaced ball, label 2 = its right half; the edge is elsewhere.
  const auto labels = test::MakeLabels(g, [&](long x, long y, long z) -> unsigned short {
    if (Radius(g, x, y, z) > 12.6)
      return 0;
    return x < 20 ? 1 : 2;
  });
  const auto refined = Refine(labels, Intensity(g), 3.0);
  size_t     swapped = 0, changed = 0;
  for (long z = 0; z < 40; ++z)
    for (long y = 0; y < 40; ++y)
      for (long x = 0; x < 40; ++x)
      {
        const auto a = test::At(labels, x, y, z), b = test::At(refined, x, y, z);
        swapped += a != 0 && b != 0 && a != b;
        changed += a != b;
      }
  EXPECT_EQ(swapped, 0u);
  EXPECT_GT(changed, 100u); // the outer boundary did move onto the edge
}

TEST(EdgeRefinement, ConfidentProbabilitiesPinTheBoundary)
{
  const auto g = Grid();
  const auto truth = Ball(g, 10.6);
  const auto labels = Ball(g, 8.6);
  // Flat intensity: no edge to follow, so only the probability markers can move the boundary.
  const auto flat = test::MakeImage(g, [](long, long, long) { return 50.0f; });
  auto       probabilities = ProbabilityImage3::New();
  probabilities->CopyInformation(truth);
  probabilities->SetRegions(truth->GetLargestPossibleRegion());
  probabilities->SetNumberOfComponentsPerPixel(2);
  probabilities->Allocate();
  for (long z = 0; z < 40; ++z)
    for (long y = 0; y < 40; ++y)
      for (long x = 0; x < 40; ++x)
      {
        itk::VariableLengthVector<float> p(2);
        const bool                       inside = test::At(truth, x, y, z) == 1;
        p[0] = inside ? 0.05f : 0.95f;
        p[1] = 1.0f - p[0];
        probabilities->SetPixel({ { x, y, z } }, p);
      }
  const auto refined = Refine(labels, flat, 3.0, probabilities);
  EXPECT_EQ(test::Differences(refined, truth), 0u);
}

TEST(EdgeRefinement, ASmallLabelInsideTheBandSurvives)
{
  const auto g = Grid();
  const auto labels = test::MakeLabels(g, [&](long x, long y, long z) -> unsigned short {
    return Radius(g, x, y, z) <= 10.6 ? 1 : (Radius(g, x - 12, y - 12, z) <= 1.0 ? 2 : 0);
  });
  const auto refined = Refine(labels, Intensity(g), 3.0);
  EXPECT_GT(test::Count(refined, 2), 0u);
}
