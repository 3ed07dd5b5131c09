#ifndef medsegImageFileIO_h
#define medsegImageFileIO_h

#include "medsegImageTypes.h"
#include "medsegLabelMapFileIO.h"
#include "medsegOutputPaths.h"

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

/** \brief Reads an image as channels, a 4D file's volumes included: a 4D NIfTI, NRRD or
 * MetaImage with N > 1 volumes gives N channels, each with the file's 3D geometry (MONAI's
 * LoadImage + EnsureChannelFirst convention for multi-channel NIfTI); anything else is read as
 * ReadChannelImages reads it. */
std::vector<FloatImage3::Pointer>
ReadVolumeChannels(const std::string & path);

/** \brief Reads a label map: like ReadScalarImage, and every voxel must be a non-negative integer
 * that fits LabelImage3's pixel type. */
LabelImage3::Pointer
ReadLabelImage(const std::string & path);

/** Checks a voxel buffer: no NaN or Inf and not empty. Throws InputError naming `subject`. */
void
ValidateVoxels(const FloatImage3 * image, const std::string & subject);

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
