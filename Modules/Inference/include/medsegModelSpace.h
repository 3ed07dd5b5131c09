#ifndef medsegModelSpace_h
#define medsegModelSpace_h

#include "medsegGeometry.h"
#include "medsegImageTypes.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** \brief The direction matrix (ITK, LPS world) whose voxel axes point as `codes` say.
 *
 * Codes name where each voxel axis points, as nibabel and 3D Slicer write them: "RAS" means
 * i towards the Right, j Anterior, k Superior, i.e. columns (-1,0,0), (0,-1,0), (0,0,1) in ITK's
 * LPS world. Throws std::invalid_argument for anything but three distinct axes of R/L, A/P, S/I. */
Direction3
DirectionFromAxisCodes(const std::string & codes);

/** The axis codes of the closest axis-aligned orientation of `direction`, e.g. "LPS" for identity. */
std::string
AxisCodesFromDirection(const Direction3 & direction);

/** \brief Permutes and flips the voxel axes (no interpolation) so they point as `codes` say,
 * as closely as an oblique direction allows. World positions of voxels are unchanged. */
FloatImage3::Pointer
ReorientImage(const FloatImage3 * image, const std::string & codes);

/** \brief Resamples (linear) onto the same direction and origin with `spacing` (x, y, z in mm);
 * the new size keeps the physical extent: round(size * old spacing / new spacing). Axes that get
 * coarser are first smoothed with a Gaussian of sigma = (factor - 1) / 2 input voxels
 * (anti-aliasing), so a 0.5 mm scan and a 1 mm scan of the same anatomy look alike at 2 mm. */
FloatImage3::Pointer
ResampleToSpacing(const FloatImage3 * image, const std::array<double, 3> & spacing);

/** Resamples (linear) `image` onto the grid of `reference` through world coordinates. */
FloatImage3::Pointer
ResampleOnto(const FloatImage3 * image, const itk::ImageBase<3> * reference);

/** \brief Resamples class probabilities (linear, component by component) onto the grid of
 * `reference`; points just outside the source grid take the nearest voxel's value. */
ProbabilityImage3::Pointer
ResampleProbabilitiesOnto(const ProbabilityImage3 * probabilities, const itk::ImageBase<3> * reference);

/** \brief The smallest region holding every voxel that is nonzero in any of `channels` (all on
 * one grid), or nothing when every voxel of every channel is zero.
 *
 * nnU-Net's crop_to_nonzero (nnunetv2 `create_nonzero_mask` + `get_bbox_from_mask`) takes the
 * box of the nonzero mask after filling its holes; a filled hole lies inside the mask's box by
 * definition, so the box of the nonzero voxels themselves is the same box and no hole filling is
 * done here. */
std::optional<itk::ImageRegion<3>>
NonzeroBoundingRegion(const std::vector<FloatImage3::Pointer> & channels);

/** \brief A copy of `region` of `image` (index, origin, spacing and direction kept: the copy's
 * largest region is `region`, so its voxels have their world positions in the original). */
FloatImage3::Pointer
CropImage(const FloatImage3 * image, const itk::ImageRegion<3> & region);

} // namespace medseg

#endif
