#ifndef medsegDeepSegmentationImageFilter_hxx
#define medsegDeepSegmentationImageFilter_hxx

#include "medsegGeometry.h"
#include "medsegTensorBridge.h"

#include "itkImageAlgorithm.h"
#include "itkMacro.h"

#include <cstring>
#include <type_traits>
#include <limits>

namespace medseg
{

template <typename TInputImage, typename TOutputImage>
DeepSegmentationImageFilter<TInputImage, TOutputImage>::DeepSegmentationImageFilter()
{
  this->SetNumberOfRequiredInputs(1);
  this->SetNumberOfRequiredOutputs(1);
  // Channels are checked against input 0 with MedSeg's tolerance (1e-4 of the spacing), which
  // absorbs the float rounding of NIfTI headers; ITK's default (1e-6) would refuse such pairs.
  this->SetCoordinateTolerance(1e-4);
  this->SetDirectionTolerance(1e-4);
  this->SetNthOutput(0, this->MakeOutput(0));
  this->SetNthOutput(1, this->MakeOutput(1));
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::SetModel(std::shared_ptr<SegmentationModel> model)
{
  if (m_Model != model)
  {
    m_Model = std::move(model);
    m_NumberOfClasses = m_Model ? m_Model->GetNumberOfClasses() : 0; // a new model: the last run's count is gone
    this->Modified();
  }
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::SetSlidingWindowSettings(const SlidingWindowSettings & settings)
{
  settings.Validate();
  m_SlidingWindowSettings = settings;
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::SetNormalization(const NormalizationSpec & spec)
{
  m_Normalization = spec;
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::SetChannelNormalizations(
  const std::vector<NormalizationSpec> & specs)
{
  m_ChannelNormalizations = specs;
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::SetIntensityMappings(
  const std::vector<IntensityMapping> & mappings)
{
  m_IntensityMappings = mappings;
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::SetLabelValues(const std::vector<unsigned int> & values)
{
  m_LabelValues = values;
  this->Modified();
}

template <typename TInputImage, typename TOutputImage>
bool
DeepSegmentationImageFilter<TInputImage, TOutputImage>::CanStream() const
{
  const unsigned int channels = this->GetNumberOfIndexedInputs();
  if (m_IntensityMappings.size() == channels)
  {
    return true;
  }
  for (unsigned int c = 0; c < channels; ++c)
  {
    if (NeedsStatistics(c < m_ChannelNormalizations.size() ? m_ChannelNormalizations[c] : m_Normalization))
    {
      return false;
    }
  }
  return true;
}

namespace detail
{
/** An ITK region relative to `largest`, as a [z, y, x] VoxelBox. */
inline VoxelBox
ToVoxelBox(const itk::ImageRegion<3> & region, const itk::ImageRegion<3> & largest)
{
  VoxelBox box;
  for (int d = 0; d < 3; ++d)
  {
    box.start[2 - d] = region.GetIndex(d) - largest.GetIndex(d);
    box.size[2 - d] = static_cast<int64_t>(region.GetSize(d));
  }
  return box;
}
inline itk::ImageRegion<3>
ToImageRegion(const VoxelBox & box, const itk::ImageRegion<3> & largest)
{
  itk::ImageRegion<3> region;
  for (int d = 0; d < 3; ++d)
  {
    region.SetIndex(d, largest.GetIndex(d) + box.start[2 - d]);
    region.SetSize(d, static_cast<itk::SizeValueType>(box.size[2 - d]));
  }
  return region;
}
} // namespace detail

template <typename TInputImage, typename TOutputImage>
auto
DeepSegmentationImageFilter<TInputImage, TOutputImage>::GetProbabilityOutput() -> ProbabilityImageType *
{
  return dynamic_cast<ProbabilityImageType *>(this->itk::ProcessObject::GetOutput(1));
}

template <typename TInputImage, typename TOutputImage>
itk::DataObject::Pointer
DeepSegmentationImageFilter<TInputImage, TOutputImage>::MakeOutput(DataObjectPointerArraySizeType index)
{
  if (index == 1)
  {
    return ProbabilityImageType::New().GetPointer();
  }
  return TOutputImage::New().GetPointer();
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation(); // copies the input's geometry onto both outputs
  if (m_Model && m_Model->GetNumberOfClasses() > 0)
  {
    m_NumberOfClasses = m_Model->GetNumberOfClasses(); // known without running the model
  }
  if (m_NumberOfClasses > 0) // set whether or not output 1 is produced now: a writer may ask for it
  {
    this->GetProbabilityOutput()->SetNumberOfComponentsPerPixel(m_NumberOfClasses);
  }
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  const TInputImage * first = this->GetInput();
  if (first == nullptr)
  {
    return;
  }
  const itk::ImageRegion<3> largest = first->GetLargestPossibleRegion();
  itk::ImageRegion<3>       needed = largest;
  if (CanStream())
  {
    // The patch grid of the whole image, restricted to the batches the requested region needs.
    const VoxelBox             whole = detail::ToVoxelBox(largest, largest);
    const SlidingWindowInferer inferer(m_SlidingWindowSettings);
    needed = detail::ToImageRegion(
      inferer.InputBoxFor(whole.size, detail::ToVoxelBox(this->GetOutput(0)->GetRequestedRegion(), largest)), largest);
  }
  for (unsigned int i = 0; i < this->GetNumberOfIndexedInputs(); ++i)
  {
    if (auto * input = const_cast<TInputImage *>(this->GetInput(i)))
    {
      // Inputs on input 0's grid (checked in GenerateData) share its region.
      input->SetRequestedRegion(needed);
    }
  }
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::VerifyPreconditions() ITKv5_CONST
{
  Superclass::VerifyPreconditions();
  if (!m_Model)
  {
    itkExceptionMacro("no model set: call SetModel() before Update()");
  }
  if (!m_ProduceLabels && !m_ProduceProbabilities)
  {
    itkExceptionMacro("neither labels nor probabilities are asked for (ProduceLabels and ProduceProbabilities off)");
  }
  const unsigned int channels = this->GetNumberOfIndexedInputs();
  for (unsigned int c = 0; c < channels; ++c)
  {
    if (this->GetInput(c) == nullptr)
    {
      itkExceptionMacro("input " << c << " is not set (inputs must be 0.." << channels - 1 << " without gaps)");
    }
  }
  if (static_cast<int64_t>(channels) != m_Model->GetNumberOfInputChannels())
  {
    itkExceptionMacro("the model takes " << m_Model->GetNumberOfInputChannels() << " input channel(s) but "
                                         << channels << " input image(s) were given");
  }
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  const TInputImage *        input = this->GetInput();
  OutputImageType *          labels = this->GetOutput(0);
  const itk::ImageRegion<3>  largest = input->GetLargestPossibleRegion();
  const itk::ImageRegion<3>  requested = labels->GetRequestedRegion();
  const VoxelBox             whole = detail::ToVoxelBox(largest, largest);
  const VoxelBox             region = detail::ToVoxelBox(requested, largest);
  const SlidingWindowInferer inferer(m_SlidingWindowSettings);
  const VoxelBox             box = inferer.InputBoxFor(whole.size, region);
  const itk::ImageRegion<3>  boxRegion = detail::ToImageRegion(box, largest);

  // Normalized float copy of the box the patches read: [C, Z, Y, X]. The inputs belong to the
  // pipeline and stay untouched.
  const unsigned int channels = this->GetNumberOfIndexedInputs();
  if (!m_IntensityMappings.empty() && m_IntensityMappings.size() != channels)
  {
    itkExceptionMacro("" << m_IntensityMappings.size() << " intensity mappings for " << channels << " input(s)");
  }
  at::Tensor volume = at::empty({ channels, box.size[0], box.size[1], box.size[2] }, at::kFloat);
  for (unsigned int c = 0; c < channels; ++c)
  {
    const TInputImage * channel = this->GetInput(c);
    const std::string   difference = DescribeGeometryDifference(input, channel);
    if (!difference.empty())
    {
      itkExceptionMacro("input " << c << " is not on the grid of input 0: " << difference);
    }
    if (!channel->GetBufferedRegion().IsInside(boxRegion))
    {
      itkExceptionMacro("input " << c << " does not hold the region the requested output needs");
    }
    IntensityMapping mapping;
    if (!m_IntensityMappings.empty())
    {
      mapping = m_IntensityMappings[c];
    }
    else
    {
      const NormalizationSpec & spec =
        c < m_ChannelNormalizations.size() ? m_ChannelNormalizations[c] : m_Normalization;
      const bool statistics = NeedsStatistics(spec);
      if (statistics && channel->GetBufferedRegion() != largest)
      {
        itkExceptionMacro("normalization " << spec.ToString()
                                           << " needs the whole input; set intensity mappings to stream");
      }
      const size_t n = statistics ? channel->GetBufferedRegion().GetNumberOfPixels() : 0;
      if constexpr (std::is_same_v<typename TInputImage::PixelType, float>)
      {
        mapping = ComputeIntensityMapping(channel->GetBufferPointer(), n, spec);
      }
      else
      {
        const std::vector<float> values(channel->GetBufferPointer(), channel->GetBufferPointer() + n);
        mapping = ComputeIntensityMapping(values.data(), n, spec);
      }
    }
    float *       out = volume[c].data_ptr<float>();
    itk::Index<3> index = boxRegion.GetIndex();
    for (int64_t z = 0; z < box.size[0]; ++z)
    {
      for (int64_t y = 0; y < box.size[1]; ++y)
      {
        index[1] = boxRegion.GetIndex(1) + y;
        index[2] = boxRegion.GetIndex(2) + z;
        const auto * row = channel->GetBufferPointer() + channel->ComputeOffset(index);
        for (int64_t x = 0; x < box.size[2]; ++x)
        {
          *out++ = mapping.Apply(static_cast<float>(row[x]));
        }
      }
    }
  }

  if (m_ProduceLabels)
  {
    labels->SetBufferedRegion(requested);
    labels->Allocate();
  }
  else
  {
    labels->SetBufferedRegion(itk::ImageRegion<3>()); // no voxels: the caller takes its own arg-max
  }
  ProbabilityImageType * probabilityImage = m_ProduceProbabilities ? this->GetProbabilityOutput() : nullptr;
  using LabelPixel = typename OutputImageType::PixelType;
  std::vector<LabelPixel> values; // label value of each class, set once the classes are known
  bool                    started = false;
  const int64_t           sliceVoxels = region.size[1] * region.size[2];

  const auto writeSlice = [&](int64_t z, const at::Tensor & probabilities) { // [K, Y, X]
    if (!started)
    {
      started = true;
      m_NumberOfClasses = static_cast<unsigned int>(probabilities.size(0));
      const size_t outcomes = std::max<size_t>(2, m_NumberOfClasses);
      if (m_ProduceLabels && !m_LabelValues.empty() && m_LabelValues.size() != outcomes)
      {
        itkExceptionMacro("the model has " << m_NumberOfClasses << " output(s) but " << m_LabelValues.size()
                                           << " label values were given");
      }
      const double maxLabel = static_cast<double>(std::numeric_limits<LabelPixel>::max());
      for (size_t k = 0; k < outcomes && m_ProduceLabels; ++k)
      {
        const double value = m_LabelValues.empty() ? static_cast<double>(k) : m_LabelValues[k];
        if (value > maxLabel)
        {
          itkExceptionMacro("the model has " << m_NumberOfClasses << " classes; label value " << value
                                             << " does not fit the label pixel type (at most " << maxLabel << ")");
        }
        values.push_back(static_cast<LabelPixel>(value));
      }
      if (probabilityImage)
      {
        probabilityImage->SetNumberOfComponentsPerPixel(m_NumberOfClasses);
        probabilityImage->SetBufferedRegion(requested);
        probabilityImage->Allocate();
      }
    }
    if (m_ProduceLabels)
    {
      const at::Tensor classIndex =
        (probabilities.size(0) == 1 ? (probabilities[0] >= 0.5f) : probabilities.argmax(0)).to(at::kInt).contiguous();
      const int32_t * in = classIndex.data_ptr<int32_t>();
      LabelPixel *    out = labels->GetBufferPointer() + (z - region.start[0]) * sliceVoxels;
      for (int64_t i = 0; i < sliceVoxels; ++i)
      {
        out[i] = values[static_cast<size_t>(in[i])];
      }
    }
    if (probabilityImage)
    {
      // Straight into the component-fastest buffer (no full-size temporary).
      const int64_t k = probabilities.size(0);
      at::Tensor    destination =
        at::from_blob(probabilityImage->GetBufferPointer() + (z - region.start[0]) * sliceVoxels * k,
                      { region.size[1], region.size[2], k }, at::TensorOptions().dtype(at::kFloat));
      destination.copy_(probabilities.permute({ 1, 2, 0 }));
    }
  };

  this->UpdateProgress(0.0f);
  inferer.RunRegion(volume, box, whole.size, region, *m_Model, writeSlice, [this](double fraction) {
    if (this->GetAbortGenerateData())
    {
      itk::ProcessAborted e(__FILE__, __LINE__);
      e.SetDescription("DeepSegmentationImageFilter aborted");
      throw e;
    }
    this->UpdateProgress(static_cast<float>(0.98 * fraction));
  });
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, itk::Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Model: " << (m_Model ? m_Model->GetDescription() : std::string("(none)")) << '\n';
  os << indent << "PatchSize: [" << m_SlidingWindowSettings.patchSize[0] << ", " << m_SlidingWindowSettings.patchSize[1]
     << ", " << m_SlidingWindowSettings.patchSize[2] << "]\n";
  os << indent << "Overlap: " << m_SlidingWindowSettings.overlap << '\n';
  os << indent << "Blend: " << (m_SlidingWindowSettings.blend == BlendMode::Gaussian ? "gaussian" : "constant") << '\n';
  os << indent << "Normalization: " << m_Normalization.ToString() << '\n';
  os << indent << "ProduceProbabilities: " << m_ProduceProbabilities << '\n';
  os << indent << "ProduceLabels: " << m_ProduceLabels << '\n';
  os << indent << "NumberOfClasses: " << m_NumberOfClasses << '\n';
}

} // namespace medseg

#endif
