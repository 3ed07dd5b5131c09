#ifndef medsegComponentSelectionLabelImageFilter_hxx
#define medsegComponentSelectionLabelImageFilter_hxx

#include "medsegLabelImageUtilities.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkProgressAccumulator.h"
#include "itkRelabelComponentImageFilter.h"
#include "itkScalarConnectedComponentImageFilter.h"

#include <map>

namespace medseg
{

template <typename TLabelImage>
void
ComponentSelectionLabelImageFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<LabelImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TLabelImage>
void
ComponentSelectionLabelImageFilter<TLabelImage>::EnlargeOutputRequestedRegion(itk::DataObject *)
{
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage>
void
ComponentSelectionLabelImageFilter<TLabelImage>::GenerateData()
{
  using MaskImageType = itk::Image<unsigned char, ImageDimension>;
  using ComponentImageType = itk::Image<unsigned int, ImageDimension>; // < 2^32 components per image
  const LabelImageType * input = this->GetInput();

  auto progress = itk::ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);

  // Foreground mask: everything that is not background.
  auto mask = itk::BinaryThresholdImageFilter<LabelImageType, MaskImageType>::New();
  mask->SetInput(input);
  mask->SetLowerThreshold(m_BackgroundValue);
  mask->SetUpperThreshold(m_BackgroundValue);
  mask->SetInsideValue(0);
  mask->SetOutsideValue(1);
  mask->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  progress->RegisterInternalFilter(mask, 0.1f);

  // One component per connected run of equal label values.
  auto components = itk::ScalarConnectedComponentImageFilter<LabelImageType, ComponentImageType, MaskImageType>::New();
  components->SetInput(input);
  components->SetMaskImage(mask->GetOutput());
  components->SetDistanceThreshold(0);
  components->SetFullyConnected(m_FullyConnected);
  components->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  progress->RegisterInternalFilter(components, 0.5f);

  // Components numbered 1..K by decreasing size.
  auto relabel = itk::RelabelComponentImageFilter<ComponentImageType, ComponentImageType>::New();
  relabel->SetInput(components->GetOutput());
  relabel->SetSortByObjectSize(true);
  progress->RegisterInternalFilter(relabel, 0.3f);
  relabel->Update();

  const ComponentImageType * ranked = relabel->GetOutput();
  const auto &               sizes = relabel->GetSizeOfObjectsInPixels();
  const double               voxelVolume = VoxelVolume(input);

  // The label of each component, then whether it survives.
  std::vector<LabelPixelType> componentLabel(sizes.size() + 1, m_BackgroundValue);
  {
    itk::ImageRegionConstIterator<LabelImageType>     in(input, input->GetBufferedRegion());
    itk::ImageRegionConstIterator<ComponentImageType> cc(ranked, input->GetBufferedRegion());
    for (; !in.IsAtEnd(); ++in, ++cc)
    {
      componentLabel[cc.Get()] = in.Get();
    }
  }
  std::vector<bool>                            keep(sizes.size() + 1, true);
  std::map<LabelPixelType, itk::SizeValueType> keptPerLabel;
  for (size_t id = 1; id <= sizes.size(); ++id)
  {
    const double volume = static_cast<double>(sizes[id - 1]) * voxelVolume;
    bool         survives = volume + 1e-9 * voxelVolume >= m_MinimumComponentVolume;
    auto &       kept = keptPerLabel[componentLabel[id]];
    if (m_NumberOfComponentsToKeep > 0 && kept >= m_NumberOfComponentsToKeep)
    {
      survives = false;
    }
    if (survives)
    {
      ++kept;
    }
    keep[id] = survives;
  }

  auto * output = this->GetOutput();
  output->SetBufferedRegion(output->GetRequestedRegion());
  output->Allocate();
  itk::ImageRegionConstIterator<LabelImageType>     in(input, output->GetRequestedRegion());
  itk::ImageRegionConstIterator<ComponentImageType> cc(ranked, output->GetRequestedRegion());
  itk::ImageRegionIterator<LabelImageType>          out(output, output->GetRequestedRegion());
  for (; !out.IsAtEnd(); ++in, ++cc, ++out)
  {
    out.Set(keep[cc.Get()] ? in.Get() : m_BackgroundValue);
  }
  // The mini-pipeline's weights cover 90 %; ITK does not push progress to 1 after GenerateData.
  this->UpdateProgress(1.0f);
}

template <typename TLabelImage>
void
ComponentSelectionLabelImageFilter<TLabelImage>::PrintSelf(std::ostream & os, itk::Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "NumberOfComponentsToKeep: " << m_NumberOfComponentsToKeep << '\n'
     << indent << "MinimumComponentVolume (mm^3): " << m_MinimumComponentVolume << '\n'
     << indent << "FullyConnected: " << m_FullyConnected << '\n'
     << indent << "BackgroundValue: " << static_cast<typename itk::NumericTraits<LabelPixelType>::PrintType>(m_BackgroundValue)
     << '\n';
}

} // namespace medseg

#endif
