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
 * with SetPhase(), so that the bar and the ETA cover the whole run.
 *
 * In a 3D Slicer CLI module (ReportToSlicer), every progress line of the process also writes
 * Slicer's progress protocol to stdout: `<filter-start>` with the phase as `<filter-comment>` at
 * each SetPhase(), `<filter-progress>` (the whole run, 0..1, in steps of at least 1 %) and
 * `<filter-stage-progress>` (the phase), and `<filter-end>` with `<filter-time>` in Finish(). */
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

  /** From now on, every ProgressLine also reports to 3D Slicer on `stream` (stdout in a CLI
   * module); null turns it off. Not thread-safe: call it before any progress line exists. */
  static void
  ReportToSlicer(std::FILE * stream);

  /** stderr is a terminal, or MEDSEG_PROGRESS=1 asks for the line anyway (tests, logs). */
  static bool
  IsTerminal();

private:
  void
  Draw(double overall, bool force);
  /** Slicer's <filter-progress> and <filter-stage-progress> for `overall`, if it moved 1 %. */
  void
  ReportProgress(double overall, double stage, bool force);

  std::string                           m_Label;
  std::string                           m_Phase;
  double                                m_From{ 0.0 };
  double                                m_To{ 1.0 };
  double                                m_Shown{ 0.0 }; //!< never drawn backwards
  std::FILE *                           m_Stream;
  bool                                  m_Enabled;
  bool                                  m_Finished{ false };
  bool                                  m_Drawn{ false };
  double                                m_Reported{ -1.0 }; //!< the last <filter-progress> written
  std::chrono::steady_clock::time_point m_Start;
  std::chrono::steady_clock::time_point m_LastDraw;
};

} // namespace medseg

#endif
