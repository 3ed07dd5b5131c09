#include "medsegProgressLine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace medseg
{

namespace
{
std::FILE * g_SlicerStream = nullptr; // ReportToSlicer's stream, or null
} // namespace

void
ProgressLine::ReportToSlicer(std::FILE * stream)
{
  g_SlicerStream = stream;
}

void
ProgressLine::ReportProgress(double overall, double stage, bool force)
{
  if (g_SlicerStream == nullptr || m_Finished || (!force && overall < m_Reported + 0.01))
  {
    return;
  }
  m_Reported = std::max(overall, m_Reported);
  std::fprintf(g_SlicerStream, "<filter-progress>%.4f</filter-progress>\n<filter-stage-progress>%.4f</filter-stage-progress>\n",
               m_Reported, stage);
  std::fflush(g_SlicerStream);
}

ProgressLine::ProgressLine(std::string label, bool enabled, std::FILE * stream)
  : m_Label(std::move(label))
  , m_Enabled(enabled)
  , m_Stream(stream)
  , m_Start(std::chrono::steady_clock::now())
  , m_LastDraw(m_Start - std::chrono::seconds(1))
{}

ProgressLine::~ProgressLine()
{
  if (m_Enabled && !m_Finished && m_Drawn)
  {
    // Ended early (an error is on its way): on a terminal the bar is wiped so that the error is
    // the one line left; elsewhere the line is ended.
    const bool terminal = m_Stream == stderr && ::isatty(STDERR_FILENO) == 1;
    std::fputs(terminal ? "\r\033[K" : "\n", m_Stream);
  }
}

bool
ProgressLine::IsTerminal()
{
  const char * forced = std::getenv("MEDSEG_PROGRESS");
  return ::isatty(STDERR_FILENO) == 1 || (forced != nullptr && std::string(forced) == "1");
}

void
ProgressLine::SetPhase(std::string name, double from, double to)
{
  m_Phase = std::move(name);
  m_From = std::clamp(from, 0.0, 1.0);
  m_To = std::clamp(to, m_From, 1.0);
  if (g_SlicerStream != nullptr && !m_Finished)
  {
    std::fprintf(g_SlicerStream,
                 "<filter-start>\n<filter-name>%s</filter-name>\n<filter-comment>%s</filter-comment>\n</filter-start>\n",
                 m_Label.c_str(), m_Phase.c_str());
    ReportProgress(m_From, 0.0, true);
  }
  if (m_Enabled && !m_Finished)
  {
    Draw(m_From, true);
  }
}

void
ProgressLine::Update(double fraction)
{
  if (m_Finished || !std::isfinite(fraction))
  {
    return;
  }
  fraction = std::clamp(fraction, 0.0, 1.0);
  ReportProgress(m_From + fraction * (m_To - m_From), fraction, false);
  if (m_Enabled)
  {
    Draw(m_From + fraction * (m_To - m_From), false);
  }
}

void
ProgressLine::Draw(double overall, bool force)
{
  const auto now = std::chrono::steady_clock::now();
  if (!force && overall < 1.0 && now - m_LastDraw < std::chrono::milliseconds(200))
  {
    return;
  }
  m_LastDraw = now;
  overall = std::max(overall, m_Shown);
  m_Shown = overall;
  constexpr int width = 30;
  const int     filled = static_cast<int>(overall * width + 0.5);
  std::string   bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  const double elapsed = std::chrono::duration<double>(now - m_Start).count();
  char         eta[32] = "ETA --:--";
  if (overall > 0.01)
  {
    const auto remaining = static_cast<long>(elapsed * (1.0 - overall) / overall);
    std::snprintf(eta, sizeof(eta), "ETA %ld:%02ld", remaining / 60, remaining % 60);
  }
  // The phase padded to one width, so that a shorter one overwrites a longer one's letters.
  std::string phase = m_Phase;
  phase.resize(std::max<size_t>(phase.size(), 15), ' ');
  std::fprintf(m_Stream, "\r%s %s [%s] %3d%%  %s ", m_Label.c_str(), phase.c_str(), bar.c_str(),
               static_cast<int>(overall * 100), eta);
  std::fflush(m_Stream);
  m_Drawn = true;
}

void
ProgressLine::Finish()
{
  if (m_Finished)
  {
    return;
  }
  if (m_Enabled)
  {
    m_From = 0.0;
    m_To = 1.0;
    Draw(1.0, true);
    std::fputc('\n', m_Stream);
  }
  if (g_SlicerStream != nullptr)
  {
    ReportProgress(1.0, 1.0, true);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_Start).count();
    std::fprintf(g_SlicerStream, "<filter-end>\n<filter-name>%s</filter-name>\n<filter-time>%.2f</filter-time>\n</filter-end>\n",
                 m_Label.c_str(), seconds);
    std::fflush(g_SlicerStream);
  }
  m_Finished = true;
}

} // namespace medseg
