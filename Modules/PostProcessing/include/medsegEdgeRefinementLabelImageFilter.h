#ifndef medsegEdgeRefinementLabelImageFilter_h
#define medsegEdgeRefinementLabelImageFilter_h

#include "itkImageToImageFilter.h"
#include "itkVectorImage.h"

namespace medseg
{

/** \brief Moves label boundaries onto the image's own edges, within a narrow band.
 *
 * Marker-controlled watershed (Beucher and Meyer, "The morphological approach to segmentation:
 * the watershed transformation", 1993) of the gradient magnitude of the feature image
 * (itk::GradientMagnitudeRecursiveGaussianImageFilter, Sigma in mm), flooded by
 * itk::MorphologicalWatershedFromMarkersImageFilter from markers taken from the labels:
 * - voxels farther than BandWidth mm from every label boundary keep their label (and background)
 *   and act as markers, so nothing outside the band can change;
 * - inside the band the voxels are unknown and go to the basin that floods them first, which puts
 *   the boundary on the gradient ridge, i.e. on the image edge; the relief is tilted by 1e-3 of the
 *   strongest gradient per band width towards the current boundary, so that ties on a ridge (a step
 *   edge has two equally steep voxels) and flat, edgeless stretches keep the current boundary;
 * - with a probability image (optional input, one component per label value, same grid), band
 *   voxels whose top class probability is at least ConfidenceThreshold are markers of that class,
 *   so the refinement trusts the model where it is sure and the image where it is not.
 * A label that lies entirely within the band keeps its deepest voxels as a marker, so no label
 * disappears. Finally, a band voxel may change only between its own label and background: the
 * refinement never moves a voxel from one label into another one.
 *
 * Defaults: BandWidth 2 mm, Sigma 1 mm, ConfidenceThreshold 0.9, face connectivity, background 0.
 * Inputs: the label image (input 0) and FeatureImage (required, the intensities). Geometry is kept. */
template <typename TLabelImage, typename TFeatureImage = itk::Image<float, TLabelImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT EdgeRefinementLabelImageFilter : public itk::ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(EdgeRefinementLabelImageFilter);

  using Self = EdgeRefinementLabelImageFilter;
  using Superclass = itk::ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(EdgeRefinementLabelImageFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelPixelType = typename TLabelImage::PixelType;
  using FeatureImageType = TFeatureImage;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;
  using ProbabilityImageType = itk::VectorImage<float, ImageDimension>;

  /** The intensity image whose edges the boundaries should follow (required). */
  itkSetInputMacro(FeatureImage, FeatureImageType);
  itkGetInputMacro(FeatureImage, FeatureImageType);

  /** Optional class probabilities (component c = probability of label value c). */
  itkSetInputMacro(ProbabilityImage, ProbabilityImageType);
  itkGetInputMacro(ProbabilityImage, ProbabilityImageType);

  /** Half-width in mm of the band around the label boundaries where voxels may change. Default 2. */
  itkSetMacro(BandWidth, double);
  itkGetConstMacro(BandWidth, double);

  /** Gaussian scale (mm) of the gradient magnitude. Default 1. */
  itkSetMacro(Sigma, double);
  itkGetConstMacro(Sigma, double);

  /** With a probability image: band voxels at least this sure are markers. Default 0.9. */
  itkSetMacro(ConfidenceThreshold, double);
  itkGetConstMacro(ConfidenceThreshold, double);

  itkSetMacro(FullyConnected, bool);
  itkGetConstMacro(FullyConnected, bool);
  itkBooleanMacro(FullyConnected);

  itkSetMacro(BackgroundValue, LabelPixelType);
  itkGetConstMacro(BackgroundValue, LabelPixelType);

protected:
  EdgeRefinementLabelImageFilter();
  ~EdgeRefinementLabelImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(itk::DataObject * output) override;
  void
  GenerateData() override;
  void
  PrintSelf(std::ostream & os, itk::Indent indent) const override;

private:
  double         m_BandWidth{ 2.0 };
  double         m_Sigma{ 1.0 };
  double         m_ConfidenceThreshold{ 0.9 };
  bool           m_FullyConnected{ false };
  LabelPixelType m_BackgroundValue{};
};

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegEdgeRefinementLabelImageFilter.hxx"
#endif

#endif
