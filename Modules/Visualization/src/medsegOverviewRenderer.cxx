#include "medsegOverviewRenderer.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegOverviewPanels.h"
#include "medsegVtkImageBridge.h"

#include <vtkActor.h>
#include <vtkActor2D.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkImageData.h>
#include <vtkImageMapper.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkNew.h>
#include <vtkObjectFactory.h>
#include <vtkOutlineSource.h>
#include <vtkPNGWriter.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkTransform.h>
#include <vtkTransformPolyDataFilter.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

namespace medseg
{

using detail::Background;
using detail::Dot;
using detail::SlicePanelSampler;

namespace
{

constexpr int LegendRowHeight = 26;
constexpr int LegendTop = 44;
const std::array<std::uint8_t, 3> LegendBackground{ 24, 24, 28 };
const double                      TextColour[3] = { 0.92, 0.92, 0.92 };

const char *
OrientationName(SliceOrientation o)
{
  return o == SliceOrientation::Axial ? "Axial" : (o == SliceOrientation::Coronal ? "Coronal" : "Sagittal");
}

/** The labels to draw: the requested ones, or every non-zero value present. */
std::vector<unsigned int>
SelectedLabels(const LabelImage3 * labels, const std::vector<unsigned int> & requested)
{
  if (labels == nullptr)
  {
    return {};
  }
  const auto present = FindLabelValues(labels);
  if (requested.empty())
  {
    return present;
  }
  for (const auto v : requested)
  {
    if (std::find(present.begin(), present.end(), v) == present.end())
    {
      throw InputError("label " + std::to_string(v), "not present in the label map");
    }
  }
  return requested;
}

/** Everything the overview picture and the viewer show, in one render window. */
class OverviewScene
{
public:
  OverviewScene(const FloatImage3 * image, const LabelImage3 * labels, const RenderOptions & options,
                const LabelTable & table)
    : m_Image(image)
    , m_Labels(labels)
    , m_Options(options)
    , m_Layout(ComputeOverviewLayout(options))
  {
    if (image == nullptr)
    {
      throw std::invalid_argument("RenderOverview: null image");
    }
    if (labels != nullptr)
    {
      const std::string difference = DescribeGeometryDifference(image, labels);
      if (!difference.empty())
      {
        throw InputError("labels", "do not match the image: " + difference);
      }
    }
    if (options.opacity < 0.0 || options.opacity > 1.0)
    {
      throw std::invalid_argument("opacity must be in [0, 1]");
    }
    if (options.panelSize < 64 || options.panelSize > 4096)
    {
      throw std::invalid_argument("panel size must be in 64..4096 pixels");
    }
    if (!HasRenderingDisplay())
    {
      throw std::runtime_error("rendering needs an X display: set DISPLAY or run under `xvfb-run -a`");
    }
    m_Selected = SelectedLabels(labels, options.labels);
    for (const auto v : m_Selected)
    {
      m_Info.push_back(table.Get(v));
      m_Colours[v] = m_Info.back().rgb;
    }
    const auto automatic = ComputeAutomaticWindowLevel(image);
    m_Window = options.window.value_or(automatic.first);
    m_Level = options.level.value_or(automatic.second);
    if (!(m_Window > 0.0))
    {
      throw std::invalid_argument("window must be positive");
    }
    m_Focus = options.focus ? *options.focus : ComputeDefaultFocus(image, labels, m_Selected);

    m_Canvas->SetExtent(0, m_Layout.width - 1, 0, m_Layout.height - 1, 0, 0);
    m_Canvas->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
    m_CanvasMapper->SetInputData(m_Canvas);
    m_CanvasMapper->SetColorWindow(255.0);
    m_CanvasMapper->SetColorLevel(127.5);
    m_CanvasActor->SetMapper(m_CanvasMapper);
    m_CanvasActor->SetPosition(0, 0);
    m_Background->AddActor2D(m_CanvasActor);
    m_Background->SetViewport(0, 0, 1, 1);
    m_Background->InteractiveOff();
    m_Window3D->AddRenderer(m_Background);

    for (int o = 0; o < 3; ++o)
    {
      const auto & rect = m_Layout.slices[o];
      m_Titles[o] = AddText("", rect.x + 6, rect.y + 4, 14, false);
    }
    BuildLegend();
    Build3DView();
    m_Window3D->SetSize(m_Layout.width, m_Layout.height);
    UpdateSlices();
  }

  vtkRenderWindow *
  GetRenderWindow()
  {
    return m_Window3D;
  }
  const OverviewLayout &
  GetLayout() const
  {
    return m_Layout;
  }

