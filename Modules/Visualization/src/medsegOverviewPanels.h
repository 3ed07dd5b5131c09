#ifndef medsegOverviewPanels_h
#define medsegOverviewPanels_h

// Private to MedSegVisualization: what the overview scene (medsegOverviewRenderer.cxx) shares with
// the slice panels and picture layout (medsegOverviewPanels.cxx).

#include "medsegOverviewRenderer.h"

#include <array>
#include <cstdint>
#include <map>
#include <vector>

namespace medseg::detail
{

const std::array<std::uint8_t, 3> Background{ 0, 0, 0 };

using Vector3 = std::array<double, 3>;

inline double
Dot(const Vector3 & a, const Vector3 & b)
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Draws one slice view: nearest-neighbour grey values under window/level, with the label overlay.
 * Output is RGB, row 0 at the top. */
struct SlicePanelSampler
{
  const FloatImage3 *                                       image;
  const LabelImage3 *                                       labels;
  const std::map<unsigned int, std::array<std::uint8_t, 3>> & colours; // selected labels only
  double                                                    window;
  double                                                    level;
  OverlayMode                                               overlay;
  double                                                    opacity;

  void
  operator()(const SlicePanel & panel, std::vector<std::uint8_t> & rgb) const;
};

} // namespace medseg::detail

#endif
