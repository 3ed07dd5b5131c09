#ifndef medsegImageFileIO_h
#define medsegImageFileIO_h

#include "medsegImageTypes.h"

#include "itkImageFileReader.h"

#include <string>
#include <vector>

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

/** \brief Reads an image as model input channels: one FloatImage3 per component, in file order.
 *
 * Scalar images (and DICOM folders) give one channel, read exactly as ReadScalarImage reads them.
 * 2D images with three components per pixel (RGB PNG, JPEG or TIFF; palette PNGs expand to RGB)
 * give three channels in the order R, G, B, each a one-slice volume with the file's geometry.
 * Images with an alpha channel (grey + alpha, RGBA), any other number of components, and 3D volumes
 * with more than one component per voxel are refused; so is everything ReadScalarImage refuses.
 * Every refusal is InputError("<path>", "<problem>"). */
std::vector<FloatImage3::Pointer>
ReadChannelImages(const std::string & path);

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

/** True when `path` ends in .png, .tif or .tiff: the 2D formats a one-slice label map can be
 * written as (lossless, 8 or 16 bits per pixel). */
bool
IsSliceLabelFormat(const std::string & path);

/** \brief Checks, before any work is done, that a label map can be written at `path`: a 3D format
 * (IsAtomicallyWritable) or a 2D one (IsSliceLabelFormat); JPEG is refused because it is lossy and
 * would change label values. Then CheckOutputFile. */
void
CheckLabelOutputPath(const std::string & path, bool overwrite);

/** \brief Checks that a label map on `region` whose values go up to `maxLabel` fits the format
 * `path` names: a 2D format (IsSliceLabelFormat) needs one slice along z and labels up to 65535.
 * Throws InputError naming `path`; 3D formats always pass. */
void
CheckLabelMapFitsFormat(const std::string & path, const itk::ImageRegion<3> & region, unsigned long maxLabel);

/** \brief Writes a label map atomically (see WriteImageFile) with the smallest unsigned pixel type
 * that holds `maxLabel` (the largest value the map can hold; at least 1 is assumed).
 *
 * 3D formats (.nii.gz, .nii, .nrrd, .mha) keep the full geometry. 2D formats (.png, .tif, .tiff)
 * get a 2D image of 8 or 16 bits with the in-plane spacing (PNG and TIFF store no origin or
 * direction); the map must pass CheckLabelMapFitsFormat. JPEG and other formats are refused. */
void
WriteLabelMapFile(const LabelImage3 * labels, const std::string & path, unsigned long maxLabel);

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
