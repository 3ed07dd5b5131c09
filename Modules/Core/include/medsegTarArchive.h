#ifndef medsegTarArchive_h
#define medsegTarArchive_h

#include <memory>
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

/** Does the name say package archive: `.medseg`, `.tar.gz`, `.tgz` or `.tar`? The one rule every
 * command tells a model archive from a TorchScript file by. */
bool
HasPackageArchiveName(const std::string & path);

/** A regular file with a package archive's name (HasPackageArchiveName). */
bool
IsPackageArchive(const std::string & path);

/** An archive extracted once into a private temporary folder, handed to whichever reader it is
 * for (a MedSeg package, an nnU-Net package); the folder goes with the last copy. */
struct ExtractedArchive
{
  std::string              source; //!< the archive the user named
  std::string              folder; //!< where its members are
  std::vector<std::string> names;  //!< the members, as ExtractTar returns them
  std::shared_ptr<void>    owner;  //!< removes `folder`
};

/** ExtractTar into a new folder under the system's temporary directory (mkdtemp, mode 0700). */
ExtractedArchive
ExtractToTemporaryFolder(const std::string & archivePath);

} // namespace medseg

#endif
