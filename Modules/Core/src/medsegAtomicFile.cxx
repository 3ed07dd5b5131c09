#include "medsegAtomicFile.h"

#include "medsegError.h"

#include <atomic>
#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace medseg
{
namespace fs = std::filesystem;

namespace
{
std::atomic<unsigned long> temporaryCounter{ 0 };
}

AtomicFile::AtomicFile(std::string finalPath)
  : m_FinalPath(std::move(finalPath))
{
  const fs::path finalFsPath(m_FinalPath);
  // Same folder (so rename() is atomic), hidden, and ending with the final file name so that
  // format detection by extension (".nii.gz", ".mha", ...) sees the same extension.
  const std::string name = ".medseg-" + std::to_string(::getpid()) + "-" + std::to_string(temporaryCounter++) + "-" +
                           finalFsPath.filename().string();
  m_TemporaryPath = (finalFsPath.parent_path() / name).string();
}

AtomicFile::~AtomicFile()
{
  if (!m_Committed)
  {
    std::error_code ignored;
    fs::remove(m_TemporaryPath, ignored);
  }
}

void
AtomicFile::Commit()
{
  std::error_code ec;
  if (!fs::exists(m_TemporaryPath, ec))
  {
    throw InputError(m_FinalPath, "the writer produced no file");
  }
  fs::rename(m_TemporaryPath, m_FinalPath, ec);
  if (ec)
  {
    throw InputError(m_FinalPath, "cannot move the finished file into place: " + ec.message());
  }
  m_Committed = true;
}

} // namespace medseg
