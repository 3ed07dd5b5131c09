// ProbabilitiesByLabelValue: the one re-indexing of class probabilities by label value.
#include "medsegSegmenter.h"

#include <gtest/gtest.h>

using namespace medseg;

namespace
{

/** A 2 x 1 x 1 probability image with k components, voxel i's values given in order. */
ProbabilityImage3::Pointer
Probabilities(unsigned int k, const std::vector<float> & values)
{
  auto image = ProbabilityImage3::New();
  ProbabilityImage3::SizeType size{ { 2, 1, 1 } };
  image->SetRegions(size);
  image->SetNumberOfComponentsPerPixel(k);
  const double origin[3] = { 1.0, 2.0, 3.0 };
  const double spacing[3] = { 0.5, 1.0, 2.0 };
  image->SetOrigin(origin);
  image->SetSpacing(spacing);
  image->Allocate();
  std::copy(values.begin(), values.end(), image->GetBufferPointer());
  return image;
}

std::vector<float>
Components(const ProbabilityImage3 * image, size_t voxel)
{
  const unsigned int k = image->GetNumberOfComponentsPerPixel();
  return { image->GetBufferPointer() + voxel * k, image->GetBufferPointer() + (voxel + 1) * k };
}

} // namespace

TEST(Segmenter, ProbabilitiesOfClassesThatAreTheirLabelsAreTheSameImage)
{
  Segmentation s;
  s.probabilities = Probabilities(3, { 0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f });
  s.labelOfClass = { 0, 1, 2 };
  EXPECT_EQ(ProbabilitiesByLabelValue(s).GetPointer(), s.probabilities.GetPointer());
}

TEST(Segmenter, ProbabilitiesAreReindexedByLabelValueWithTheGridKept)
{
  Segmentation s;
  s.probabilities = Probabilities(3, { 0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f });
  s.labelOfClass = { 0, 4, 2 }; // class 1 is label 4, class 2 label 2
  const auto byLabel = ProbabilitiesByLabelValue(s);
  ASSERT_NE(byLabel, nullptr);
  ASSERT_EQ(byLabel->GetNumberOfComponentsPerPixel(), 5u);
  EXPECT_EQ(Components(byLabel, 0), (std::vector<float>{ 0.7f, 0.0f, 0.1f, 0.0f, 0.2f }));
  EXPECT_EQ(Components(byLabel, 1), (std::vector<float>{ 0.1f, 0.0f, 0.6f, 0.0f, 0.3f }));
  EXPECT_EQ(byLabel->GetOrigin(), s.probabilities->GetOrigin());
  EXPECT_EQ(byLabel->GetSpacing(), s.probabilities->GetSpacing());
  EXPECT_EQ(byLabel->GetLargestPossibleRegion(), s.probabilities->GetLargestPossibleRegion());
}

TEST(Segmenter, OneSigmoidOutputBecomesBackgroundAndForegroundAtTheirValues)
{
  Segmentation s;
  s.probabilities = Probabilities(1, { 0.25f, 0.9f });
  s.labelOfClass = { 0, 3 };
  const auto byLabel = ProbabilitiesByLabelValue(s);
  ASSERT_NE(byLabel, nullptr);
  ASSERT_EQ(byLabel->GetNumberOfComponentsPerPixel(), 4u);
  EXPECT_EQ(Components(byLabel, 0), (std::vector<float>{ 0.75f, 0.0f, 0.0f, 0.25f }));
  EXPECT_FLOAT_EQ(Components(byLabel, 1)[0], 0.1f);
  EXPECT_FLOAT_EQ(Components(byLabel, 1)[3], 0.9f);
}

TEST(Segmenter, NoReindexingWithoutProbabilitiesAMapOrForLargeLabelValues)
{
  Segmentation s;
  s.labelOfClass = { 0, 1 };
  EXPECT_EQ(ProbabilitiesByLabelValue(s), nullptr); // no probabilities
  s.probabilities = Probabilities(2, { 0.5f, 0.5f, 0.5f, 0.5f });
  s.labelOfClass.clear();
  EXPECT_EQ(ProbabilitiesByLabelValue(s), nullptr); // nnU-Net regions: classes are not labels
  s.labelOfClass = { 0, 256 };
  EXPECT_EQ(ProbabilitiesByLabelValue(s), nullptr);
}
