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
 * Writes "\r<label> <phase> [#####.....]  50%  ETA 0:12" to stderr when it is a terminal (or
 * when forced: `enabled`, or MEDSEG_PROGRESS=1 in the environment), at most a few times per
 * second, and ends the line in Finish(). A run of several phases gives each its share of the bar
 * with SetPhase(), so that the bar and the ETA cover the whole run. */
class ProgressLine
{
public:
  explicit ProgressLine(std::string label, bool enabled = IsTerminal(), std::FILE * stream = stderr);
  ~ProgressLine();
  ProgressLine(const ProgressLine &) = delete;
  ProgressLine &
  operator=(const ProgressLine &) = delete;

  /** Starts the phase `name` (e.g. "inference"), which covers [from, to] of the whole run;
   * Update() fractions are of this phase from now on. Drawn at once. */
  void
  SetPhase(std::string name, double from, double to);

  /** Shows `fraction` (0..1) of the current phase done. */
  void
  Update(double fraction);

  /** Shows 100 % and ends the line. Called by the destructor if not before. */
  void
  Finish();

  /** stderr is a terminal, or MEDSEG_PROGRESS=1 asks for the line anyway (tests, logs). */
  static bool
  IsTerminal();

private:
  void
  Draw(double overall, bool force);

  std::string                           m_Label;
  std::string                           m_Phase;
  double                                m_From{ 0.0 };
  double                                m_To{ 1.0 };
  double                                m_Shown{ 0.0 }; //!< never drawn backwards
  std::FILE *                           m_Stream;
  bool                                  m_Enabled;
  bool                                  m_Finished{ false };
  bool                                  m_Drawn{ false };
  std::chrono::steady_clock::time_point m_Start;
  std::chrono::steady_clock::time_point m_LastDraw;
};

} // namespace medseg

#endif
