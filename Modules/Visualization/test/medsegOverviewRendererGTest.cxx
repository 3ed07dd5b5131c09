// Rendering tests: run by CTest under `xvfb-run -a`; skipped when there is no X display.
#include "medsegError.h"
#include "medsegOverviewRenderer.h"
#include "medsegTestHelpers.h"
#include "medsegVisualizationTestUtilities.h"

#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGReader.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

using namespace medseg;

namespace
{

// Under CTest with xvfb-run (MEDSEG_REQUIRE_DISPLAY set) a missing display is a failure, not a skip.
#define MEDSEG_REQUIRE_DISPLAY()                                                                                     \
  if (!HasRenderingDisplay())                                                                                        \
  {                                                                                                                  \
    if (std::getenv("MEDSEG_REQUIRE_DISPLAY") != nullptr)                                                           \
      FAIL() << "no X display although CTest ran this under xvfb-run";                                              \
    GTEST_SKIP() << "no X display (run under xvfb-run -a)";                                                          \
  }

/** A PNG read back, addressed like the layout: x right, y down from the top-left. */
struct Picture
{
  int                       width{ 0 };
  int                       height{ 0 };
  std::vector<std::uint8_t> rgb;

  explicit Picture(const std::string & path)
  {
    vtkNew<vtkPNGReader> reader;
    reader->SetFileName(path.c_str());
    reader->Update();
    auto * image = reader->GetOutput();
    int    dims[3];
    image->GetDimensions(dims);
    width = dims[0];
    height = dims[1];
    const int components = image->GetNumberOfScalarComponents();
    rgb.resize(static_cast<std::size_t>(width) * height * 3);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int k = 0; k < 3; ++k)
          rgb[3 * (static_cast<std::size_t>(y) * width + x) + k] =
            static_cast<std::uint8_t>(image->GetScalarComponentAsDouble(x, height - 1 - y, 0, k));
  }
  std::array<int, 3>
  At(int x, int y) const
  {
    const auto * p = &rgb[3 * (static_cast<std::size_t>(y) * width + x)];
    return { p[0], p[1], p[2] };
  }
};

bool
Near(const std::array<int, 3> & a, const std::array<std::uint8_t, 3> & b, int tolerance = 3)
{
  for (int k = 0; k < 3; ++k)
    if (std::abs(a[k] - b[k]) > tolerance)
      return false;
  return true;
}

bool
IsGrey(const std::array<int, 3> & a)
{
  return std::abs(a[0] - a[1]) <= 2 && std::abs(a[1] - a[2]) <= 2;
}

/** A 48^3 phantom in world space: a ball (label 1) and a box (label 2) on a grey gradient. */
struct Phantom
{
  test::Geometry        geometry;
  FloatImage3::Pointer  image;
  LabelImage3::Pointer  labels;
  std::array<double, 3> ballCentre{}; // world
  double                ballRadius{ 0 };

  explicit Phantom(const std::string & direction)
  {
    geometry.size = { 48, 48, 48 };
    geometry.spacing = { 1.0, 1.0, 1.0 };
    geometry.origin = { -20.0, 30.0, -5.0 };
    geometry = test::WithDirection(geometry, direction);
    const std::array<double, 3> c{ 20, 22, 24 };
    const double                r = 9;
    labels = test::MakeLabels(geometry, [&](long x, long y, long z) {
      const double d = (x - c[0]) * (x - c[0]) + (y - c[1]) * (y - c[1]) + (z - c[2]) * (z - c[2]);
      if (d <= r * r)
        return static_cast<unsigned short>(1);
      return static_cast<unsigned short>(x >= 34 && x <= 41 && y >= 8 && y <= 15 && z >= 20 && z <= 27 ? 2 : 0);
    });
    image = test::MakeImage(geometry, [&](long x, long y, long z) {
      const unsigned short l = labels->GetPixel({ { x, y, z } });
      return l == 1 ? 180.0f : (l == 2 ? 120.0f : 20.0f + x);
    });
    FloatImage3::PointType p;
    image->TransformContinuousIndexToPhysicalPoint(itk::ContinuousIndex<double, 3>(c.data()), p);
    ballCentre = { p[0], p[1], p[2] };
    ballRadius = r;
  }

