#ifndef medsegProgressLine_h
#define medsegProgressLine_h

#include "itkProcessObject.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace medseg
{

/** \brief A one-line progress bar with ETA on a terminal, silent elsewhere.
 *
 * Writes "\r<label> [#####.....]  50%  ETA 0:12" to stderr when it is a terminal (or when
 * forced), at most a few times per second, and ends the line in Finish(). */
class ProgressLine
{
public:
  explicit ProgressLine(std::string label, bool enabled = IsTerminal());
  ~ProgressLine();

  /** Shows `fraction` (0..1) done. */
  void
  Update(double fraction);

  /** Shows 100 % and ends the line. Called by the destructor if not before. */
  void
  Finish();

  /** Forwards the ProgressEvents of `process` to this line; the line must outlive it. */
  void
  Observe(itk::ProcessObject * process);

  static bool
  IsTerminal();

private:
  std::string                           m_Label;
  bool                                  m_Enabled;
  bool                                  m_Finished{ false };
  bool                                  m_Drawn{ false };
  std::chrono::steady_clock::time_point m_Start;
  std::chrono::steady_clock::time_point m_LastDraw;
};

} // namespace medseg

#endif
