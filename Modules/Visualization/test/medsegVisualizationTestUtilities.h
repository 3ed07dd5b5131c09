#ifndef medsegVisualizationTestUtilities_h
#define medsegVisualizationTestUtilities_h

#include "medsegTestHelpers.h"

#include <cmath>
#include <functional>

namespace medseg::test
{

/** A label map of `geometry` whose voxel (x, y, z) is `value(x, y, z)`. */
inline LabelImage3::Pointer
MakeLabels(const Geometry & geometry, const std::function<unsigned short(long, long, long)> & value)
{
  const auto reference = MakeImage(geometry, [](long, long, long) { return 0.0f; });
  auto       labels = LabelImage3::New();
  labels->CopyInformation(reference);
  labels->SetRegions(reference->GetLargestPossibleRegion());
  labels->Allocate();
  auto * p = labels->GetBufferPointer();
  for (long z = 0; z < static_cast<long>(geometry.size[2]); ++z)
    for (long y = 0; y < static_cast<long>(geometry.size[1]); ++y)
      for (long x = 0; x < static_cast<long>(geometry.size[0]); ++x)
        *p++ = value(x, y, z);
  return labels;
}

/** A ball of `label` (centre and radius in voxels). */
inline LabelImage3::Pointer
MakeLabelBall(const Geometry & geometry, std::array<double, 3> c, double r, unsigned short label = 1)
{
  return MakeLabels(geometry, [=](long x, long y, long z) {
    const double dx = x - c[0], dy = y - c[1], dz = z - c[2];
    return static_cast<unsigned short>(dx * dx + dy * dy + dz * dz <= r * r ? label : 0);
  });
}

inline std::size_t
CountLabel(const LabelImage3 * labels, unsigned short value)
{
  std::size_t n = 0;
  const auto  count = labels->GetBufferedRegion().GetNumberOfPixels();
  for (std::size_t i = 0; i < count; ++i)
    n += labels->GetBufferPointer()[i] == value;
  return n;
}

} // namespace medseg::test

#endif
