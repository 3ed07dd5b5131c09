// medseg batch: the resume journal and the output-folder lock.
#include "medsegBatchJournal.h"
#include "medsegBatchUtilities.h"
#include "medsegError.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace medseg::cli::batch
{

Journal::Journal(fs::path folder, const std::string & name)
  : m_Folder(std::move(folder))
  , m_Path((m_Folder / name).string())
{}

std::map<std::string, json>
Journal::Latest() const
{
  std::map<std::string, json> latest;
  std::error_code             ec;
  for (const auto & entry : fs::directory_iterator(m_Folder, ec))
  {
    const std::string name = entry.path().filename().string();
    if (name.rfind("journal", 0) != 0 || !EndsWith(name, ".jsonl"))
      continue;
    std::ifstream in(entry.path());
    std::string   line;
    while (std::getline(in, line))
    {
      json e = json::parse(line, nullptr, false);
      if (e.is_discarded() || !e.is_object() || !e.contains("case") || !e.contains("time"))
        continue;
      auto & slot = latest[e["case"].get<std::string>()];
      if (slot.is_null() || slot["time"].get<long long>() <= e["time"].get<long long>())
        slot = std::move(e);
    }
  }
  return latest;
}

bool
Journal::RepairTornTail() const
{
  const int fd = ::open(m_Path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false; // no journal yet
  struct stat info
  {};
  bool cut = false;
  if (::fstat(fd, &info) == 0 && info.st_size > 0)
  {
    // Scan back from the end for the last newline; everything after it is a torn line.
    off_t end = info.st_size;
    char  buffer[4096];
    off_t keep = 0;
    while (end > 0)
    {
      const off_t   start = end > static_cast<off_t>(sizeof(buffer)) ? end - static_cast<off_t>(sizeof(buffer)) : 0;
      const ssize_t n = ::pread(fd, buffer, static_cast<size_t>(end - start), start);
      if (n <= 0)
        break;
      ssize_t i = n - 1;
      while (i >= 0 && buffer[i] != '\n')
        --i;
      if (i >= 0)
      {
        keep = start + i + 1;
        break;
      }
      end = start;
    }
    if (keep < info.st_size)
    {
      cut = ::ftruncate(fd, keep) == 0;
      ::fsync(fd);
    }
  }
  ::close(fd);
  return cut;
}

void
Journal::Append(json entry) const
{
  entry["time"] = NowNs();
  const std::string line = entry.dump() + "\n";
  const int         fd = ::open(m_Path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw InputError(m_Path, std::string("cannot be written: ") + std::strerror(errno));
  // A torn last line (a write cut short): end it, so that this entry stays whole.
  struct stat info
  {};
  char last = '\n';
  if (::fstat(fd, &info) == 0 && info.st_size > 0)
    (void)!::pread(fd, &last, 1, info.st_size - 1);
  const std::string text = last == '\n' ? line : "\n" + line;
  const ssize_t     written = ::write(fd, text.data(), text.size());
  const int         writeErrno = errno;
  ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()))
  {
    throw InputError(m_Path, std::string("cannot be written: ") +
                               (written < 0 ? std::strerror(writeErrno) : "short write (disk full?)"));
  }
}

OutputLock::OutputLock(const fs::path & output, const fs::path & state, const std::string & shardSuffix)
{
  const auto take = [&](const std::string & name, int mode) {
    const std::string path = (state / name).string();
    const int         fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw InputError(output.string(), "cannot create the lock " + path + ": " + std::strerror(errno));
    if (::flock(fd, mode | LOCK_NB) != 0)
    {
      ::close(fd);
      throw InputError(output.string(), "another medseg batch is writing into this folder (" + path + " is locked)");
    }
    return fd;
  };
  m_FolderFd = take("lock", shardSuffix.empty() ? LOCK_EX : LOCK_SH);
  if (!shardSuffix.empty())
  {
    try
    {
      m_ShardFd = take("lock" + shardSuffix, LOCK_EX);
    }
    catch (...)
    {
      ::close(m_FolderFd);
      throw;
    }
  }
}

OutputLock::~OutputLock()
{
  if (m_ShardFd >= 0)
    ::close(m_ShardFd);
  if (m_FolderFd >= 0)
    ::close(m_FolderFd);
}

} // namespace medseg::cli::batch