  /** The slice view under display point (x, y) (origin bottom-left), or -1. */
  int
  SliceAtDisplay(int x, int y) const
  {
    const int pngY = m_Layout.height - 1 - y;
    for (int o = 0; o < 3; ++o)
    {
      if (m_Layout.slices[o].Contains(x, pngY))
      {
        return o;
      }
    }
    return -1;
  }

  void
  StepSlice(int orientation, int steps)
  {
    const auto panel = MakePanel(orientation);
    // One step is the voxel size along the view normal (the smallest spacing for oblique images).
    const auto &  normal = panel.GetAxes()[2];
    double        step = std::numeric_limits<double>::max();
    const auto & direction = m_Image->GetDirection();
    for (unsigned int c = 0; c < 3; ++c)
    {
      const double along = std::abs(direction[0][c] * normal[0] + direction[1][c] * normal[1] +
                                    direction[2][c] * normal[2]);
      if (along > 0.5)
      {
        step = std::min(step, m_Image->GetSpacing()[c]);
      }
    }
    if (step == std::numeric_limits<double>::max())
    {
      step = std::min({ m_Image->GetSpacing()[0], m_Image->GetSpacing()[1], m_Image->GetSpacing()[2] });
    }
    for (int d = 0; d < 3; ++d)
    {
      m_Focus[d] += steps * step * normal[d];
    }
    UpdateSlices();
  }

  void
  FocusAtDisplay(int orientation, int x, int y)
  {
    const auto & rect = m_Layout.slices[orientation];
    const int    pngY = m_Layout.height - 1 - y;
    m_Focus = MakePanel(orientation).PixelToWorld(x - rect.x, pngY - rect.y);
    UpdateSlices();
  }

  void
  Render()
  {
    m_Window3D->Render();
  }

  void
  WritePng(const std::string & path)
  {
    m_Window3D->Render();
    vtkNew<vtkWindowToImageFilter> grab;
    grab->SetInput(m_Window3D);
    grab->SetInputBufferTypeToRGB();
    grab->ReadFrontBufferOff();
    grab->Update();
    AtomicFile          file(path);
    vtkNew<vtkPNGWriter> writer;
    writer->SetInputConnection(grab->GetOutputPort());
    writer->SetFileName(file.GetTemporaryPath().c_str());
    writer->Write();
    if (writer->GetErrorCode() != 0)
    {
      throw InputError(path, "cannot write the PNG file");
    }
    file.Commit();
  }

private:
  SlicePanel
  MakePanel(int orientation) const
  {
    const auto & rect = m_Layout.slices[orientation];
    return SlicePanel(m_Image, static_cast<SliceOrientation>(orientation), m_Focus, rect.width, rect.height);
  }

  /** Text at PNG position (x, y) of its top-left corner. */
  vtkSmartPointer<vtkTextActor>
  AddText(const std::string & text, int x, int y, int size, bool bold)
  {
    auto actor = vtkSmartPointer<vtkTextActor>::New();
    actor->SetInput(text.c_str());
    actor->GetTextProperty()->SetFontSize(size);
    actor->GetTextProperty()->SetColor(TextColour[0], TextColour[1], TextColour[2]);
    actor->GetTextProperty()->SetBold(bold);
    actor->GetTextProperty()->SetVerticalJustificationToTop();
    actor->GetTextProperty()->SetJustificationToLeft();
    actor->SetDisplayPosition(x, m_Layout.height - 1 - y);
    m_Background->AddActor2D(actor);
    return actor;
  }

  void
  FillRect(const PixelRect & rect, const std::array<std::uint8_t, 3> & colour)
  {
    auto * canvas = static_cast<std::uint8_t *>(m_Canvas->GetScalarPointer());
    for (int r = rect.y; r < rect.y + rect.height; ++r)
    {
      const int y = m_Layout.height - 1 - r;
      for (int c = rect.x; c < rect.x + rect.width; ++c)
      {
        std::copy(colour.begin(), colour.end(), canvas + 3 * (static_cast<std::size_t>(y) * m_Layout.width + c));
      }
    }
  }

  void
  BuildLegend()
  {
    if (m_Layout.legend.width == 0)
    {
      return;
    }
    const auto & rect = m_Layout.legend;
    AddText("Labels", rect.x + 12, rect.y + 12, 18, true);
    const int rows = std::max(0, (rect.height - LegendTop - LegendRowHeight) / LegendRowHeight);
    for (std::size_t i = 0; i < m_Info.size(); ++i)
    {
      const int y = rect.y + LegendTop + static_cast<int>(i) * LegendRowHeight;
      if (static_cast<int>(i) >= rows && m_Info.size() > static_cast<std::size_t>(rows))
      {
        AddText("... " + std::to_string(m_Info.size() - i) + " more", rect.x + 12, y, 14, false);
        break;
      }
      m_Swatches.push_back({ PixelRect{ rect.x + 12, y, 18, 18 }, m_Info[i].rgb });
      AddText(std::to_string(m_Info[i].value) + "  " + m_Info[i].name, rect.x + 38, y + 1, 15, false);
    }
  }

