#ifndef medsegMarginLabelImageFilter_hxx
#define medsegMarginLabelImageFilter_hxx

#include "medsegLabelImageUtilities.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkImageAlgorithm.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkProgressAccumulator.h"
#include "itkSignedMaurerDistanceMapImageFilter.h"

#include <limits>

namespace medseg
{

template <typename TLabelImage>
void
MarginLabelImageFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<LabelImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TLabelImage>
void
MarginLabelImageFilter<TLabelImage>::EnlargeOutputRequestedRegion(itk::DataObject *)
{
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage>
void
MarginLabelImageFilter<TLabelImage>::GenerateData()
{
  using MaskImageType = itk::Image<unsigned char, ImageDimension>;
  using DistanceImageType = itk::Image<float, ImageDimension>;
  const LabelImageType * input = this->GetInput();
  const auto             region = input->GetBufferedRegion();

  auto * output = this->GetOutput();
  output->SetBufferedRegion(region);
  output->Allocate();
  itk::ImageAlgorithm::Copy(input, output, region, region);
  if (m_Distance == 0.0)
  {
    return;
  }

  std::vector<LabelPixelType> labels;
  if (m_Label != m_BackgroundValue)
  {
    labels.push_back(m_Label);
  }
  else
  {
    labels = CollectLabels(input, m_BackgroundValue);
  }

  auto progress = itk::ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);
  auto threshold = itk::BinaryThresholdImageFilter<LabelImageType, MaskImageType>::New();
  threshold->SetInput(input);
  threshold->SetInsideValue(1);
  threshold->SetOutsideValue(0);
  auto distance = itk::SignedMaurerDistanceMapImageFilter<MaskImageType, DistanceImageType>::New();
  distance->SetInput(threshold->GetOutput());
  distance->SetUseImageSpacing(true);
  distance->SetSquaredDistance(false);
  distance->SetInsideIsPositive(false);
  distance->SetBackgroundValue(0);
  progress->RegisterInternalFilter(distance, labels.empty() ? 1.0f : 1.0f / static_cast<float>(labels.size()));

  const double margin = std::abs(m_Distance);
  const double tolerance = 1e-4 * margin;
  // For growth: the distance to the nearest label claiming each background voxel so far.
  std::vector<float> nearest;
  if (m_Distance > 0.0)
  {
    nearest.assign(region.GetNumberOfPixels(), std::numeric_limits<float>::infinity());
  }
  for (const LabelPixelType label : labels)
  {
    threshold->SetLowerThreshold(label);
    threshold->SetUpperThreshold(label);
    distance->Update();
    itk::ImageRegionConstIterator<DistanceImageType> d(distance->GetOutput(), region);
    itk::ImageRegionConstIterator<LabelImageType>    in(input, region);
    itk::ImageRegionIterator<LabelImageType>         out(output, region);
    size_t                                            i = 0;
    for (; !in.IsAtEnd(); ++d, ++in, ++out, ++i)
    {
      const float value = d.Get();
      if (m_Distance > 0.0)
      {
        if (in.Get() == m_BackgroundValue && value <= margin + tolerance && value < nearest[i])
        {
          nearest[i] = value;
          out.Set(label);
        }
      }
      else if (in.Get() == label && -value < margin - tolerance)
      {
        out.Set(m_BackgroundValue);
      }
    }
    progress->ResetFilterProgressAndKeepAccumulatedProgress();
  }
}

template <typename TLabelImage>
void
MarginLabelImageFilter<TLabelImage>::PrintSelf(std::ostream & os, itk::Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  using PrintType = typename itk::NumericTraits<LabelPixelType>::PrintType;
  os << indent << "Distance (mm): " << m_Distance << '\n'
     << indent << "Label: " << static_cast<PrintType>(m_Label) << '\n'
     << indent << "BackgroundValue: " << static_cast<PrintType>(m_BackgroundValue) << '\n';
}

} // namespace medseg

#endif
