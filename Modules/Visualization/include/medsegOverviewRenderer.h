#ifndef medsegOverviewRenderer_h
#define medsegOverviewRenderer_h

#include "medsegImageTypes.h"
#include "medsegLabelSurface.h"
#include "medsegLabelTable.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** The three slice views, in world (LPS) axes. Radiological convention, as 3D Slicer shows them:
 * axial   - screen right = patient Left (+x), screen up = Anterior (-y), through z = focus z;
 * coronal - screen right = patient Left (+x), screen up = Superior (+z), through y = focus y;
 * sagittal- screen right = Anterior (-y),     screen up = Superior (+z), through x = focus x. */
enum class SliceOrientation
{
  Axial,
  Coronal,
  Sagittal
};

/** How labels are drawn over the slices. */
enum class OverlayMode
{
  Fill,   //!< label colour blended with the grey value at `opacity`
  Outline //!< only the label's boundary pixels, in the label colour at `opacity`
};

/** Options of RenderOverview() and RunLabelViewer(). */
struct RenderOptions
{
  std::vector<unsigned int>            labels;           //!< labels to draw; empty: all present
  OverlayMode                          overlay{ OverlayMode::Fill };
  double                               opacity{ 0.5 };   //!< 0..1
  std::optional<double>                window;           //!< intensity window; default: 1st..99th percentile
  std::optional<double>                level;            //!< intensity level (centre); default: as above
  std::optional<std::array<double, 3>> focus;            //!< LPS point the slices go through; default: centre of the largest label (else of the image)
  int                                  panelSize{ 384 }; //!< pixels per (square) view
  bool                                 legend{ true };   //!< a column with one colour swatch and name per label
  bool                                 surfaces{ true }; //!< the 3D view of the label surfaces
  MeshOptions                          mesh;             //!< surface options of the 3D view (always LPS)
};

/** A rectangle of the picture in PNG pixel coordinates (x right, y down, from the top-left). */
struct PixelRect
{
  int x{ 0 };
  int y{ 0 };
  int width{ 0 };
  int height{ 0 };
  bool
  Contains(int px, int py) const
  {
    return px >= x && px < x + width && py >= y && py < y + height;
  }
};

/** Where each part of the overview picture lies: a 2x2 grid (axial, coronal / sagittal, 3D)
 * followed by the legend column when RenderOptions::legend is on. */
struct OverviewLayout
{
  int                      width{ 0 };
  int                      height{ 0 };
  std::array<PixelRect, 3> slices; //!< indexed by SliceOrientation
  PixelRect                view3D;
  PixelRect                legend; //!< width 0 when there is no legend
};

OverviewLayout
ComputeOverviewLayout(const RenderOptions & options);

/** \brief The geometry of one slice view: which world point each pixel shows.
 *
 * The view covers the image's world bounding box (all voxel corners projected onto the view
 * plane) with square pixels, centred, so that any direction matrix (permuted, oblique) is shown
 * in true anatomical orientation. */
class SlicePanel
{
public:
  SlicePanel(const itk::ImageBase<3> * image, SliceOrientation orientation, const std::array<double, 3> & focus,
             int width, int height);

  /** World (LPS) point at the centre of pixel (column, row), row 0 at the top. */
  std::array<double, 3>
  PixelToWorld(double column, double row) const;
  /** Continuous (column, row) of a world point projected onto the view. */
  std::array<double, 2>
  WorldToPixel(const std::array<double, 3> & world) const;

  int
  GetWidth() const
  {
    return m_Width;
  }
  int
  GetHeight() const
  {
    return m_Height;
  }
  double
  GetMillimetresPerPixel() const
  {
    return m_MillimetresPerPixel;
  }
  SliceOrientation
  GetOrientation() const
  {
    return m_Orientation;
  }
  /** World unit vectors of screen right, screen up and the view normal. */
  const std::array<std::array<double, 3>, 3> &
  GetAxes() const
  {
    return m_Axes;
  }

private:
  SliceOrientation                     m_Orientation;
  std::array<std::array<double, 3>, 3> m_Axes{};
  std::array<double, 3>                m_Focus{};
  double                               m_CentreU{ 0 };
  double                               m_CentreV{ 0 };
  double                               m_MillimetresPerPixel{ 1 };
  int                                  m_Width;
  int                                  m_Height;
};

/** The default focus: the voxel of the largest label nearest to that label's centroid (so it is
 * inside the label even when the label is not convex), or the image centre without labels. */
std::array<double, 3>
ComputeDefaultFocus(const FloatImage3 * image, const LabelImage3 * labels, const std::vector<unsigned int> & only);

/** The automatic window/level: the 1st and 99th percentiles of the intensities. */
std::pair<double, double>
ComputeAutomaticWindowLevel(const FloatImage3 * image);

/** \brief Renders three orthogonal slices with the label overlay, a 3D view of the label surfaces
 * and a legend of label names into one PNG, off-screen, written atomically.
 *
 * `labels` may be nullptr (grey slices only); it must have the image's geometry otherwise.
 * Needs an X display (use `xvfb-run -a` on headless machines); throws std::runtime_error without one. */
void
RenderOverview(const FloatImage3 * image, const LabelImage3 * labels, const std::string & pngPath,
               const RenderOptions & options, const LabelTable & table);

/** Options of the interactive viewer. */
struct ViewerOptions
{
  int         frames{ 0 };  //!< > 0: render this many frames (stepping the axial slice) without waiting for the user, then close
  std::string screenshot;   //!< PNG of the last frame ("" = none)
  bool        offScreen{ false };
  std::string title{ "MedSeg viewer" };
};

/** \brief An interactive window with the three slice views, the 3D surfaces and the legend.
 *
 * Mouse wheel (or Up/Down arrow keys) over a slice view steps through slices; left click in a
 * slice view moves the focus (all three views follow); the 3D view rotates/zooms like ParaView;
 * 'q' closes. Needs an X display. */
void
RunLabelViewer(const FloatImage3 * image, const LabelImage3 * labels, const RenderOptions & options,
               const LabelTable & table, const ViewerOptions & viewer);

/** True when an X display is available for rendering ($DISPLAY set). */
bool
HasRenderingDisplay();

} // namespace medseg

#endif