  void
  Build3DView()
  {
    const auto & rect = m_Layout.view3D;
    const double w = m_Layout.width, h = m_Layout.height;
    m_Renderer3D->SetViewport(rect.x / w, (h - rect.y - rect.height) / h, (rect.x + rect.width) / w, (h - rect.y) / h);
    m_Renderer3D->SetBackground(0.08, 0.08, 0.11);
    m_Window3D->AddRenderer(m_Renderer3D);
    AddText("3D", rect.x + 6, rect.y + 4, 14, false);

    // The image's bounding box, so the surfaces are seen in context.
    const auto         size = m_Image->GetLargestPossibleRegion().GetSize();
    vtkNew<vtkOutlineSource> box;
    box->SetBounds(-0.5, size[0] - 0.5, -0.5, size[1] - 0.5, -0.5, size[2] - 0.5);
    vtkNew<vtkTransform> toWorld;
    toWorld->SetMatrix(IndexToWorldMatrix(m_Image));
    vtkNew<vtkTransformPolyDataFilter> boxInWorld;
    boxInWorld->SetInputConnection(box->GetOutputPort());
    boxInWorld->SetTransform(toWorld);
    vtkNew<vtkPolyDataMapper> boxMapper;
    boxMapper->SetInputConnection(boxInWorld->GetOutputPort());
    vtkNew<vtkActor> boxActor;
    boxActor->SetMapper(boxMapper);
    boxActor->GetProperty()->SetColor(0.6, 0.6, 0.6);
    m_Renderer3D->AddActor(boxActor);

    if (m_Options.surfaces && m_Labels != nullptr)
    {
      MeshOptions meshOptions = m_Options.mesh;
      meshOptions.coordinates = CoordinateSystem::LPS;
      for (const auto & info : m_Info)
      {
        auto mesh = ComputeLabelSurface(m_Labels, info.value, meshOptions);
        vtkNew<vtkPolyDataMapper> mapper;
        mapper->SetInputData(mesh);
        mapper->ScalarVisibilityOff();
        vtkNew<vtkActor> actor;
        actor->SetMapper(mapper);
        actor->GetProperty()->SetColor(info.rgb[0] / 255.0, info.rgb[1] / 255.0, info.rgb[2] / 255.0);
        actor->GetProperty()->SetSpecular(0.2);
        m_Renderer3D->AddActor(actor);
      }
    }
    // Seen from the front (anterior), patient's left on the screen's right like the coronal view,
    // then turned a little for depth.
    auto * camera = m_Renderer3D->GetActiveCamera();
    camera->SetFocalPoint(0, 0, 0);
    camera->SetPosition(0, -1, 0);
    camera->SetViewUp(0, 0, 1);
    m_Renderer3D->ResetCamera();
    camera->Azimuth(30);
    camera->Elevation(15);
    camera->OrthogonalizeViewUp();
    m_Renderer3D->ResetCamera();
    m_Renderer3D->ResetCameraClippingRange();
  }

  void
  UpdateSlices()
  {
    FillRect({ 0, 0, m_Layout.width, m_Layout.height }, Background);
    if (m_Layout.legend.width > 0)
    {
      FillRect(m_Layout.legend, LegendBackground);
      for (const auto & swatch : m_Swatches)
      {
        FillRect(swatch.first, swatch.second);
      }
    }
    const SlicePanelSampler sampler{ m_Image, m_Labels, m_Colours, m_Window, m_Level, m_Options.overlay,
                                     m_Options.opacity };
    auto *                  canvas = static_cast<std::uint8_t *>(m_Canvas->GetScalarPointer());
    std::vector<std::uint8_t> rgb;
    for (int o = 0; o < 3; ++o)
    {
      const auto panel = MakePanel(o);
      sampler(panel, rgb);
      const auto & rect = m_Layout.slices[o];
      for (int row = 0; row < rect.height; ++row)
      {
        const int y = m_Layout.height - 1 - (rect.y + row);
        std::copy_n(rgb.begin() + 3 * static_cast<std::size_t>(row) * rect.width, 3 * rect.width,
                    canvas + 3 * (static_cast<std::size_t>(y) * m_Layout.width + rect.x));
      }
      const double       along = Dot(m_Focus, panel.GetAxes()[2]);
      std::ostringstream title;
      title << OrientationName(static_cast<SliceOrientation>(o)) << "  "
            << (o == 0 ? "S " : (o == 1 ? "P " : "L ")) << std::fixed << std::setprecision(1) << along << " mm";
      m_Titles[o]->SetInput(title.str().c_str());
    }
    m_Canvas->Modified();
  }

