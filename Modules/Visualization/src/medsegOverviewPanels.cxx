// The slice panels and the picture layout of the overview: which world point each pixel shows,
// the grey values and label overlay drawn there, the default focus and window/level. No VTK here:
// the scene that puts them on screen is in medsegOverviewRenderer.cxx.
#include "medsegOverviewPanels.h"

#include "itkImageRegionConstIteratorWithIndex.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace medseg
{

using detail::Dot;
using detail::Vector3;

namespace
{

constexpr int LegendWidth = 240;

/** Screen right, screen up and view normal of each orientation, in LPS. */
std::array<Vector3, 3>
OrientationAxes(SliceOrientation orientation)
{
  switch (orientation)
  {
    case SliceOrientation::Axial:
      return { { { 1, 0, 0 }, { 0, -1, 0 }, { 0, 0, 1 } } };
    case SliceOrientation::Coronal:
      return { { { 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 } } };
    case SliceOrientation::Sagittal:
      break;
  }
  return { { { 0, -1, 0 }, { 0, 0, 1 }, { 1, 0, 0 } } };
}

} // namespace

namespace detail
{

void
SlicePanelSampler::operator()(const SlicePanel & panel, std::vector<std::uint8_t> & rgb) const
{
  const int                  w = panel.GetWidth(), h = panel.GetHeight();
  std::vector<unsigned int> panelLabels(static_cast<std::size_t>(w) * h, 0);
  rgb.assign(static_cast<std::size_t>(w) * h * 3, 0);
  const auto   region = image->GetLargestPossibleRegion();
  const double lower = level - window / 2.0;
  for (int row = 0; row < h; ++row)
  {
    for (int col = 0; col < w; ++col)
    {
      const auto             world = panel.PixelToWorld(col, row);
      FloatImage3::PointType point;
      point[0] = world[0];
      point[1] = world[1];
      point[2] = world[2];
      itk::ContinuousIndex<double, 3> cindex;
      image->TransformPhysicalPointToContinuousIndex(point, cindex);
      FloatImage3::IndexType index;
      index.CopyWithRound(cindex);
      const std::size_t p = static_cast<std::size_t>(row) * w + col;
      if (!region.IsInside(index))
      {
        std::copy(Background.begin(), Background.end(), rgb.begin() + 3 * p);
        continue;
      }
      const double        g = std::clamp((image->GetPixel(index) - lower) / window, 0.0, 1.0);
      const std::uint8_t grey = static_cast<std::uint8_t>(std::lround(255.0 * g));
      rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey;
      if (labels != nullptr)
      {
        const unsigned int v = labels->GetPixel(index);
        panelLabels[p] = colours.count(v) ? v : 0;
      }
    }
  }
  for (int row = 0; row < h; ++row)
  {
    for (int col = 0; col < w; ++col)
    {
      const std::size_t  p = static_cast<std::size_t>(row) * w + col;
      const unsigned int v = panelLabels[p];
      if (v == 0)
      {
        continue;
      }
      double alpha = opacity;
      if (overlay == OverlayMode::Outline)
      {
        bool boundary = false;
        for (int dr = -1; dr <= 1 && !boundary; ++dr)
          for (int dc = -1; dc <= 1 && !boundary; ++dc)
          {
            const int r = row + dr, c = col + dc;
            boundary = r < 0 || r >= h || c < 0 || c >= w || panelLabels[static_cast<std::size_t>(r) * w + c] != v;
          }
        if (!boundary)
        {
          continue;
        }
        alpha = 1.0;
      }
      const auto & colour = colours.at(v);
      for (int k = 0; k < 3; ++k)
      {
        rgb[3 * p + k] =
          static_cast<std::uint8_t>(std::lround((1.0 - alpha) * rgb[3 * p + k] + alpha * colour[k]));
      }
    }
  }
}

} // namespace detail

OverviewLayout
ComputeOverviewLayout(const RenderOptions & options)
{
  const int      p = options.panelSize;
  OverviewLayout layout;
  layout.slices[static_cast<int>(SliceOrientation::Axial)] = { 0, 0, p, p };
  layout.slices[static_cast<int>(SliceOrientation::Coronal)] = { p + 2, 0, p, p };
  layout.slices[static_cast<int>(SliceOrientation::Sagittal)] = { 0, p + 2, p, p };
  layout.view3D = { p + 2, p + 2, p, p };
  layout.width = 2 * p + 2;
  layout.height = 2 * p + 2;
  if (options.legend)
  {
    layout.legend = { layout.width + 2, 0, LegendWidth, layout.height };
    layout.width += 2 + LegendWidth;
  }
  return layout;
}

SlicePanel::SlicePanel(const itk::ImageBase<3> * image, SliceOrientation orientation,
                       const std::array<double, 3> & focus, int width, int height)
  : m_Orientation(orientation)
  , m_Axes(OrientationAxes(orientation))
  , m_Focus(focus)
  , m_Width(width)
  , m_Height(height)
{
  // Project every voxel corner of the image onto the view's right/up axes.
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const auto start = image->GetLargestPossibleRegion().GetIndex();
  double     uMin = std::numeric_limits<double>::max(), uMax = -uMin, vMin = uMin, vMax = -uMin;
  for (int corner = 0; corner < 8; ++corner)
  {
    itk::ContinuousIndex<double, 3> index;
    for (int d = 0; d < 3; ++d)
    {
      index[d] = start[d] - 0.5 + ((corner >> d) & 1 ? static_cast<double>(size[d]) : 0.0);
    }
    itk::Point<double, 3> point;
    image->TransformContinuousIndexToPhysicalPoint(index, point);
    const Vector3 p{ point[0], point[1], point[2] };
    uMin = std::min(uMin, Dot(p, m_Axes[0]));
    uMax = std::max(uMax, Dot(p, m_Axes[0]));
    vMin = std::min(vMin, Dot(p, m_Axes[1]));
    vMax = std::max(vMax, Dot(p, m_Axes[1]));
  }
  m_CentreU = 0.5 * (uMin + uMax);
  m_CentreV = 0.5 * (vMin + vMax);
  m_MillimetresPerPixel = std::max((uMax - uMin) / width, (vMax - vMin) / height);
}

std::array<double, 3>
SlicePanel::PixelToWorld(double column, double row) const
{
  const double u = m_CentreU + (column + 0.5 - 0.5 * m_Width) * m_MillimetresPerPixel;
  const double v = m_CentreV - (row + 0.5 - 0.5 * m_Height) * m_MillimetresPerPixel;
  const double n = Dot(m_Focus, m_Axes[2]);
  std::array<double, 3> world;
  for (int d = 0; d < 3; ++d)
  {
    world[d] = u * m_Axes[0][d] + v * m_Axes[1][d] + n * m_Axes[2][d];
  }
  return world;
}

std::array<double, 2>
SlicePanel::WorldToPixel(const std::array<double, 3> & world) const
{
  const double u = Dot(world, m_Axes[0]);
  const double v = Dot(world, m_Axes[1]);
  return { (u - m_CentreU) / m_MillimetresPerPixel + 0.5 * m_Width - 0.5,
           -(v - m_CentreV) / m_MillimetresPerPixel + 0.5 * m_Height - 0.5 };
}

std::array<double, 3>
ComputeDefaultFocus(const FloatImage3 * image, const LabelImage3 * labels, const std::vector<unsigned int> & only)
{
  const auto region = image->GetLargestPossibleRegion();
  itk::ContinuousIndex<double, 3> centre;
  for (int d = 0; d < 3; ++d)
  {
    centre[d] = region.GetIndex(d) + 0.5 * (static_cast<double>(region.GetSize(d)) - 1.0);
  }
  if (labels != nullptr)
  {
    // Voxel counts and centroids of the candidate labels.
    std::map<unsigned int, std::pair<std::size_t, std::array<double, 3>>> stats;
    const std::set<unsigned int> allowed(only.begin(), only.end());
    itk::ImageRegionConstIteratorWithIndex<LabelImage3> it(labels, labels->GetBufferedRegion());
    for (; !it.IsAtEnd(); ++it)
    {
      const unsigned int v = it.Get();
      if (v == 0 || (!allowed.empty() && allowed.count(v) == 0))
        continue;
      auto & s = stats[v];
      ++s.first;
      for (int d = 0; d < 3; ++d)
        s.second[d] += it.GetIndex()[d];
    }
    unsigned int best = 0;
    std::size_t  bestCount = 0;
    for (const auto & s : stats)
    {
      if (s.second.first > bestCount)
      {
        best = s.first;
        bestCount = s.second.first;
      }
    }
    if (bestCount > 0)
    {
      std::array<double, 3> c = stats[best].second;
      for (auto & x : c)
        x /= static_cast<double>(bestCount);
      // The label's voxel nearest to its centroid (the centroid of a ring is not in the ring).
      double nearest = std::numeric_limits<double>::max();
      for (it.GoToBegin(); !it.IsAtEnd(); ++it)
      {
        if (it.Get() != best)
          continue;
        double dist = 0;
        for (int d = 0; d < 3; ++d)
          dist += (it.GetIndex()[d] - c[d]) * (it.GetIndex()[d] - c[d]);
        if (dist < nearest)
        {
          nearest = dist;
          for (int d = 0; d < 3; ++d)
            centre[d] = it.GetIndex()[d];
        }
      }
    }
  }
  itk::Point<double, 3> point;
  image->TransformContinuousIndexToPhysicalPoint(centre, point);
  return { point[0], point[1], point[2] };
}

std::pair<double, double>
ComputeAutomaticWindowLevel(const FloatImage3 * image)
{
  const std::size_t  count = image->GetBufferedRegion().GetNumberOfPixels();
  const std::size_t  stride = std::max<std::size_t>(1, count / 200000);
  std::vector<float> samples;
  for (std::size_t i = 0; i < count; i += stride)
  {
    samples.push_back(image->GetBufferPointer()[i]);
  }
  if (samples.empty())
  {
    return { 1.0, 0.0 };
  }
  const auto at = [&](double q) {
    auto nth = samples.begin() + static_cast<std::ptrdiff_t>(q * (samples.size() - 1));
    std::nth_element(samples.begin(), nth, samples.end());
    return static_cast<double>(*nth);
  };
  const double low = at(0.01), high = at(0.99);
  if (high > low)
  {
    return { high - low, 0.5 * (high + low) };
  }
  // Constant (or nearly) image: any window shows it as mid grey.
  return { std::max(1.0, std::abs(high)), low };
}

} // namespace medseg
