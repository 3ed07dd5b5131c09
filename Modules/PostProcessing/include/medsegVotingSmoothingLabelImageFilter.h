#ifndef medsegVotingSmoothingLabelImageFilter_h
#define medsegVotingSmoothingLabelImageFilter_h

#include "itkImageToImageFilter.h"

#include <vector>

namespace medseg
{

/** \brief Label-wise smoothing by voting in a ball whose radius is given in millimetres.
 *
 * Every voxel counts the labels (background included) of the voxels in an ellipsoidal
 * neighbourhood of physical radius Radius (mm; per-axis voxel radius = floor(Radius / spacing),
 * so anisotropic images get a physically round ball). Only labels that occur in the voxel itself or
 * among its immediate neighbours (the 3x3x3 box, within the ball) may win, so the filter never
 * invents a label and never moves a voxel into a label it did not touch.
 *
 * Mode Majority (default): the most frequent candidate wins (ties keep the current label, else the
 * smallest label). Mode Median: the multi-label generalisation of the binary median filter: a voxel
 * changes only when one candidate holds a strict majority (> 50 %) of the ball.
 *
 * Default Radius 1 mm. A radius below every spacing leaves the image unchanged. Geometry is kept.
 * The input request is padded by the radius (streaming-safe); work is threaded. */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT VotingSmoothingLabelImageFilter : public itk::ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(VotingSmoothingLabelImageFilter);

  using Self = VotingSmoothingLabelImageFilter;
  using Superclass = itk::ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(VotingSmoothingLabelImageFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelPixelType = typename TLabelImage::PixelType;
  using OutputImageRegionType = typename TLabelImage::RegionType;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;

  enum class ModeEnum
  {
    Majority,
    Median
  };

  /** Radius of the voting ball in mm. Default 1. */
  itkSetMacro(Radius, double);
  itkGetConstMacro(Radius, double);

  /** Majority (plurality vote, default) or Median (strict majority). */
  itkSetEnumMacro(Mode, ModeEnum);
  itkGetEnumMacro(Mode, ModeEnum);

protected:
  VotingSmoothingLabelImageFilter();
  ~VotingSmoothingLabelImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  DynamicThreadedGenerateData(const OutputImageRegionType & region) override;
  void
  PrintSelf(std::ostream & os, itk::Indent indent) const override;

private:
  double   m_Radius{ 1.0 };
  ModeEnum m_Mode{ ModeEnum::Majority };
};

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegVotingSmoothingLabelImageFilter.hxx"
#endif

#endif
