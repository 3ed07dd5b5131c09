#ifndef medsegDeepSegmentationImageFilter_h
#define medsegDeepSegmentationImageFilter_h

#include "medsegImageTypes.h"
#include "medsegIntensityNormalization.h"
#include "medsegSegmentationModel.h"
#include "medsegSlidingWindowInferer.h"

#include "itkImageToImageFilter.h"

#include <memory>

namespace medseg
{

/** \class DeepSegmentationImageFilter
 * \brief Segments a float volume with a deep-learning model, as an ITK pipeline stage.
 *
 * Input i is channel i of the model (SetInput(i, image)); all inputs must share one grid. Each
 * channel's intensities are normalized on their own (see NormalizationSpec), the model runs over the volume
 * with a SlidingWindowInferer (overlapping patches, Gaussian-weighted blending of the per-patch
 * softmax, optional mirror test-time augmentation), and the arg-max class becomes the label.
 *
 * Output 0 is the label map; output 1, when ProduceProbabilities is on, holds the blended class
 * probabilities as a VectorImage with one component per class. Both have exactly the input's size,
 * spacing, origin and direction. Class index k is label value k; for single-output (sigmoid)
 * models the label is 1 where the probability is >= 0.5.
 *
 * Streaming: the filter computes any requested output region on its own, asking its inputs
 * only for the patches that region needs (the fixed patch grid of the whole image plus their
 * extent), and the result is bit-identical for any split (itk::StreamingImageFilter, a
 * writer's NumberOfStreamDivisions). Normalizations that need statistics of the whole volume
 * (zscore, minmax, percentile) then need SetIntensityMappings() with statistics computed
 * beforehand; without them the whole input is requested. Scores are blended slice by slice,
 * so memory holds a ring of at most patch_z + step_z slices of class scores, not a whole volume of them.
 *
 * Progress is reported per batch of patches; AbortGenerateData stops it between batches.
 *
 * The approach follows nnU-Net (Isensee et al., Nature Methods 18, 2021) and MONAI's
 * sliding-window inference.
 */
template <typename TInputImage = FloatImage3, typename TOutputImage = itk::Image<unsigned char, 3>>
class DeepSegmentationImageFilter : public itk::ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(DeepSegmentationImageFilter);

  using Self = DeepSegmentationImageFilter;
  using Superclass = itk::ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;

  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  using ProbabilityImageType = ProbabilityImage3;
  using DataObjectPointerArraySizeType = typename Superclass::DataObjectPointerArraySizeType;

  itkNewMacro(Self);
  itkTypeMacro(DeepSegmentationImageFilter, ImageToImageFilter);

  static_assert(TInputImage::ImageDimension == 3 && TOutputImage::ImageDimension == 3, "3D images only");

  /** The network. Required. */
  void
  SetModel(std::shared_ptr<SegmentationModel> model);
  std::shared_ptr<SegmentationModel>
  GetModel() const
  {
    return m_Model;
  }

  /** Patch size, overlap, blending, batch size, mirror axes. */
  void
  SetSlidingWindowSettings(const SlidingWindowSettings & settings);
  const SlidingWindowSettings &
  GetSlidingWindowSettings() const
  {
    return m_SlidingWindowSettings;
  }

  /** Intensity normalization applied to a copy of every input. Default: zscore. */
  void
  SetNormalization(const NormalizationSpec & spec);
  const NormalizationSpec &
  GetNormalization() const
  {
    return m_Normalization;
  }

  /** One normalization per input channel (overrides SetNormalization for those channels). */
  void
  SetChannelNormalizations(const std::vector<NormalizationSpec> & specs);

  /** Fixed voxel-wise maps, one per input channel, that replace the normalization (and its
   * whole-volume statistics): what streaming needs. Empty (default): computed from the inputs. */
  void
  SetIntensityMappings(const std::vector<IntensityMapping> & mappings);

  /** Label value written for class k (default: k). For single-output (sigmoid) models give two
   * values: below and above 0.5. */
  void
  SetLabelValues(const std::vector<unsigned int> & values);

  /** Also produce output 1, the class probabilities. Default: off. */
  itkSetMacro(ProduceProbabilities, bool);
  itkGetConstMacro(ProduceProbabilities, bool);
  itkBooleanMacro(ProduceProbabilities);

  /** Produce output 0, the arg-max label map. Default: on. Off (with ProduceProbabilities on) for
   * a caller that takes the arg-max itself after resampling the probabilities to another grid:
   * output 0 then has no voxels and no arg-max is computed (so a second Update() runs again). */
  itkSetMacro(ProduceLabels, bool);
  itkGetConstMacro(ProduceLabels, bool);
  itkBooleanMacro(ProduceLabels);

  /** Number of classes: the model's GetNumberOfClasses() once a model is set, else (a model that
   * shows it only by running, such as a bare TorchScript file) the count seen in the last run, 0
   * before any. Output 1 reports it as its number of components from GenerateOutputInformation on
   * when the model knows it, so that a writer downstream of output 1 can be updated through the
   * pipeline; otherwise call Update() on this filter first. */
  itkGetConstMacro(NumberOfClasses, unsigned int);

  OutputImageType *
  GetLabelOutput()
  {
    return this->GetOutput(0);
  }
  ProbabilityImageType *
  GetProbabilityOutput();

protected:
  DeepSegmentationImageFilter();
  ~DeepSegmentationImageFilter() override = default;

  using Superclass::MakeOutput;
  itk::DataObject::Pointer
  MakeOutput(DataObjectPointerArraySizeType index) override;

  /** Also sets output 1's number of components from the model's GetNumberOfClasses() (no forward
   * pass), so that a writer connected to output 1 sees the right pixel size before the data are
   * generated; a model that does not know its class count leaves it to the first run. */
  void
  GenerateOutputInformation() override;
  void
  GenerateInputRequestedRegion() override;
  void
  VerifyPreconditions() ITKv5_CONST override;
  void
  GenerateData() override;

  void
  PrintSelf(std::ostream & os, itk::Indent indent) const override;

private:
  /** True when every channel's normalization can be applied to a part of the image alone. */
  bool
  CanStream() const;

  std::shared_ptr<SegmentationModel> m_Model;
  SlidingWindowSettings              m_SlidingWindowSettings;
  NormalizationSpec                  m_Normalization;
  std::vector<NormalizationSpec>     m_ChannelNormalizations;
  std::vector<IntensityMapping>      m_IntensityMappings;
  std::vector<unsigned int>          m_LabelValues;
  bool                               m_ProduceProbabilities{ false };
  bool                               m_ProduceLabels{ true };
  unsigned int                       m_NumberOfClasses{ 0 };
};

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegDeepSegmentationImageFilter.hxx"
#endif

#endif
