#ifndef medsegImageFileIO_h
#define medsegImageFileIO_h

#include "medsegImageTypes.h"

#include "itkImageFileReader.h"

#include <string>

namespace medseg
{

/** Registers the ITK image IO factories MedSeg reads and writes with (NIfTI, NRRD, MetaImage,
 * GDCM, PNG, JPEG, TIFF). Idempotent and thread-safe; the read and write helpers call it. */
void
RegisterImageIOFactories();

/** \brief Reads a 3D scalar image (a file ITK can read, or a folder holding one DICOM series).
 *
 * Origin, spacing and direction are kept. The header is checked before any voxel is read and
 * the voxels after; any problem throws InputError("<path>", "<problem>"):
 * missing or unreadable files, truncated data, 4D files with more than one volume, more than one
 * component per voxel, empty images, zero/negative/non-finite spacing, non-finite origin, a
 * direction matrix that is not orthonormal, NaN or Inf voxels. 2D images are read as one slice. */
FloatImage3::Pointer
ReadScalarImage(const std::string & path);

/** \brief Opens a 3D scalar image file for streamed reading: its header is checked as
 * ReadScalarImage checks it (and the file must hold every byte the header promises), but no
 * voxel is read. The reader reads only the region its output is asked for. Files that cannot be
 * read in parts (compressed, DICOM folders, 2D formats) are refused with InputError. Voxels are
 * not checked: call ValidateVoxels on each part read. */
itk::ImageFileReader<FloatImage3>::Pointer
OpenStreamedImage(const std::string & path);

/** \brief Reads a label map: like ReadScalarImage, and every voxel must be a non-negative integer
 * that fits LabelImage3's pixel type. */
LabelImage3::Pointer
ReadLabelImage(const std::string & path);

/** Checks a voxel buffer: no NaN or Inf and not empty. Throws InputError naming `subject`. */
void
ValidateVoxels(const FloatImage3 * image, const std::string & subject);

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

/** \brief Writes `image` to `path` atomically: into a hidden temporary file in the same folder,
 * then renamed over the final name. A failed write leaves no file under `path`. */
template <typename TImage>
void
WriteImageFile(const TImage * image, const std::string & path, bool useCompression = true);

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegImageFileIO.hxx"
#endif

#endif
