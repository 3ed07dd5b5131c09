#ifndef medsegFileNameSuffix_h
#define medsegFileNameSuffix_h

// Private to MedSegCore: the one file-name suffix rule of the readers and writers.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <string>

namespace medseg::detail
{

/** Does the file name of `path` end with one of `suffixes` (lower case), ignoring case? */
inline bool
NameEndsWith(const std::string & path, std::initializer_list<const char *> suffixes)
{
  std::string lower = std::filesystem::path(path).filename().string();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string suffix : suffixes)
  {
    if (lower.size() > suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0)
    {
      return true;
    }
  }
  return false;
}

} // namespace medseg::detail

#endif
