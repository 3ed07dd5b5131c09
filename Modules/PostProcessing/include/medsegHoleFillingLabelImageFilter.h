#ifndef medsegHoleFillingLabelImageFilter_h
#define medsegHoleFillingLabelImageFilter_h

#include "itkImageToImageFilter.h"

namespace medseg
{

/** \brief Fills the holes of every label, in 3D or slice by slice, without touching other labels.
 *
 * For each label, the voxels of that label form a binary object whose holes are found with
 * itk::BinaryFillholeImageFilter (Soille, "Morphological Image Analysis", 1999, p. 173): the
 * non-object voxels that cannot be reached from the image border. Only holes' background voxels
 * are filled; voxels of other labels inside a hole are kept. When a background voxel is a hole of
 * several labels (nested labels), the innermost one (the smallest filled object) wins.
 *
 * SliceAxis < 0 (default) fills 3D holes; SliceAxis = a fills the 2D holes of every slice
 * perpendicular to index axis a (itk::SliceBySliceImageFilter), e.g. 2 for axial slices of an
 * axial scan. Defaults: 3D, face connectivity of the object (FullyConnected = false), background 0.
 * The geometry of the input is kept. */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT HoleFillingLabelImageFilter : public itk::ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(HoleFillingLabelImageFilter);

  using Self = HoleFillingLabelImageFilter;
  using Superclass = itk::ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(HoleFillingLabelImageFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelPixelType = typename TLabelImage::PixelType;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;

  /** -1 (default): 3D holes; 0..Dimension-1: 2D holes in the slices perpendicular to that axis. */
  itkSetMacro(SliceAxis, int);
  itkGetConstMacro(SliceAxis, int);

  /** Connectivity of the label's object (the hole's connectivity is the complementary one). */
  itkSetMacro(FullyConnected, bool);
  itkGetConstMacro(FullyConnected, bool);
  itkBooleanMacro(FullyConnected);

  /** Only voxels of this value are filled. Default 0. */
  itkSetMacro(BackgroundValue, LabelPixelType);
  itkGetConstMacro(BackgroundValue, LabelPixelType);

protected:
  HoleFillingLabelImageFilter() = default;
  ~HoleFillingLabelImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(itk::DataObject * output) override;
  void
  GenerateData() override;
  void
  PrintSelf(std::ostream & os, itk::Indent indent) const override;

private:
  int            m_SliceAxis{ -1 };
  bool           m_FullyConnected{ false };
  LabelPixelType m_BackgroundValue{};
};

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegHoleFillingLabelImageFilter.hxx"
#endif

#endif
