#ifndef medsegHoleFillingLabelImageFilter_hxx
#define medsegHoleFillingLabelImageFilter_hxx

#include "medsegLabelImageUtilities.h"

#include "itkBinaryFillholeImageFilter.h"
#include "itkBinaryThresholdImageFilter.h"
#include "itkImageAlgorithm.h"
#include "itkImageRegionConstIterator.h"
#include "itkProgressAccumulator.h"
#include "itkSliceBySliceImageFilter.h"

#include <algorithm>

namespace medseg
{

template <typename TLabelImage>
void
HoleFillingLabelImageFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<LabelImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TLabelImage>
void
HoleFillingLabelImageFilter<TLabelImage>::EnlargeOutputRequestedRegion(itk::DataObject *)
{
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage>
void
HoleFillingLabelImageFilter<TLabelImage>::GenerateData()
{
  using MaskImageType = itk::Image<unsigned char, ImageDimension>;
  using SliceImageType = itk::Image<unsigned char, ImageDimension - 1>;
  using SliceFillType = itk::BinaryFillholeImageFilter<SliceImageType>;
  using SliceBySliceType = itk::SliceBySliceImageFilter<MaskImageType, MaskImageType>;
  if (m_SliceAxis >= static_cast<int>(ImageDimension))
  {
    itkExceptionMacro("SliceAxis " << m_SliceAxis << " is not an axis of a " << ImageDimension << "D image");
  }
  const LabelImageType * input = this->GetInput();
  const auto             region = input->GetBufferedRegion();
  const auto             labels = CollectLabels(input, m_BackgroundValue);

  auto progress = itk::ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);
  const float weight = labels.empty() ? 1.0f : 1.0f / static_cast<float>(labels.size());

  auto threshold = itk::BinaryThresholdImageFilter<LabelImageType, MaskImageType>::New();
  threshold->SetInput(input);
  threshold->SetInsideValue(1);
  threshold->SetOutsideValue(0);
  auto fill3D = itk::BinaryFillholeImageFilter<MaskImageType>::New();
  fill3D->SetInput(threshold->GetOutput());
  fill3D->SetForegroundValue(1);
  fill3D->SetFullyConnected(m_FullyConnected);
  auto fill2D = SliceFillType::New();
  fill2D->SetForegroundValue(1);
  fill2D->SetFullyConnected(m_FullyConnected);
  auto slices = SliceBySliceType::New();
  slices->SetInput(threshold->GetOutput());
  slices->SetFilter(fill2D);
  slices->SetDimension(m_SliceAxis < 0 ? ImageDimension - 1 : static_cast<unsigned int>(m_SliceAxis));
  itk::ImageToImageFilter<MaskImageType, MaskImageType> * filler = fill3D;
  if (m_SliceAxis >= 0)
  {
    filler = slices;
  }
  progress->RegisterInternalFilter(filler, weight);

  // Per label: the background voxels it would fill, and the size of the filled object.
  struct Fill
  {
    LabelPixelType             label;
    itk::SizeValueType         filledSize;
    std::vector<itk::OffsetValueType> voxels;
  };
  std::vector<Fill> fills;
  for (const LabelPixelType label : labels)
  {
    threshold->SetLowerThreshold(label);
    threshold->SetUpperThreshold(label);
    filler->Update();
    Fill fill{ label, 0, {} };
    itk::ImageRegionConstIterator<MaskImageType>  filled(filler->GetOutput(), region);
    itk::ImageRegionConstIterator<LabelImageType> in(input, region);
    itk::OffsetValueType                          offset = 0;
    for (; !in.IsAtEnd(); ++in, ++filled, ++offset)
    {
      if (filled.Get())
      {
        ++fill.filledSize;
        if (in.Get() == m_BackgroundValue)
        {
          fill.voxels.push_back(offset);
        }
      }
    }
    if (!fill.voxels.empty())
    {
      fills.push_back(std::move(fill));
    }
    progress->ResetFilterProgressAndKeepAccumulatedProgress();
  }

  auto * output = this->GetOutput();
  output->SetBufferedRegion(region);
  output->Allocate();
  itk::ImageAlgorithm::Copy(input, output, region, region);
  // Larger filled objects first, so the innermost label wins where holes nest.
  std::stable_sort(fills.begin(), fills.end(), [](const Fill & a, const Fill & b) { return a.filledSize > b.filledSize; });
  LabelPixelType * buffer = output->GetBufferPointer();
  for (const auto & fill : fills)
  {
    for (const auto offset : fill.voxels)
    {
      buffer[offset] = fill.label;
    }
  }
}

template <typename TLabelImage>
void
HoleFillingLabelImageFilter<TLabelImage>::PrintSelf(std::ostream & os, itk::Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "SliceAxis: " << m_SliceAxis << '\n'
     << indent << "FullyConnected: " << m_FullyConnected << '\n'
     << indent << "BackgroundValue: " << static_cast<typename itk::NumericTraits<LabelPixelType>::PrintType>(m_BackgroundValue)
     << '\n';
}

} // namespace medseg

#endif
