#include "medsegLibraryMessages.h"

#include "itkObjectFactory.h"
#include "itkOutputWindow.h"

#include "gdcmTrace.h"

#include <atomic>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <sstream>

#include <unistd.h>

namespace medseg
{

namespace
{

std::atomic<bool> g_Capturing{ false };
std::atomic<int>  g_StderrCaptures{ 0 };
std::atomic<int>  g_RealStderr{ -1 }; //!< the terminal's stderr while a ScopedStderrCapture holds fd 2

struct MessageLog
{
  std::mutex              mutex;
  std::deque<std::string> kept;
  bool                    verbose{ false };
};

MessageLog &
Log()
{
  static MessageLog log;
  return log;
}

/** ITK's output window, pointed at MedSeg's log: every itkWarningMacro, itkDebugMacro and
 * generic output (GDCMImageIO's warnings among them) lands in LogLibraryMessage. */
class LoggingOutputWindow : public itk::OutputWindow
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LoggingOutputWindow);
  using Self = LoggingOutputWindow;
  using Superclass = itk::OutputWindow;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(LoggingOutputWindow, itk::OutputWindow);

  void
  DisplayText(const char * text) override
  {
    LogLibraryMessage("ITK", text ? text : "");
  }

protected:
  LoggingOutputWindow() = default;
  ~LoggingOutputWindow() override = default;
};

/** A stream buffer that hands each flushed chunk of GDCM's trace output to the log. */
class GdcmTraceBuffer : public std::stringbuf
{
public:
  int
  sync() override
  {
    LogLibraryMessage("GDCM", str());
    str("");
    return 0;
  }
};

} // namespace

void
CaptureLibraryMessages()
{
  static std::once_flag once;
  std::call_once(once, [] {
    g_Capturing = true;
    itk::OutputWindow::SetInstance(LoggingOutputWindow::New());
    static GdcmTraceBuffer buffer;
    static std::ostream    stream(&buffer);
    gdcm::Trace::SetStream(stream);
    gdcm::Trace::SetWarningStream(stream);
    gdcm::Trace::SetErrorStream(stream);
    gdcm::Trace::SetDebugStream(stream);
  });
}

void
SetVerboseLibraryMessages(bool verbose)
{
  std::lock_guard<std::mutex> lock(Log().mutex);
  Log().verbose = verbose;
}

bool
GetVerboseLibraryMessages()
{
  std::lock_guard<std::mutex> lock(Log().mutex);
  return Log().verbose;
}

void
LogLibraryMessage(const std::string & source, const std::string & text)
{
  std::string message = text;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == ' '))
  {
    message.pop_back();
  }
  if (message.empty())
  {
    return;
  }
  std::lock_guard<std::mutex> lock(Log().mutex);
  Log().kept.push_back(source + ": " + message);
  if (Log().kept.size() > 100)
  {
    Log().kept.pop_front();
  }
  if (Log().verbose)
  {
    std::string line = "[" + source + "] ";
    for (const char c : message)
    {
      line += c;
      if (c == '\n')
      {
        line += "[" + source + "] "; // every line of a multi-line message says where it is from
      }
    }
    line += '\n';
    const int         real = g_RealStderr.load();
    if (real >= 0)
    {
      // fd 2 is being captured: write past it, or the message would be captured again.
      [[maybe_unused]] const ssize_t written = write(real, line.data(), line.size());
    }
    else
    {
      std::cerr << line;
    }
  }
}

std::vector<std::string>
GetLibraryMessages()
{
  std::lock_guard<std::mutex> lock(Log().mutex);
  return { Log().kept.begin(), Log().kept.end() };
}

void
ClearLibraryMessages()
{
  std::lock_guard<std::mutex> lock(Log().mutex);
  Log().kept.clear();
}

ScopedStderrCapture::ScopedStderrCapture(std::string source)
  : m_Source(std::move(source))
{
  if (!g_Capturing || g_StderrCaptures.fetch_add(1) != 0)
  {
    if (g_Capturing)
    {
      g_StderrCaptures.fetch_sub(1);
    }
    return;
  }
  std::fflush(stderr);
  std::cerr.flush();
  std::FILE * file = std::tmpfile();
  m_SavedDescriptor = file ? dup(STDERR_FILENO) : -1;
  if (m_SavedDescriptor < 0)
  {
    if (file)
      std::fclose(file);
    g_StderrCaptures.fetch_sub(1);
    return;
  }
  m_CaptureDescriptor = dup(fileno(file)); // survives fclose; removed with the last descriptor
  std::fclose(file);
  g_RealStderr = m_SavedDescriptor;
  dup2(m_CaptureDescriptor, STDERR_FILENO);
}

ScopedStderrCapture::~ScopedStderrCapture()
{
  if (m_SavedDescriptor < 0)
  {
    return;
  }
  std::fflush(stderr);
  std::cerr.flush();
  dup2(m_SavedDescriptor, STDERR_FILENO);
  g_RealStderr = -1;
  close(m_SavedDescriptor);
  std::string text;
  char        buffer[4096];
  if (lseek(m_CaptureDescriptor, 0, SEEK_SET) == 0)
  {
    ssize_t got = 0;
    while ((got = read(m_CaptureDescriptor, buffer, sizeof(buffer))) > 0 && text.size() < (1u << 20))
    {
      text.append(buffer, static_cast<size_t>(got));
    }
  }
  close(m_CaptureDescriptor);
  g_StderrCaptures.fetch_sub(1);
  std::istringstream lines(text);
  std::string        line;
  while (std::getline(lines, line))
  {
    LogLibraryMessage(m_Source, line);
  }
}

} // namespace medseg
