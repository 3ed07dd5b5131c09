#ifndef medsegImagePayload_h
#define medsegImagePayload_h

// Private to MedSegCore: the payload checks the image readers run between header and voxels.

#include "itkImageIOBase.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
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

/** Calls `visit(line, consumed)` for each line of the text header at the start of `path` (the
 * line without its '\n'; `consumed`: the bytes up to and including it) until `visit` returns
 * false, the file ends or 1 MiB is read (a header is a few hundred bytes; a binary file is not
 * read line by line). */
void
ForEachHeaderLine(const std::string & path, const std::function<bool(const std::string &, uint64_t)> & visit);

/** The size of a file, or 0 if it cannot be read. */
uint64_t
FileSize(const std::filesystem::path & path);

/** "<n> bytes". */
std::string
Bytes(uint64_t n);

/** The most bytes a deflate stream (zlib, gzip; PNG) can expand to per compressed byte: a
 * 258-byte match coded in 2 bits gives 1032:1 (zlib's technical notes). */
constexpr uint64_t DeflateMaxRatio = 1032;

/** Refuses a compressed file whose header claims more voxel data (`payload` bytes) than
 * `compressed` bytes of a stream with at most `maxRatio` : 1 expansion can hold (0: no such
 * bound, as for bzip2), or more than MaxDecompressedBytes(). This runs before anything is
 * allocated: a 341-byte MetaImage that claims 1024^3 floats is refused here instead of
 * allocating 4 GiB. Throws InputError(path, ...). */
void
CheckCompressedClaim(const std::string & path, uint64_t payload, uint64_t compressed, uint64_t maxRatio);

/** The checks of a header's text that run before any library parses it, by the file's extension:
 * for MetaImage, the sizes and ElementDataFile that MetaIO would misread (CheckMetaImageText);
 * for NIfTI-1, an sform ITK cannot decompose (CheckNiftiSformText); other formats have none. Throws InputError(path, ...). */
void
CheckHeaderText(const std::string & path);

/** Refuses a NIfTI-1 sform (when its code is set) with an entry that is not finite or is beyond
 * 1e6 mm (axes) or 1e9 mm (offsets): ITK's header parse never ends on some of them. */
void
CheckNiftiSformText(const std::string & path);

/** Refuses a MetaImage header whose keys repeat, whose NDims or DimSize are not whole numbers in
 * range, or whose ElementDataFile is empty or malformed (a LIST dimension, a printf pattern). */
void
CheckMetaImageText(const std::string & path);

/** The MetaImage (.mha, .mhd) part of CheckPayloadComplete: a header MetaIO would misread (keys
 * given twice, sizes that are not whole numbers, an empty or malformed ElementDataFile) and
 * voxel data that is missing or could not hold what the header claims (`payload` bytes). */
void
CheckMetaImage(const std::string & path, uint64_t payload);

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

/** What is wrong with the pixels of the DICOM file `file` before ITK decodes them (a pixel format
 * GDCM mis-sizes, native Pixel Data shorter than rows x columns x frames x bits need), or "".
 * Parses the whole file with GDCM and, with `decode`, also decodes the pixels when nothing is
 * wrong: run it so in an isolated probe first (GDCM may abort), then without `decode`. */
std::string
DicomPixelDataProblem(const std::string & file, bool decode = false);

} // namespace medseg::detail

#endif
