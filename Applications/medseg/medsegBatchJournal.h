#ifndef medsegBatchJournal_h
#define medsegBatchJournal_h

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

namespace medseg::cli::batch
{

/** \brief The resume journal: one JSON object per line in OUTPUT/.medseg-batch/journal*.jsonl,
 * appended (O_APPEND) and synced per event ("started", "finished"). */
class Journal
{
public:
  /** `name`: this run's file in `folder` ("journal.jsonl", "journal.shard-I-of-N.jsonl"). */
  Journal(std::filesystem::path folder, const std::string & name);

  /** The latest entry per case over every journal file in the folder (all shards). A torn line
   * (a run killed or out of disk space while writing it) is not valid JSON and is skipped. */
  std::map<std::string, nlohmann::json>
  Latest() const;

  /** Cuts a torn last line (no final newline) off this run's file, so that every line of it is
   * whole again. Call it holding the lock; returns true when something was cut. */
  bool
  RepairTornTail() const;

  /** Appends `entry` with the current time; throws InputError when it cannot be written whole. */
  void
  Append(nlohmann::json entry) const;

  const std::string &
  Path() const
  {
    return m_Path;
  }

private:
  std::filesystem::path m_Folder;
  std::string           m_Path;
};

/** \brief One batch per output folder and shard at a time: `flock` locks in OUTPUT/.medseg-batch/.
 *
 * A run without shards locks `lock` exclusively; a shard I/N locks `lock` shared and
 * `lock.shard-I-of-N` exclusively, so shards run side by side but never beside an unsharded run
 * or a second copy of themselves. The kernel drops the locks when the process ends, however it
 * ends: a killed run leaves the files but no lock, and never blocks a resume. */
class OutputLock
{
public:
  /** Throws InputError "<output>: another medseg batch is writing into this folder (...)". */
  OutputLock(const std::filesystem::path & output, const std::filesystem::path & state,
             const std::string & shardSuffix);
  ~OutputLock();
  OutputLock(const OutputLock &) = delete;
  OutputLock &
  operator=(const OutputLock &) = delete;

private:
  int m_FolderFd{ -1 };
  int m_ShardFd{ -1 };
};

} // namespace medseg::cli::batch

#endif
