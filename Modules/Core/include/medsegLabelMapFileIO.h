#ifndef medsegLabelMapFileIO_h
#define medsegLabelMapFileIO_h

// Label maps as files: which formats hold them, and writing one with the smallest pixel type.

#include "medsegImageTypes.h"

#include "itkImageRegion.h"

#include <string>

namespace medseg
{

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

} // namespace medseg

#endif
