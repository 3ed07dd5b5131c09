#ifndef medsegTarArchive_h
#define medsegTarArchive_h

#include <string>
#include <utility>
#include <vector>

namespace medseg
{

/** \brief Writes a gzip-compressed ustar archive of regular files, atomically.
 *
 * `members` are (name in the archive, file on disk) pairs; names must be plain file names. */
void
WriteTarGz(const std::string & archivePath, const std::vector<std::pair<std::string, std::string>> & members);

/** \brief Extracts the regular files of a ustar archive (gzip-compressed or not) into `directory`.
 *
 * Only plain file names are accepted: absolute paths, "..", sub-folders, links and devices are
 * refused with InputError(archivePath, ...), as are truncated or corrupt archives. Returns the
 * extracted names. */
std::vector<std::string>
ExtractTar(const std::string & archivePath, const std::string & directory);

} // namespace medseg

#endif