  const FloatImage3 *                                 m_Image;
  const LabelImage3 *                                 m_Labels;
  RenderOptions                                       m_Options;
  OverviewLayout                                      m_Layout;
  std::vector<unsigned int>                           m_Selected;
  std::vector<LabelInfo>                              m_Info;
  std::map<unsigned int, std::array<std::uint8_t, 3>> m_Colours;
  std::vector<std::pair<PixelRect, std::array<std::uint8_t, 3>>> m_Swatches;
  double                                              m_Window{ 1 };
  double                                              m_Level{ 0 };
  std::array<double, 3>                               m_Focus{};
  vtkNew<vtkImageData>                                m_Canvas;
  vtkNew<vtkImageMapper>                              m_CanvasMapper;
  vtkNew<vtkActor2D>                                  m_CanvasActor;
  vtkNew<vtkRenderer>                                 m_Background;
  vtkNew<vtkRenderer>                                 m_Renderer3D;
  vtkNew<vtkRenderWindow>                             m_Window3D;
  std::array<vtkSmartPointer<vtkTextActor>, 3>        m_Titles;
};

/** Viewer interaction: wheel/arrows step slices, left click moves the focus, the 3D view rotates. */
class SliceViewerInteractorStyle : public vtkInteractorStyleTrackballCamera
{
public:
  static SliceViewerInteractorStyle *
  New();
  vtkTypeMacro(SliceViewerInteractorStyle, vtkInteractorStyleTrackballCamera);

  OverviewScene * Scene{ nullptr };

  void
  OnMouseWheelForward() override
  {
    if (!Step(1))
      vtkInteractorStyleTrackballCamera::OnMouseWheelForward();
  }
  void
  OnMouseWheelBackward() override
  {
    if (!Step(-1))
      vtkInteractorStyleTrackballCamera::OnMouseWheelBackward();
  }
  void
  OnLeftButtonDown() override
  {
    const int * p = this->Interactor->GetEventPosition();
    const int   o = Scene->SliceAtDisplay(p[0], p[1]);
    if (o < 0)
    {
      vtkInteractorStyleTrackballCamera::OnLeftButtonDown();
      return;
    }
    Scene->FocusAtDisplay(o, p[0], p[1]);
    Scene->Render();
  }
  void
  OnKeyPress() override
  {
    const std::string key = this->Interactor->GetKeySym() ? this->Interactor->GetKeySym() : "";
    if (key == "Up" || key == "Down")
    {
      Step(key == "Up" ? 1 : -1);
      return;
    }
    vtkInteractorStyleTrackballCamera::OnKeyPress();
  }

private:
  bool
  Step(int steps)
  {
    const int * p = this->Interactor->GetEventPosition();
    const int   o = Scene->SliceAtDisplay(p[0], p[1]);
    if (o < 0)
    {
      return false;
    }
    Scene->StepSlice(o, steps);
    Scene->Render();
    return true;
  }
};
vtkStandardNewMacro(SliceViewerInteractorStyle);

} // namespace

bool
HasRenderingDisplay()
{
  const char * display = std::getenv("DISPLAY");
  return display != nullptr && display[0] != '\0';
}

void
RenderOverview(const FloatImage3 * image, const LabelImage3 * labels, const std::string & pngPath,
               const RenderOptions & options, const LabelTable & table)
{
  OverviewScene scene(image, labels, options, table);
  scene.GetRenderWindow()->SetOffScreenRendering(true);
  scene.WritePng(pngPath);
}

void
RunLabelViewer(const FloatImage3 * image, const LabelImage3 * labels, const RenderOptions & options,
               const LabelTable & table, const ViewerOptions & viewer)
{
  OverviewScene scene(image, labels, options, table);
  auto *        window = scene.GetRenderWindow();
  window->SetWindowName(viewer.title.c_str());
  window->SetOffScreenRendering(viewer.offScreen);
  if (viewer.frames > 0)
  {
    // Scripted run (tests, demos): step through the axial slices, no event loop.
    for (int i = 0; i < viewer.frames; ++i)
    {
      scene.Render();
      scene.StepSlice(static_cast<int>(SliceOrientation::Axial), i % 2 == 0 ? 1 : -1);
    }
    if (!viewer.screenshot.empty())
    {
      scene.WritePng(viewer.screenshot);
    }
    return;
  }
  vtkNew<vtkRenderWindowInteractor> interactor;
  vtkNew<SliceViewerInteractorStyle> style;
  style->Scene = &scene;
  interactor->SetInteractorStyle(style);
  interactor->SetRenderWindow(window);
  scene.Render();
  interactor->Initialize();
  interactor->Start();
  if (!viewer.screenshot.empty())
  {
    scene.WritePng(viewer.screenshot);
  }
}

} // namespace medseg
