#ifndef medsegLabelTestUtilities_h
#define medsegLabelTestUtilities_h

// Small helpers shared by the PostProcessing tests: label phantoms and voxel counts.
#include "medsegImageTypes.h"
#include "medsegTestHelpers.h"

#include "itkCastImageFilter.h"
#include "itkImageRegionConstIterator.h"

#include <functional>

namespace medseg::test
{

inline LabelImage3::Pointer
MakeLabels(const Geometry & geometry, const std::function<unsigned short(long, long, long)> & value)
{
  const auto image = MakeImage(geometry, [&](long x, long y, long z) { return static_cast<float>(value(x, y, z)); });
  auto       cast = itk::CastImageFilter<FloatImage3, LabelImage3>::New();
  cast->SetInput(image);
  cast->Update();
  return cast->GetOutput();
}

inline size_t
Count(const LabelImage3 * image, unsigned short label)
{
  size_t n = 0;
  for (itk::ImageRegionConstIterator<LabelImage3> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
  {
    n += it.Get() == label;
  }
  return n;
}

/** Voxels where a and b differ. */
inline size_t
Differences(const LabelImage3 * a, const LabelImage3 * b)
{
  size_t                                     n = 0;
  itk::ImageRegionConstIterator<LabelImage3> i(a, a->GetBufferedRegion());
  itk::ImageRegionConstIterator<LabelImage3> j(b, b->GetBufferedRegion());
  for (; !i.IsAtEnd(); ++i, ++j)
  {
    n += i.Get() != j.Get();
  }
  return n;
}

inline double
DiceOf(const LabelImage3 * a, const LabelImage3 * b, unsigned short label)
{
  size_t                                     na = 0, nb = 0, both = 0;
  itk::ImageRegionConstIterator<LabelImage3> i(a, a->GetBufferedRegion());
  itk::ImageRegionConstIterator<LabelImage3> j(b, b->GetBufferedRegion());
  for (; !i.IsAtEnd(); ++i, ++j)
  {
    na += i.Get() == label;
    nb += j.Get() == label;
    both += i.Get() == label && j.Get() == label;
  }
  return na + nb == 0 ? 1.0 : 2.0 * both / static_cast<double>(na + nb);
}

inline unsigned short
At(const LabelImage3 * image, long x, long y, long z)
{
  return image->GetPixel({ { x, y, z } });
}

inline bool
SameGeometry(const itk::ImageBase<3> * a, const itk::ImageBase<3> * b)
{
  return a->GetLargestPossibleRegion() == b->GetLargestPossibleRegion() && a->GetSpacing() == b->GetSpacing() &&
         a->GetOrigin() == b->GetOrigin() && a->GetDirection() == b->GetDirection();
}

} // namespace medseg::test

#endif
