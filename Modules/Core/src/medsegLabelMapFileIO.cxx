#include "medsegLabelMapFileIO.h"

#include "medsegError.h"
#include "medsegFileNameSuffix.h"
#include "medsegImageFileIO.h"
#include "medsegPixelTypeDispatch.h"

#include "itkCastImageFilter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace medseg
{
using detail::NameEndsWith;

namespace
{
template <typename TPixel>
void
WriteSliceLabelImage(const LabelImage3 * labels, const std::string & path)
{
  using SliceImage = itk::Image<TPixel, 2>;
  auto                        slice = SliceImage::New();
  typename SliceImage::SizeType size;
  typename SliceImage::SpacingType spacing;
  typename SliceImage::PointType   origin;
  typename SliceImage::DirectionType direction;
  const auto                       region = labels->GetLargestPossibleRegion();
  for (unsigned int i = 0; i < 2; ++i)
  {
    size[i] = region.GetSize(i);
    spacing[i] = labels->GetSpacing()[i];
    origin[i] = labels->GetOrigin()[i];
    for (unsigned int j = 0; j < 2; ++j)
    {
      direction[i][j] = labels->GetDirection()[i][j];
    }
  }
  // The in-plane part of an oblique direction may be singular; PNG and TIFF store no direction anyway.
  if (std::abs(direction[0][0] * direction[1][1] - direction[0][1] * direction[1][0]) < 1e-6)
  {
    direction.SetIdentity();
  }
  slice->SetRegions(size);
  slice->SetSpacing(spacing);
  slice->SetOrigin(origin);
  slice->SetDirection(direction);
  slice->Allocate();
  const auto * in = labels->GetBufferPointer();
  TPixel *     out = slice->GetBufferPointer();
  const size_t n = slice->GetLargestPossibleRegion().GetNumberOfPixels(); // x fastest in both: one z slice
  for (size_t i = 0; i < n; ++i)
  {
    out[i] = static_cast<TPixel>(in[i]);
  }
  detail::WriteThroughTemporaryFile(slice.GetPointer(), path, true);
}
} // namespace

bool
IsSliceLabelFormat(const std::string & path)
{
  return NameEndsWith(path, { ".png", ".tif", ".tiff" });
}

void
CheckLabelOutputPath(const std::string & path, bool overwrite)
{
  if (NameEndsWith(path, { ".jpg", ".jpeg" }))
  {
    throw InputError(path, "JPEG is lossy and would change label values; write label maps as .png or .tif "
                           "(2D) or .nii.gz, .nii, .nrrd, .mha (3D)");
  }
  if (!IsAtomicallyWritable(path) && !IsSliceLabelFormat(path))
  {
    throw InputError(path, "unsupported label map format; use .nii.gz, .nii, .nrrd or .mha, or .png or .tif for a "
                           "2D image");
  }
  CheckOutputFile(path, overwrite);
}

void
CheckLabelMapFitsFormat(const std::string & path, const itk::ImageRegion<3> & region, unsigned long maxLabel)
{
  if (!IsSliceLabelFormat(path))
  {
    return;
  }
  if (region.GetSize(2) != 1)
  {
    throw InputError(path, "a 2D label image holds one slice, but the label map has " +
                             std::to_string(region.GetSize(2)) +
                             " slices along z; write it as .nii.gz, .nii, .nrrd or .mha");
  }
  if (maxLabel > std::numeric_limits<uint16_t>::max())
  {
    throw InputError(path, "label value " + std::to_string(maxLabel) +
                             " does not fit a 16-bit 2D label image; write it as .nii.gz, .nii, .nrrd or .mha");
  }
}

void
WriteLabelMapFile(const LabelImage3 * labels, const std::string & path, unsigned long maxLabel)
{
  if (NameEndsWith(path, { ".jpg", ".jpeg" }) || (!IsAtomicallyWritable(path) && !IsSliceLabelFormat(path)))
  {
    CheckLabelOutputPath(path, true); // throws the format's refusal
  }
  maxLabel = std::max(maxLabel, 1ul);
  RegisterImageIOFactories();
  if (IsSliceLabelFormat(path))
  {
    CheckLabelMapFitsFormat(path, labels->GetLargestPossibleRegion(), maxLabel); // at most 16 bits
    DispatchLabelPixelType(maxLabel, [&](auto tag) { WriteSliceLabelImage<typename decltype(tag)::type>(labels, path); });
    return;
  }
  DispatchLabelPixelType(maxLabel, [&](auto tag) {
    using OutputImage = itk::Image<typename decltype(tag)::type, 3>;
    auto cast = itk::CastImageFilter<LabelImage3, OutputImage>::New();
    cast->SetInput(labels);
    cast->Update();
    WriteImageFile(cast->GetOutput(), path);
  });
}

} // namespace medseg
