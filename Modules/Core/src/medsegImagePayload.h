#ifndef medsegImagePayload_h
#define medsegImagePayload_h

// Private to MedSegCore: the payload checks the image readers run between header and voxels.

#include "itkImageIOBase.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace medseg::detail
{

/** Up to the first `count` bytes of a file, decompressed when it is gzip (zlib reads plain files
 * as they are); fewer when the file is shorter or its compression breaks off. */
std::string
ReadFileHead(const std::string & path, size_t count);

/** The most bytes of voxel data a compressed image may claim: MEDSEG_MAX_DECOMPRESSED_GIB
 * (a positive number of GiB) or 4 GiB. */
uint64_t
MaxDecompressedBytes();

/** Why a file that ITK will not read is not an image MedSeg can read, when that is known from its
 * first bytes (a NIfTI-2 header), else "". */
std::string
DescribeUnreadableFormat(const std::string & path);

/** A NIfTI-1 file's sform as ITK geometry (LPS): spacing, origin and direction (row-major). */
struct NiftiSformGeometry
{
  std::array<double, 3> spacing{};
  std::array<double, 3> origin{};
  std::array<double, 9> direction{};
};

/** \brief The sform of a NIfTI-1 file whose qform and sform are both set (codes > 0), when the
 * sform is a rotation times a scaling (no shear); otherwise nothing.
 *
 * ITK 5.2 builds the geometry from the qform whenever its code is set; nibabel, FSL and SPM use the
 * sform first. Atlases in the wild (mricron's JHU and AICHA labels) carry a stale qform and the
 * right sform, so the readers take this geometry when it differs from ITK's. */
std::optional<NiftiSformGeometry>
ReadNiftiSform(const std::string & path);

/** Checks that the file at `path` holds every byte of voxel data its header (read into `io`)
 * promises, that a compressed file could hold what its header claims (deflate expands at most
 * 1032:1) within MaxDecompressedBytes(), and refuses NaN/Inf in NIfTI float data, which ITK's reader would turn into 0.
 * Throws InputError(path, ...). */
void
CheckPayloadComplete(itk::ImageIOBase & io, const std::string & path, bool refuseNonFinite = true);

} // namespace medseg::detail

#endif
