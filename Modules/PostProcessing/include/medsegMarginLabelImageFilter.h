#ifndef medsegMarginLabelImageFilter_h
#define medsegMarginLabelImageFilter_h

#include "itkImageToImageFilter.h"

namespace medseg
{

/** \brief Grows (Distance > 0) or shrinks (Distance < 0) labels by a physical distance in mm.
 *
 * Distances are Euclidean, in mm, from itk::SignedMaurerDistanceMapImageFilter (Maurer, Qi and
 * Raghavan, IEEE PAMI 25(2), 2003) with the image spacing, so anisotropic voxels are handled.
 * Growing gives a background voxel to the nearest label within Distance of it (ties: the smaller
 * label); voxels of other labels are never overwritten. Shrinking turns into background the
 * voxels of the label that lie closer than |Distance| to a voxel of another value (the image
 * border does not count as a boundary).
 *
 * Label = 0 (default) applies the margin to every label; otherwise only to that label.
 * Defaults: Distance 0 (no change), Label 0 (all), background 0. Geometry is kept. */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT MarginLabelImageFilter : public itk::ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MarginLabelImageFilter);

  using Self = MarginLabelImageFilter;
  using Superclass = itk::ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(MarginLabelImageFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelPixelType = typename TLabelImage::PixelType;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;

  /** Signed margin in mm: > 0 grows, < 0 shrinks. Default 0. */
  itkSetMacro(Distance, double);
  itkGetConstMacro(Distance, double);

  /** The label to change; 0 (default) changes every label. */
  itkSetMacro(Label, LabelPixelType);
  itkGetConstMacro(Label, LabelPixelType);

  /** Background value (what grows may take, what shrinks leaves). Default 0. */
  itkSetMacro(BackgroundValue, LabelPixelType);
  itkGetConstMacro(BackgroundValue, LabelPixelType);

protected:
  MarginLabelImageFilter() = default;
  ~MarginLabelImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(itk::DataObject * output) override;
  void
  GenerateData() override;
  void
  PrintSelf(std::ostream & os, itk::Indent indent) const override;

private:
  double         m_Distance{ 0.0 };
  LabelPixelType m_Label{};
  LabelPixelType m_BackgroundValue{};
};

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegMarginLabelImageFilter.hxx"
#endif

#endif
