// The class -> label re-indexing of a Segmentation's probabilities (medsegSegmenter.h).
#include "medsegSegmenter.h"

#include <algorithm>

namespace medseg
{

ProbabilityImage3::Pointer
ProbabilitiesByLabelValue(const Segmentation & segmentation)
{
  const ProbabilityImage3 *         classes = segmentation.probabilities;
  const std::vector<unsigned int> & labelOfClass = segmentation.labelOfClass;
  if (classes == nullptr || labelOfClass.empty())
    return nullptr;
  const unsigned int k = classes->GetNumberOfComponentsPerPixel();
  bool               identity = k >= 2 && k == labelOfClass.size();
  for (unsigned int c = 0; identity && c < k; ++c)
    identity = labelOfClass[c] == c;
  if (identity)
    return segmentation.probabilities;
  const unsigned int top = *std::max_element(labelOfClass.begin(), labelOfClass.end());
  if (top > 255 || labelOfClass.size() < 2)
    return nullptr;
  auto out = ProbabilityImage3::New();
  out->CopyInformation(classes);
  out->SetRegions(classes->GetLargestPossibleRegion());
  out->SetNumberOfComponentsPerPixel(top + 1);
  out->Allocate(true);
  const size_t  n = classes->GetLargestPossibleRegion().GetNumberOfPixels();
  const float * in = classes->GetBufferPointer();
  float *       o = out->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
  {
    float * values = o + i * (top + 1);
    if (k == 1)
    {
      values[labelOfClass[0]] += 1.0f - in[i];
      values[labelOfClass[1]] += in[i];
    }
    else
    {
      for (unsigned int c = 0; c < k && c < labelOfClass.size(); ++c)
        values[labelOfClass[c]] += in[i * k + c];
    }
  }
  return out;
}

} // namespace medseg
