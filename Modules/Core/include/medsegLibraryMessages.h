#ifndef medsegLibraryMessages_h
#define medsegLibraryMessages_h

#include <string>
#include <vector>

namespace medseg
{

/** \brief MedSeg's log of what the libraries underneath say (ITK, GDCM, and VTK through
 * the Visualization module).
 *
 * ITK and GDCM print warnings such as "No Pixel Data Found" or "is Analyze file and it's
 * deprecated" straight to the terminal, before and between MedSeg's own one-line messages.
 * CaptureLibraryMessages() routes them here instead: they are kept (the last 100) and printed
 * to stderr, prefixed with their source, only when verbose. A tool calls it once at start. */
void
CaptureLibraryMessages();

/** Shows (true) or keeps quiet (false, the default) the captured library messages on stderr. */
void
SetVerboseLibraryMessages(bool verbose);

bool
GetVerboseLibraryMessages();

/** Adds one message from `source` ("ITK", "GDCM", "VTK"): trailing new lines are trimmed,
 * empty messages dropped. Thread-safe. */
void
LogLibraryMessage(const std::string & source, const std::string & text);

/** The messages kept so far, oldest first, as "<source>: <text>". */
std::vector<std::string>
GetLibraryMessages();

/** Forgets the kept messages (for tests). */
void
ClearLibraryMessages();

/** \brief While alive, what C libraries write straight to the process's stderr (file descriptor
 * 2) is captured, and logged under `source` when it ends.
 *
 * libpng ("libpng warning: sCAL: invalid unit") and the NIfTI library print with fprintf(stderr)
 * and bypass ITK's output window; the image readers wrap their ITK calls in one of these. It does
 * nothing unless CaptureLibraryMessages() was called (a MedSeg tool), so a program that only links
 * MedSeg keeps its stderr as it is, and nothing when nested inside another. */
class ScopedStderrCapture
{
public:
  explicit ScopedStderrCapture(std::string source);
  ~ScopedStderrCapture();
  ScopedStderrCapture(const ScopedStderrCapture &) = delete;
  ScopedStderrCapture &
  operator=(const ScopedStderrCapture &) = delete;

private:
  std::string m_Source;
  int         m_SavedDescriptor{ -1 };
  int         m_CaptureDescriptor{ -1 };
};

} // namespace medseg

#endif
