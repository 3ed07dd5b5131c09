// Small helpers shared by the files of `medseg batch`.
#include "medsegBatchUtilities.h"
#include "medsegAtomicFile.h"
#include "medsegError.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace medseg::cli::batch
{

bool
EndsWith(const std::string & s, const std::string & suffix)
{
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string
Lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

double
Seconds(std::chrono::steady_clock::time_point since)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string
UtcNow()
{
  const std::time_t t = std::time(nullptr);
  std::tm           tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

long long
NowNs()
{
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string
ReadWholeFile(const std::string & path)
{
  std::ifstream     in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void
WriteTextAtomically(const std::string & path, const std::string & text)
{
  AtomicFile file(path);
  {
    std::ofstream out(file.GetTemporaryPath(), std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out)
      throw InputError(path, std::string("cannot be written: ") + std::strerror(errno));
  }
  file.Commit();
}

} // namespace medseg::cli::batch