  /** The analytic label at a world point, or -1 within `margin` mm of a boundary (ambiguous). */
  int
  LabelAt(const std::array<double, 3> & w, double margin) const
  {
    double d2 = 0;
    for (int d = 0; d < 3; ++d)
      d2 += (w[d] - ballCentre[d]) * (w[d] - ballCentre[d]);
    const double d = std::sqrt(d2);
    // The voxel ball of radius r spans about r + 0.5 voxels.
    if (std::abs(d - (ballRadius + 0.25)) < margin + 0.5)
      return -1;
    if (d < ballRadius)
      return 1;
    // The box is axis-aligned in index space (spacing 1, so margins in mm are margins in voxels).
    FloatImage3::PointType point;
    point[0] = w[0];
    point[1] = w[1];
    point[2] = w[2];
    itk::ContinuousIndex<double, 3> index;
    image->TransformPhysicalPointToContinuousIndex(point, index);
    const double lower[3] = { 33.5, 7.5, 19.5 }, upper[3] = { 41.5, 15.5, 27.5 };
    bool         inside = true, near = true;
    for (int k = 0; k < 3; ++k)
    {
      inside = inside && index[k] > lower[k] + margin && index[k] < upper[k] - margin;
      near = near && index[k] > lower[k] - margin && index[k] < upper[k] + margin;
    }
    if (near && !inside)
      return -1;
    return inside ? 2 : 0;
  }
};

struct Counts
{
  std::size_t checked{ 0 };
  std::size_t label1{ 0 };
  std::size_t label2{ 0 };
  std::size_t mismatches{ 0 };
};

/** Compares every pixel of one slice view with the analytic phantom. */
Counts
CheckSliceView(const Picture & picture, const Phantom & phantom, const OverviewLayout & layout, SliceOrientation o,
               const std::array<double, 3> & focus, const LabelTable & table, std::string & firstMismatch)
{
  const auto &     rect = layout.slices[static_cast<int>(o)];
  const SlicePanel panel(phantom.image, o, focus, rect.width, rect.height);
  Counts           counts;
  for (int row = 24; row < rect.height; ++row) // the top rows hold the view's title
  {
    for (int col = 0; col < rect.width; ++col)
    {
      const auto world = panel.PixelToWorld(col, row);
      const int  expected = phantom.LabelAt(world, 0.75);
      const auto colour = picture.At(rect.x + col, rect.y + row);
      if (expected < 0 || colour == std::array<int, 3>{ 0, 0, 0 })
        continue;
      ++counts.checked;
      const bool is1 = Near(colour, table.Get(1).rgb);
      const bool is2 = Near(colour, table.Get(2).rgb);
      counts.label1 += is1;
      counts.label2 += is2;
      const bool ok = expected == 1 ? is1 : (expected == 2 ? is2 : IsGrey(colour));
      if (!ok && counts.mismatches++ == 0)
      {
        std::ostringstream s;
        s << "view " << int(o) << " pixel (" << col << "," << row << ") expected label " << expected << " got "
          << colour[0] << "," << colour[1] << "," << colour[2];
        firstMismatch = s.str();
      }
    }
  }
  return counts;
}

/** Pixels of the legend column that are bright grey (anti-aliased text). */
std::size_t
CountTextPixels(const Picture & picture, const PixelRect & rect)
{
  std::size_t n = 0;
  for (int y = rect.y; y < rect.y + rect.height; ++y)
    for (int x = rect.x + 36; x < rect.x + rect.width; ++x) // right of the swatches
    {
      const auto c = picture.At(x, y);
      n += IsGrey(c) && c[0] > 120;
    }
  return n;
}

LabelTable
Table(const std::string & name1 = "liver")
{
  LabelTable table;
  table.Set({ 1, name1, { 220, 40, 40 } });
  table.Set({ 2, "spleen", { 40, 90, 230 } });
  return table;
}

} // namespace

