#ifndef medsegComponentSelectionLabelImageFilter_h
#define medsegComponentSelectionLabelImageFilter_h

#include "itkImageToImageFilter.h"

namespace medseg
{

/** \brief Per label, keeps the largest connected components and removes small islands.
 *
 * Every label is split into its connected components (one pass of
 * itk::ScalarConnectedComponentImageFilter, so touching labels stay separate components), the
 * components are ranked by size (itk::RelabelComponentImageFilter), and a component survives when
 * it is among the NumberOfComponentsToKeep largest of its label (0 keeps all) and its volume is at
 * least MinimumComponentVolume mm^3. Removed voxels become BackgroundValue; no other voxel changes.
 *
 * Defaults: keep the single largest component of every label (NumberOfComponentsToKeep = 1),
 * no volume limit (0 mm^3), face connectivity (FullyConnected = false), background 0.
 * The geometry of the input is kept. */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT ComponentSelectionLabelImageFilter : public itk::ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ComponentSelectionLabelImageFilter);

  using Self = ComponentSelectionLabelImageFilter;
  using Superclass = itk::ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(ComponentSelectionLabelImageFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelPixelType = typename TLabelImage::PixelType;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;

  /** How many components of each label to keep, largest first; 0 keeps all. Default 1. */
  itkSetMacro(NumberOfComponentsToKeep, itk::SizeValueType);
  itkGetConstMacro(NumberOfComponentsToKeep, itk::SizeValueType);

  /** Components smaller than this physical volume (mm^3) are removed. Default 0 (none). */
  itkSetMacro(MinimumComponentVolume, double);
  itkGetConstMacro(MinimumComponentVolume, double);

  /** false: voxels sharing a face are connected (default); true: also edges and corners. */
  itkSetMacro(FullyConnected, bool);
  itkGetConstMacro(FullyConnected, bool);
  itkBooleanMacro(FullyConnected);

  /** The value of background voxels, and of removed ones. Default 0. */
  itkSetMacro(BackgroundValue, LabelPixelType);
  itkGetConstMacro(BackgroundValue, LabelPixelType);

protected:
  ComponentSelectionLabelImageFilter() = default;
  ~ComponentSelectionLabelImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(itk::DataObject * output) override;
  void
  GenerateData() override;
  void
  PrintSelf(std::ostream & os, itk::Indent indent) const override;

private:
  itk::SizeValueType m_NumberOfComponentsToKeep{ 1 };
  double             m_MinimumComponentVolume{ 0.0 };
  bool               m_FullyConnected{ false };
  LabelPixelType     m_BackgroundValue{};
};

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegComponentSelectionLabelImageFilter.hxx"
#endif

#endif
