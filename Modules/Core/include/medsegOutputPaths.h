#ifndef medsegOutputPaths_h
#define medsegOutputPaths_h

// Where MedSeg may write: formats it writes atomically, and checks made before any work is done.

#include <string>

namespace medseg
{

/** True when `path` names a single-file format MedSeg can write atomically
 * (.nii, .nii.gz, .nrrd, .mha). */
bool
IsAtomicallyWritable(const std::string & path);

/** True when `a` and `b` name the same file (through links and relative paths), existing or not. */
bool
IsSameFile(const std::string & a, const std::string & b);

/** \brief Checks, before any work is done, that a file of any kind can be written at `path`:
 * an existing parent folder, not a folder itself, and no existing file unless `overwrite`. */
void
CheckOutputFile(const std::string & path, bool overwrite);

/** \brief Checks, before any work is done, that an image can be written at `path`: a supported
 * single-file extension, then CheckOutputFile. */
void
CheckOutputPath(const std::string & path, bool overwrite);

} // namespace medseg

#endif