TEST(OverviewRenderer, LabelColourAppearsExactlyWhereThePhantomIsLabelled)
{
  MEDSEG_REQUIRE_DISPLAY();
  for (const char * direction : { "identity", "permuted", "oblique" })
  {
    const Phantom            phantom(direction);
    const auto               table = Table();
    test::TemporaryDirectory dir;
    RenderOptions            options;
    options.opacity = 1.0; // pure label colours, so that they can be compared exactly
    options.panelSize = 256;
    RenderOverview(phantom.image, phantom.labels, dir / "overview.png", options, table);
    ASSERT_TRUE(std::filesystem::exists(dir / "overview.png"));
    if (std::getenv("MEDSEG_KEEP_PICTURES"))
      std::filesystem::copy_file(dir / "overview.png", std::string("overview-") + direction + ".png",
                                 std::filesystem::copy_options::overwrite_existing);
    const Picture picture(dir / "overview.png");
    const auto    layout = ComputeOverviewLayout(options);
    ASSERT_EQ(picture.width, layout.width);
    ASSERT_EQ(picture.height, layout.height);

    // Default focus: the centre of the largest label (the ball).
    const auto focus = ComputeDefaultFocus(phantom.image, phantom.labels, {});
    for (int d = 0; d < 3; ++d)
      EXPECT_NEAR(focus[d], phantom.ballCentre[d], 1.0) << direction;

    for (const auto o : { SliceOrientation::Axial, SliceOrientation::Coronal, SliceOrientation::Sagittal })
    {
      std::string first;
      const auto  counts = CheckSliceView(picture, phantom, layout, o, focus, table, first);
      EXPECT_GT(counts.checked, 10000u) << direction;
      EXPECT_EQ(counts.mismatches, 0u) << direction << ": " << first;
      // The ball's cross-section through its centre: pi r^2 (r ~ 9.25 mm at ~0.2-0.3 mm per pixel).
      const double mmpp = SlicePanel(phantom.image, o, focus, 256, 256).GetMillimetresPerPixel();
      const double disc = M_PI * 9.25 * 9.25 / (mmpp * mmpp);
      EXPECT_GT(counts.label1, 0.6 * disc) << direction << " view " << int(o);
      EXPECT_LT(counts.label1, 1.2 * disc) << direction << " view " << int(o);
    }
    // The box (label 2) crosses the index-z plane through the ball centre (z 20..27 contains 24), which is
    // one of the three views for the axis-aligned directions.
    std::string first;
    std::size_t box = 0;
    for (const auto o : { SliceOrientation::Axial, SliceOrientation::Coronal, SliceOrientation::Sagittal })
      box += CheckSliceView(picture, phantom, layout, o, focus, table, first).label2;
    EXPECT_GT(box, 100u) << direction;

    // The 3D view shows coloured surfaces: reddish pixels from the ball.
    std::size_t reddish = 0;
    for (int y = layout.view3D.y; y < layout.view3D.y + layout.view3D.height; ++y)
      for (int x = layout.view3D.x; x < layout.view3D.x + layout.view3D.width; ++x)
      {
        const auto c = picture.At(x, y);
        reddish += c[0] > 60 && c[0] > 2 * c[1] && c[0] > 2 * c[2];
      }
    EXPECT_GT(reddish, 1000u) << direction;
  }
}

TEST(OverviewRenderer, OutlineModeDrawsOnlyTheBoundary)
{
  MEDSEG_REQUIRE_DISPLAY();
  const Phantom            phantom("identity");
  const auto               table = Table();
  test::TemporaryDirectory dir;
  RenderOptions            options;
  options.panelSize = 256;
  options.overlay = OverlayMode::Outline;
  options.surfaces = false;
  RenderOverview(phantom.image, phantom.labels, dir / "outline.png", options, table);
  const Picture picture(dir / "outline.png");
  const auto    layout = ComputeOverviewLayout(options);
  const auto    focus = ComputeDefaultFocus(phantom.image, phantom.labels, {});
  const auto &  rect = layout.slices[0];
  const SlicePanel panel(phantom.image, SliceOrientation::Axial, focus, rect.width, rect.height);
  // The ball's centre is grey (not filled), its rim is red.
  const auto centre = panel.WorldToPixel(phantom.ballCentre);
  EXPECT_TRUE(IsGrey(picture.At(rect.x + int(centre[0]), rect.y + int(centre[1]))));
  std::size_t red = 0;
  for (int y = rect.y; y < rect.y + rect.height; ++y)
    for (int x = rect.x; x < rect.x + rect.width; ++x)
      red += Near(picture.At(x, y), table.Get(1).rgb);
  const double circumference = 2 * M_PI * 9.25 / panel.GetMillimetresPerPixel();
  EXPECT_GT(red, 0.7 * circumference);
  EXPECT_LT(red, 3.0 * circumference);
}

TEST(OverviewRenderer, LegendShowsSwatchesAndNames)
{
  MEDSEG_REQUIRE_DISPLAY();
  const Phantom            phantom("identity");
  test::TemporaryDirectory dir;
  RenderOptions            options;
  options.panelSize = 200;
  options.surfaces = false;
  RenderOverview(phantom.image, phantom.labels, dir / "short.png", options, Table("A"));
  RenderOverview(phantom.image, phantom.labels, dir / "long.png", options, Table("A much longer label name"));
  const auto    layout = ComputeOverviewLayout(options);
  const Picture shortName(dir / "short.png");
  const Picture longName(dir / "long.png");
  ASSERT_GT(layout.legend.width, 0);
  // The swatches, in the label colours.
  std::size_t swatch1 = 0, swatch2 = 0;
  for (int y = layout.legend.y; y < layout.legend.y + layout.legend.height; ++y)
    for (int x = layout.legend.x; x < layout.legend.x + 36; ++x)
    {
      swatch1 += Near(shortName.At(x, y), Table().Get(1).rgb);
      swatch2 += Near(shortName.At(x, y), Table().Get(2).rgb);
    }
  EXPECT_GE(swatch1, 200u);
  EXPECT_GE(swatch2, 200u);
  // Names are drawn: text pixels, and more of them for a longer name.
  const auto shortText = CountTextPixels(shortName, layout.legend);
  const auto longText = CountTextPixels(longName, layout.legend);
  EXPECT_GT(shortText, 100u);
  EXPECT_GT(longText, shortText + 150u);

  // Without a legend the picture has no legend column and nothing else changes size.
  options.legend = false;
  RenderOverview(phantom.image, phantom.labels, dir / "none.png", options, Table());
  const Picture none(dir / "none.png");
  EXPECT_EQ(none.width, ComputeOverviewLayout(options).width);
  EXPECT_EQ(none.width, layout.width - layout.legend.width - 2);
}

