#ifndef medsegVtkMessages_h
#define medsegVtkMessages_h

namespace medseg
{

/** Routes VTK's output window (vtkErrorMacro, vtkWarningMacro, OpenGL driver noise) into MedSeg's
 * library log (medsegLibraryMessages.h) under the source "VTK": shown on stderr only when verbose.
 * Idempotent; the medseg tool calls it at start. */
void
CaptureVtkMessages();

} // namespace medseg

#endif
