#include "medsegProgressLine.h"

#include "itkCommand.h"

#include <algorithm>
#include <cmath>
#include <unistd.h>

namespace medseg
{

ProgressLine::ProgressLine(std::string label, bool enabled)
  : m_Label(std::move(label))
  , m_Enabled(enabled)
  , m_Start(std::chrono::steady_clock::now())
  , m_LastDraw(m_Start - std::chrono::seconds(1))
{}

ProgressLine::~ProgressLine()
{
  if (m_Enabled && !m_Finished && m_Drawn)
  {
    std::fputc('\n', stderr);
  }
}

bool
ProgressLine::IsTerminal()
{
  return ::isatty(STDERR_FILENO) == 1;
}

void
ProgressLine::Update(double fraction)
{
  if (!m_Enabled || m_Finished || !std::isfinite(fraction))
  {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (fraction < 1.0 && now - m_LastDraw < std::chrono::milliseconds(200))
  {
    return;
  }
  m_LastDraw = now;
  fraction = std::clamp(fraction, 0.0, 1.0);
  constexpr int width = 30;
  const int     filled = static_cast<int>(fraction * width + 0.5);
  std::string   bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  const double elapsed = std::chrono::duration<double>(now - m_Start).count();
  char         eta[32] = "ETA --:--";
  if (fraction > 0.01)
  {
    const auto remaining = static_cast<long>(elapsed * (1.0 - fraction) / fraction);
    std::snprintf(eta, sizeof(eta), "ETA %ld:%02ld", remaining / 60, remaining % 60);
  }
  std::fprintf(stderr, "\r%s [%s] %3d%%  %s ", m_Label.c_str(), bar.c_str(), static_cast<int>(fraction * 100), eta);
  std::fflush(stderr);
  m_Drawn = true;
}

void
ProgressLine::Finish()
{
  if (m_Finished)
  {
    return;
  }
  Update(1.0);
  if (m_Enabled)
  {
    std::fputc('\n', stderr);
  }
  m_Finished = true;
}

void
ProgressLine::Observe(itk::ProcessObject * process)
{
  auto progress = itk::CStyleCommand::New();
  progress->SetClientData(this);
  progress->SetCallback([](itk::Object * caller, const itk::EventObject &, void * self) {
    static_cast<ProgressLine *>(self)->Update(static_cast<itk::ProcessObject *>(caller)->GetProgress());
  });
  process->AddObserver(itk::ProgressEvent(), progress);
}

} // namespace medseg
