#include "medsegVtkMessages.h"

#include "medsegLibraryMessages.h"

#include <vtkObjectFactory.h>
#include <vtkOutputWindow.h>
#include <vtkSmartPointer.h>

#include <mutex>

namespace medseg
{

namespace
{

/** VTK's output window, pointed at MedSeg's log. */
class LoggingVtkOutputWindow : public vtkOutputWindow
{
public:
  static LoggingVtkOutputWindow *
  New();
  vtkTypeMacro(LoggingVtkOutputWindow, vtkOutputWindow);

  void
  DisplayText(const char * text) override
  {
    LogLibraryMessage("VTK", text ? text : "");
  }

protected:
  LoggingVtkOutputWindow() = default;
  ~LoggingVtkOutputWindow() override = default;
};

vtkStandardNewMacro(LoggingVtkOutputWindow);

} // namespace

void
CaptureVtkMessages()
{
  static std::once_flag once;
  std::call_once(once, [] {
    vtkSmartPointer<LoggingVtkOutputWindow> window = vtkSmartPointer<LoggingVtkOutputWindow>::New();
    vtkOutputWindow::SetInstance(window);
  });
}

} // namespace medseg
