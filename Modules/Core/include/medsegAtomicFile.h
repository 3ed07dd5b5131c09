#ifndef medsegAtomicFile_h
#define medsegAtomicFile_h

#include <string>

namespace medseg
{

/** \brief A temporary path beside a final one, renamed into place by Commit().
 *
 * The temporary name is hidden (leading dot) and keeps the final name's extensions, so that
 * writers that pick a format from the extension still work. If Commit() is never reached the
 * destructor removes the temporary file, so nothing partial survives under either name. */
class AtomicFile
{
public:
  explicit AtomicFile(std::string finalPath);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &
  operator=(const AtomicFile &) = delete;

  const std::string &
  GetTemporaryPath() const noexcept
  {
    return m_TemporaryPath;
  }
  const std::string &
  GetFinalPath() const noexcept
  {
    return m_FinalPath;
  }

  /** Renames the temporary file onto the final path (atomic on one file system). */
  void
  Commit();

private:
  std::string m_FinalPath;
  std::string m_TemporaryPath;
  bool        m_Committed{ false };
};

} // namespace medseg

#endif
