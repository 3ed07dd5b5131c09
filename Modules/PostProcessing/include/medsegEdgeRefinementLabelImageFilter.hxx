#ifndef medsegEdgeRefinementLabelImageFilter_hxx
#define medsegEdgeRefinementLabelImageFilter_hxx

#include "itkGradientMagnitudeRecursiveGaussianImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkLabelContourImageFilter.h"
#include "itkMorphologicalWatershedFromMarkersImageFilter.h"
#include "itkProgressAccumulator.h"
#include "itkSignedMaurerDistanceMapImageFilter.h"

#include <cmath>
#include <map>
#include <type_traits>

namespace medseg
{

template <typename TLabelImage, typename TFeatureImage>
EdgeRefinementLabelImageFilter<TLabelImage, TFeatureImage>::EdgeRefinementLabelImageFilter()
{
  this->AddRequiredInputName("FeatureImage");
  this->AddOptionalInputName("ProbabilityImage");
}

template <typename TLabelImage, typename TFeatureImage>
void
EdgeRefinementLabelImageFilter<TLabelImage, TFeatureImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<LabelImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * feature = const_cast<FeatureImageType *>(this->GetFeatureImage()))
  {
    feature->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * probabilities = const_cast<ProbabilityImageType *>(this->GetProbabilityImage()))
  {
    probabilities->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TLabelImage, typename TFeatureImage>
void
EdgeRefinementLabelImageFilter<TLabelImage, TFeatureImage>::EnlargeOutputRequestedRegion(itk::DataObject *)
{
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage, typename TFeatureImage>
void
EdgeRefinementLabelImageFilter<TLabelImage, TFeatureImage>::GenerateData()
{
  using RealImageType = itk::Image<float, ImageDimension>;
  // Marker value = label + 1: 32 bits are enough (and half the memory) for labels narrower than that.
  using MarkerPixelType = std::conditional_t<(sizeof(LabelPixelType) < 4), unsigned int, itk::IdentifierType>;
  using MarkerImageType = itk::Image<MarkerPixelType, ImageDimension>;
  const LabelImageType *       input = this->GetInput();
  const FeatureImageType *     feature = this->GetFeatureImage();
  const ProbabilityImageType * probabilities = this->GetProbabilityImage();
  const auto                   region = input->GetLargestPossibleRegion();
  if (feature->GetLargestPossibleRegion() != region ||
      (probabilities != nullptr && probabilities->GetLargestPossibleRegion() != region))
  {
    itkExceptionMacro("the feature and probability images must have the label image's size");
  }
  if (m_BandWidth < 0.0 || m_Sigma <= 0.0)
  {
    itkExceptionMacro("BandWidth must be >= 0 and Sigma > 0 (mm)");
  }

  auto progress = itk::ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);

  // Distance (mm) of every voxel to the nearest label boundary voxel.
  auto contour = itk::LabelContourImageFilter<LabelImageType, LabelImageType>::New();
  contour->SetInput(input);
  contour->SetBackgroundValue(m_BackgroundValue);
  contour->SetFullyConnected(m_FullyConnected);
  progress->RegisterInternalFilter(contour, 0.1f);
  auto distance = itk::SignedMaurerDistanceMapImageFilter<LabelImageType, RealImageType>::New();
  distance->SetInput(contour->GetOutput());
  distance->SetBackgroundValue(m_BackgroundValue);
  distance->SetUseImageSpacing(true);
  distance->SetSquaredDistance(false);
  progress->RegisterInternalFilter(distance, 0.2f);
  distance->Update();

  // Markers: label + 1 outside the band (and for confident probabilities inside it), 0 = unknown.
  auto markers = MarkerImageType::New();
  markers->CopyInformation(input);
  markers->SetRegions(region);
  markers->Allocate();
  struct LabelState
  {
    bool  hasMarker{ false };
    float deepest{ -1.0f };
  };
  std::map<LabelPixelType, LabelState> states;
  const double                         band = m_BandWidth * (1.0 + 1e-6);
  const unsigned int components = probabilities ? probabilities->GetNumberOfComponentsPerPixel() : 0;
  {
    itk::ImageRegionConstIterator<LabelImageType> in(input, region);
    itk::ImageRegionConstIterator<RealImageType>  d(distance->GetOutput(), region);
    itk::ImageRegionIterator<MarkerImageType>     m(markers, region);
    for (; !in.IsAtEnd(); ++in, ++d, ++m)
    {
      const LabelPixelType label = in.Get();
      const float          depth = std::abs(d.Get());
      auto &               state = states[label];
      state.deepest = std::max(state.deepest, depth);
      MarkerPixelType marker = 0;
      if (depth > band)
      {
        marker = static_cast<MarkerPixelType>(label) + 1;
      }
      else if (probabilities != nullptr)
      {
        const auto   p = probabilities->GetPixel(in.GetIndex());
        unsigned int best = 0;
        for (unsigned int c = 1; c < components; ++c)
        {
          best = p[c] > p[best] ? c : best;
        }
        if (components > 0 && p[best] >= m_ConfidenceThreshold)
        {
          marker = static_cast<MarkerPixelType>(best) + 1;
        }
      }
      if (marker == static_cast<MarkerPixelType>(label) + 1)
      {
        state.hasMarker = true;
      }
      m.Set(marker);
    }
  }
  // A label with no marker keeps its deepest voxels, so that no label vanishes.
  bool missing = false;
  for (const auto & entry : states)
  {
    missing = missing || !entry.second.hasMarker;
  }
  if (missing)
  {
    itk::ImageRegionConstIterator<LabelImageType> in(input, region);
    itk::ImageRegionConstIterator<RealImageType>  d(distance->GetOutput(), region);
    itk::ImageRegionIterator<MarkerImageType>     m(markers, region);
    for (; !in.IsAtEnd(); ++in, ++d, ++m)
    {
      const auto & state = states[in.Get()];
      if (!state.hasMarker && std::abs(d.Get()) >= state.deepest - 1e-4f)
      {
        m.Set(static_cast<MarkerPixelType>(in.Get()) + 1);
      }
    }
  }

  // The relief: gradient magnitude at scale Sigma (mm).
  auto gradient = itk::GradientMagnitudeRecursiveGaussianImageFilter<FeatureImageType, RealImageType>::New();
  gradient->SetInput(feature);
  gradient->SetSigma(m_Sigma);
  progress->RegisterInternalFilter(gradient, 0.3f);
  gradient->Update();
  typename RealImageType::Pointer relief = gradient->GetOutput();
  relief->DisconnectPipeline();
  // Ties on the gradient ridge (a step edge has two equally steep voxels) go to the current
  // boundary: the relief is lowered by a tiny amount growing with the distance from it. The tilt
  // is 1e-3 of the strongest gradient over the whole band, far below any real edge contrast.
  {
    float strongest = 0.0f;
    for (itk::ImageRegionConstIterator<RealImageType> g(relief, region); !g.IsAtEnd(); ++g)
    {
      strongest = std::max(strongest, g.Get());
    }
    const double tilt = 1e-3 * strongest / std::max(m_BandWidth, 1e-6);
    itk::ImageRegionIterator<RealImageType>      g(relief, region);
    itk::ImageRegionConstIterator<RealImageType> d(distance->GetOutput(), region);
    for (; !g.IsAtEnd(); ++g, ++d)
    {
      g.Set(static_cast<float>(g.Get() - tilt * std::min<double>(std::abs(d.Get()), m_BandWidth * 2.0)));
    }
  }

  auto watershed = itk::MorphologicalWatershedFromMarkersImageFilter<RealImageType, MarkerImageType>::New();
  watershed->SetInput(relief);
  watershed->SetMarkerImage(markers);
  watershed->SetMarkWatershedLine(false);
  watershed->SetFullyConnected(m_FullyConnected);
  progress->RegisterInternalFilter(watershed, 0.4f);
  watershed->Update();

  auto * output = this->GetOutput();
  output->SetBufferedRegion(region);
  output->Allocate();
  itk::ImageRegionConstIterator<LabelImageType>  in(input, region);
  itk::ImageRegionConstIterator<MarkerImageType> w(watershed->GetOutput(), region);
  itk::ImageRegionIterator<LabelImageType>       out(output, region);
  for (; !in.IsAtEnd(); ++in, ++w, ++out)
  {
    const LabelPixelType original = in.Get();
    LabelPixelType       refined = original;
    if (w.Get() > 0)
    {
      refined = static_cast<LabelPixelType>(w.Get() - 1);
    }
    // Only label <-> background moves; never from one label into another.
    if (refined != original && original != m_BackgroundValue && refined != m_BackgroundValue)
    {
      refined = original;
    }
    out.Set(refined);
  }
}

template <typename TLabelImage, typename TFeatureImage>
void
EdgeRefinementLabelImageFilter<TLabelImage, TFeatureImage>::PrintSelf(std::ostream & os, itk::Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "BandWidth (mm): " << m_BandWidth << '\n'
     << indent << "Sigma (mm): " << m_Sigma << '\n'
     << indent << "ConfidenceThreshold: " << m_ConfidenceThreshold << '\n'
     << indent << "FullyConnected: " << m_FullyConnected << '\n'
     << indent << "BackgroundValue: "
     << static_cast<typename itk::NumericTraits<LabelPixelType>::PrintType>(m_BackgroundValue) << '\n';
}

} // namespace medseg

#endif
