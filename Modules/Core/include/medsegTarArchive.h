#ifndef medsegTarArchive_h
#define medsegTarArchive_h

#include <string>
#include <utility>
#include <vector>

namespace medseg
{

/** \brief Writes a gzip-compressed ustar archive of regular files, atomically (libarchive).
 *
 * `members` are (name in the archive, file on disk) pairs; names must be plain file names of under
 * 100 characters and files under 8 GiB. The archive is written to a temporary file beside
 * `archivePath` and renamed into place, so nothing partial is left on a failure. Members get mode
 * 0644, owner 0 and time 0, and the gzip header no timestamp: the same files give the same bytes. */
void
WriteTarGz(const std::string & archivePath, const std::vector<std::pair<std::string, std::string>> & members);

/** \brief Extracts the regular files of a tar archive (gzip-compressed or not) into `directory`.
 *
 * ustar, pax and GNU tar forms are read (libarchive), a leading "./" and the "./" folder entry of
 * `tar -C dir .` included. Only plain file names are accepted: absolute paths, "..", sub-folders,
 * links (symbolic and hard), devices, duplicate names and members of 8 GiB or more are refused with
 * InputError(archivePath, ...), as are truncated or corrupt archives (the gzip CRC-32 and length
 * are checked, and the end-of-archive marker must be there). Returns the extracted names. */
std::vector<std::string>
ExtractTar(const std::string & archivePath, const std::string & directory);

} // namespace medseg

#endif