TEST(OverviewRenderer, WindowLevelAndNoLabels)
{
  MEDSEG_REQUIRE_DISPLAY();
  const Phantom            phantom("identity");
  test::TemporaryDirectory dir;
  RenderOptions            options;
  options.panelSize = 128;
  options.window = 10.0;
  options.level = 200.0; // everything below 195 is black
  options.focus = phantom.ballCentre;
  RenderOverview(phantom.image, nullptr, dir / "grey.png", options, LabelTable());
  const Picture picture(dir / "grey.png");
  const auto    layout = ComputeOverviewLayout(options);
  std::size_t   nonBlack = 0;
  for (int y = layout.slices[0].y + 24; y < layout.slices[0].y + layout.slices[0].height; ++y)
    for (int x = layout.slices[0].x; x < layout.slices[0].x + layout.slices[0].width; ++x)
      nonBlack += picture.At(x, y)[0] > 0;
  EXPECT_EQ(nonBlack, 0u);

  const auto automatic = ComputeAutomaticWindowLevel(phantom.image);
  EXPECT_GT(automatic.first, 50.0);
  EXPECT_THROW(RenderOverview(phantom.image, phantom.labels, dir / "x.png",
                              [] {
                                RenderOptions o;
                                o.labels = { 9 };
                                return o;
                              }(),
                              LabelTable()),
               InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
}

TEST(OverviewRenderer, ViewerRunsScriptedFramesAndTakesAScreenshot)
{
  MEDSEG_REQUIRE_DISPLAY();
  const Phantom            phantom("oblique");
  test::TemporaryDirectory dir;
  RenderOptions            options;
  options.panelSize = 160;
  ViewerOptions viewer;
  viewer.frames = 4;
  viewer.offScreen = true;
  viewer.screenshot = dir / "viewer.png";
  RunLabelViewer(phantom.image, phantom.labels, options, Table(), viewer);
  const Picture picture(dir / "viewer.png");
  EXPECT_EQ(picture.width, ComputeOverviewLayout(options).width);
  EXPECT_EQ(picture.height, ComputeOverviewLayout(options).height);
}

TEST(SlicePanel, ShowsRadiologicalOrientationWhateverTheDirectionMatrix)
{
  for (const char * direction : { "identity", "RAS", "permuted", "oblique" })
  {
    const auto       image = test::MakeImage(test::WithDirection({ { 20, 20, 20 } }, direction),
                                       [](long, long, long) { return 0.0f; });
    const SlicePanel axial(image, SliceOrientation::Axial, { 1, 2, 3 }, 100, 100);
    const SlicePanel coronal(image, SliceOrientation::Coronal, { 1, 2, 3 }, 100, 100);
    const SlicePanel sagittal(image, SliceOrientation::Sagittal, { 1, 2, 3 }, 100, 100);
    const auto       a0 = axial.PixelToWorld(50, 50), aRight = axial.PixelToWorld(60, 50), aUp = axial.PixelToWorld(50, 40);
    EXPECT_GT(aRight[0], a0[0]) << direction << ": axial right is patient left (+x in LPS)";
    EXPECT_LT(aUp[1], a0[1]) << direction << ": axial up is anterior (-y in LPS)";
    EXPECT_DOUBLE_EQ(a0[2], 3.0) << direction << ": axial slice through the focus";
    const auto c0 = coronal.PixelToWorld(50, 50), cUp = coronal.PixelToWorld(50, 40);
    EXPECT_GT(cUp[2], c0[2]) << direction << ": coronal up is superior";
    EXPECT_DOUBLE_EQ(c0[1], 2.0);
    const auto s0 = sagittal.PixelToWorld(50, 50), sRight = sagittal.PixelToWorld(60, 50);
    EXPECT_LT(sRight[1], s0[1]) << direction << ": sagittal right is anterior";
    EXPECT_DOUBLE_EQ(s0[0], 1.0);
    const auto back = axial.WorldToPixel(aRight);
    EXPECT_NEAR(back[0], 60, 1e-9);
    EXPECT_NEAR(back[1], 50, 1e-9);
  }
}
