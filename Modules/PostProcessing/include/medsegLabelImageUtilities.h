#ifndef medsegLabelImageUtilities_h
#define medsegLabelImageUtilities_h

#include "itkImageRegionConstIterator.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace medseg
{

/** The distinct voxel values of `image` other than `background`, in ascending order. */
template <typename TImage>
std::vector<typename TImage::PixelType>
CollectLabels(const TImage * image, typename TImage::PixelType background = 0)
{
  using PixelType = typename TImage::PixelType;
  std::set<PixelType> labels;
  PixelType           last = background;
  for (itk::ImageRegionConstIterator<TImage> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    const PixelType v = it.Get();
    if (v != background && v != last)
    {
      last = v;
      labels.insert(v);
    }
  }
  return std::vector<PixelType>(labels.begin(), labels.end());
}

/** The volume of one voxel in mm^3 (product of the spacings). */
template <typename TImage>
double
VoxelVolume(const TImage * image)
{
  double volume = 1.0;
  for (unsigned int d = 0; d < TImage::ImageDimension; ++d)
  {
    volume *= image->GetSpacing()[d];
  }
  return volume;
}

/** A radius of `millimetres` as whole voxels along each axis (floor, with a small tolerance so
 * that 1 mm at 0.5 mm spacing is 2 voxels). */
template <typename TImage>
typename TImage::SizeType
RadiusInVoxels(const TImage * image, double millimetres)
{
  typename TImage::SizeType radius;
  for (unsigned int d = 0; d < TImage::ImageDimension; ++d)
  {
    radius[d] = static_cast<typename TImage::SizeValueType>(
      std::max(0.0, std::floor(millimetres / image->GetSpacing()[d] + 1e-6)));
  }
  return radius;
}

} // namespace medseg

#endif
