#ifndef medsegDeepSegmentationImageFilter_hxx
#define medsegDeepSegmentationImageFilter_hxx

#include "medsegGeometry.h"
#include "medsegTensorBridge.h"

#include "itkImageAlgorithm.h"
#include "itkMacro.h"

#include <cstring>
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
  if (!m_ProduceProbabilities || !m_Model || !m_ProbeNumberOfClasses)
  {
    return;
  }
  if (m_ProbedModel != m_Model.get() || m_NumberOfClasses == 0)
  {
    const auto &  patch = m_SlidingWindowSettings.patchSize;
    const int64_t channels = std::max<int64_t>(1, m_Model->GetNumberOfInputChannels());
    at::Tensor    blank = at::zeros({ 1, channels, patch[2], patch[1], patch[0] });
    if (m_Model->GetSpatialDimension() == 2)
    {
      blank = blank.squeeze(4 - m_SlidingWindowSettings.sliceAxis);
    }
    c10::InferenceMode guard;
    m_NumberOfClasses = static_cast<unsigned int>(m_Model->Forward(blank).size(1));
    m_ProbedModel = m_Model.get();
  }
  this->GetProbabilityOutput()->SetNumberOfComponentsPerPixel(m_NumberOfClasses);
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  for (unsigned int i = 0; i < this->GetNumberOfIndexedInputs(); ++i)
  {
    if (auto * input = const_cast<TInputImage *>(this->GetInput(i)))
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

template <typename TInputImage, typename TOutputImage>
void
DeepSegmentationImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(itk::DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
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
  const TInputImage * input = this->GetInput();
  OutputImageType *   labels = this->GetOutput(0);

  // Normalize float copies: the inputs belong to the pipeline and stay untouched.
  const unsigned int                channels = this->GetNumberOfIndexedInputs();
  std::vector<FloatImage3::Pointer> normalized;
  std::vector<at::Tensor>           views;
  for (unsigned int c = 0; c < channels; ++c)
  {
    const TInputImage * channel = this->GetInput(c);
    const std::string   difference = DescribeGeometryDifference(input, channel);
    if (!difference.empty())
    {
      itkExceptionMacro("input " << c << " is not on the grid of input 0: " << difference);
    }
    auto copy = FloatImage3::New();
    copy->CopyInformation(channel);
    copy->SetRegions(channel->GetLargestPossibleRegion());
    copy->Allocate();
    const auto * in = channel->GetBufferPointer();
    float *      out = copy->GetBufferPointer();
    const size_t n = channel->GetLargestPossibleRegion().GetNumberOfPixels();
    for (size_t i = 0; i < n; ++i)
    {
      out[i] = static_cast<float>(in[i]);
    }
    NormalizeIntensities(copy, c < m_ChannelNormalizations.size() ? m_ChannelNormalizations[c] : m_Normalization);
    views.push_back(ImageToTensor(copy.GetPointer())[0][0]);
    normalized.push_back(copy);
  }
  // [C, Z, Y, X]; a single channel stays a view of its buffer (no copy).
  const at::Tensor volume = channels == 1 ? views[0].unsqueeze(0) : at::stack(views);
  const SlidingWindowInferer inferer(m_SlidingWindowSettings);
  this->UpdateProgress(0.0f);
  const at::Tensor probabilities = inferer.Run(volume, *m_Model, [this](double fraction) {
    if (this->GetAbortGenerateData())
    {
      itk::ProcessAborted e(__FILE__, __LINE__);
      e.SetDescription("DeepSegmentationImageFilter aborted");
      throw e;
    }
    this->UpdateProgress(static_cast<float>(0.98 * fraction));
  }); // [K, Z, Y, X]

  m_NumberOfClasses = static_cast<unsigned int>(probabilities.size(0));
  const auto maxLabel = static_cast<double>(std::numeric_limits<typename OutputImageType::PixelType>::max());
  if (m_NumberOfClasses > 1 && static_cast<double>(m_NumberOfClasses - 1) > maxLabel)
  {
    itkExceptionMacro("the model has " << m_NumberOfClasses << " classes; the label pixel type holds at most "
                                       << maxLabel + 1);
  }
  const at::Tensor classIndex =
    (m_NumberOfClasses == 1 ? (probabilities[0] >= 0.5f) : probabilities.argmax(0)).to(at::kInt); // [Z, Y, X]

  labels->SetBufferedRegion(labels->GetRequestedRegion());
  labels->Allocate();
  {
    const at::Tensor indices = classIndex.contiguous();
    const int32_t *  in = indices.data_ptr<int32_t>();
    auto *           out = labels->GetBufferPointer();
    const int64_t    n = indices.numel();
    for (int64_t i = 0; i < n; ++i)
    {
      out[i] = static_cast<typename OutputImageType::PixelType>(in[i]);
    }
  }

  if (m_ProduceProbabilities)
  {
    ProbabilityImageType * out = this->GetProbabilityOutput();
    out->SetNumberOfComponentsPerPixel(m_NumberOfClasses);
    out->SetBufferedRegion(out->GetRequestedRegion());
    out->Allocate();
    // Copy straight into the component-fastest buffer (no second full-size temporary).
    at::Tensor destination = at::from_blob(out->GetBufferPointer(),
                                           { probabilities.size(1), probabilities.size(2), probabilities.size(3),
                                             probabilities.size(0) },
                                           at::TensorOptions().dtype(at::kFloat));
    destination.copy_(probabilities.permute({ 1, 2, 3, 0 }));
  }
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
  os << indent << "NumberOfClasses: " << m_NumberOfClasses << '\n';
}

} // namespace medseg

#endif
