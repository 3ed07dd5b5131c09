#ifndef medsegVotingSmoothingLabelImageFilter_hxx
#define medsegVotingSmoothingLabelImageFilter_hxx

#include "medsegLabelImageUtilities.h"

#include "itkConstNeighborhoodIterator.h"
#include "itkImageRegionIterator.h"

#include <utility>

namespace medseg
{

template <typename TLabelImage>
VotingSmoothingLabelImageFilter<TLabelImage>::VotingSmoothingLabelImageFilter()
{
  this->DynamicMultiThreadingOn();
}

template <typename TLabelImage>
void
VotingSmoothingLabelImageFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  auto * input = const_cast<LabelImageType *>(this->GetInput());
  if (input == nullptr)
  {
    return;
  }
  auto requested = input->GetRequestedRegion();
  requested.PadByRadius(RadiusInVoxels(input, m_Radius));
  requested.Crop(input->GetLargestPossibleRegion());
  input->SetRequestedRegion(requested);
}

template <typename TLabelImage>
void
VotingSmoothingLabelImageFilter<TLabelImage>::DynamicThreadedGenerateData(const OutputImageRegionType & region)
{
  const LabelImageType * input = this->GetInput();
  LabelImageType *       output = this->GetOutput();
  const auto             radius = RadiusInVoxels(input, m_Radius);

  using IteratorType = itk::ConstNeighborhoodIterator<LabelImageType>;
  IteratorType it(radius, input, region);
  // The ball: neighbourhood positions within m_Radius mm, and which of them touch the centre.
  std::vector<std::pair<typename IteratorType::NeighborIndexType, bool>> ball;
  for (typename IteratorType::NeighborIndexType n = 0; n < it.Size(); ++n)
  {
    const auto offset = it.GetOffset(n);
    double     squared = 0.0;
    bool       adjacent = true;
    for (unsigned int d = 0; d < ImageDimension; ++d)
    {
      const double mm = offset[d] * input->GetSpacing()[d];
      squared += mm * mm;
      adjacent = adjacent && std::abs(offset[d]) <= 1;
    }
    if (squared <= m_Radius * m_Radius * (1.0 + 1e-9))
    {
      ball.emplace_back(n, adjacent);
    }
  }

  struct Vote
  {
    LabelPixelType label;
    unsigned int   count;
    bool           candidate;
  };
  std::vector<Vote>                         votes;
  itk::ImageRegionIterator<LabelImageType> out(output, region);
  for (it.GoToBegin(); !it.IsAtEnd(); ++it, ++out)
  {
    const LabelPixelType current = it.GetCenterPixel();
    votes.clear();
    unsigned int total = 0;
    for (const auto & [n, adjacent] : ball)
    {
      bool                 inside = true;
      const LabelPixelType value = it.GetPixel(n, inside);
      if (!inside)
      {
        continue;
      }
      ++total;
      auto found = std::find_if(votes.begin(), votes.end(), [value](const Vote & v) { return v.label == value; });
      if (found == votes.end())
      {
        votes.push_back({ value, 1u, adjacent });
      }
      else
      {
        ++found->count;
        found->candidate = found->candidate || adjacent;
      }
    }
    LabelPixelType winner = current;
    unsigned int   best = 0;
    for (const auto & v : votes)
    {
      if (v.label == current)
      {
        best = v.count;
      }
    }
    for (const auto & v : votes)
    {
      if (v.candidate && (v.count > best || (v.count == best && winner != current && v.label < winner)))
      {
        winner = v.label;
        best = v.count;
      }
    }
    if (m_Mode == ModeEnum::Median && 2 * best <= total)
    {
      winner = current;
    }
    out.Set(winner);
  }
}

template <typename TLabelImage>
void
VotingSmoothingLabelImageFilter<TLabelImage>::PrintSelf(std::ostream & os, itk::Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Radius (mm): " << m_Radius << '\n'
     << indent << "Mode: " << (m_Mode == ModeEnum::Majority ? "Majority" : "Median") << '\n';
}

} // namespace medseg

#endif
