#ifndef medsegMONAITransforms_h
#define medsegMONAITransforms_h

#include "medsegImageTypes.h"

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** \brief An image as MONAI's dictionary transforms hold it (a MetaTensor): channel-first data in
 * the file's voxel index order and the affine from voxel index to RAS world millimetres.
 *
 * `data` is [C, I, J, K] (I = ITK's x index, K = z), float32, CPU, contiguous. `affine` is 4 x 4
 * float64: world_RAS = affine * (i, j, k, 1). This is nibabel's affine, which MONAI's
 * NibabelReader hands on: diag(-1, -1, 1, 1) times ITK's LPS index-to-physical matrix. */
struct MONAIImage
{
  at::Tensor data;
  at::Tensor affine;

  std::array<int64_t, 3>
  SpatialShape() const;
};

/** \brief One invertible preprocessing step as Invertd needs it: what the image was before. */
struct MONAIAppliedOperation
{
  enum class Kind
  {
    Orientation,
    Spacing,
    CropForeground
  };
  Kind                   kind{ Kind::Orientation };
  bool                   changedImage{ true };  //!< false: the step left the image as it was (no resampling)
  at::Tensor             affineBefore;          //!< 4 x 4 float64
  std::array<int64_t, 3> shapeBefore{};         //!< spatial shape before the step
  std::string            mode{ "bilinear" };    //!< Spacing: interpolation used ("bilinear" | "nearest")
  std::string            paddingMode{ "border" }; //!< Spacing: "border" | "zeros" | "reflection"
  std::array<int64_t, 3> cropStart{};           //!< CropForeground: first voxel of the box (may be < 0)
  std::array<int64_t, 3> cropEnd{};             //!< CropForeground: one past the last (may exceed the shape)
};

/** The channels (co-registered 3D images on one grid) as LoadImaged + EnsureChannelFirstd give
 * them: [C, I, J, K] float32 and the RAS affine. Throws InputError when grids differ. */
MONAIImage
MONAIImageFromChannels(const std::vector<FloatImage3::Pointer> & channels);

/** The affine nibabel reads from a NIfTI-1 file (`img.affine`: the sform as stored when its code
 * is set, else the qform's quaternion computed as nibabel computes it), which MONAI's NibabelReader
 * uses; nothing for other files, or a NIfTI-1 file with neither form. It differs from the affine
 * of ITK's geometry by float rounding (ITK builds an orthonormal direction, in float): about 1e-7
 * on oblique files, enough to move a nearest-neighbour sample that falls on a half voxel. */
std::optional<at::Tensor>
ReadNibabelAffine(const std::string & path);

/** A label map [I, J, K] (or [1, I, J, K]; integral values, any dtype) on the grid `affine`
 * describes, as an ITK image in LPS: the inverse of MONAIImageFromChannels' geometry (spacing =
 * column norms, direction = normalised columns, origin = translation, after diag(-1, -1, 1)).
 * Throws InputError("labels", ...) for values that are not integers in [0, 65535] and
 * InputError("affine", ...) for a voxel axis of length 0. */
LabelImage3::Pointer
MONAILabelsToImage(const at::Tensor & labels, const at::Tensor & affine);

/** nibabel.orientations.io_orientation + aff2axcodes: the axis code ("RAS", "LPI", ...) the three
 * voxel axes of `affine` point toward. */
std::string
MONAIAxcodes(const at::Tensor & affine);

/** Orientation(axcodes): flips and transposes the voxel axes so that they point toward `axcodes`
 * (monai.transforms.spatial.functional.orientation; nibabel io_orientation / ornt_transform),
 * no resampling; the affine follows. `applied` (may be null) receives the inverse record.
 * Throws std::invalid_argument for axcodes that are not three distinct L/R, P/A, I/S letters. */
MONAIImage
MONAIOrientation(const MONAIImage & image, const std::string & axcodes, MONAIAppliedOperation * applied);

/** Spacing(pixdim, mode, padding_mode, align_corners=False, dtype float64): zoom_affine,
 * compute_shape_offset, then spatial_resample through at::affine_grid_generator / grid_sampler
 * in float64 (the same theta MONAI's AffineTransform builds) to float32. pixdim values <= 0 keep
 * that axis' spacing; fewer than three are padded with the last; an input spacing within 1e-3 of
 * its pixdim is kept as it is (Spacing's min_pixdim/max_pixdim rule with both unset). No
 * resampling when the grid does not change (MONAI's atol 1e-3 rule): the data and affine are
 * returned as they were and `applied->changedImage` is false. `mode`: "bilinear" | "nearest";
 * `paddingMode`: "border" | "zeros" | "reflection". Throws std::invalid_argument for other
 * values. The linear algebra runs as numpy's does (LAPACK gesv on column-major matrices), so the
 * output is bit-identical to MONAI's on the same BLAS/LAPACK. Memory: the float64 grid takes 24
 * bytes per output voxel, as in MONAI. */
MONAIImage
MONAISpacing(const MONAIImage & image, const std::vector<double> & pixdim, const std::string & mode,
             const std::string & paddingMode, MONAIAppliedOperation * applied);

/** Resamples `data` [C, I, J, K] to `outShape` with `xform` (4 x 4 float64, output voxel index ->
 * input voxel index), as MONAI's spatial_resample does it (the theta of to_norm_affine with
 * align_corners False, reversed axes, grid_sample in float64). Returns float32. */
at::Tensor
MONAIResample(const at::Tensor & data, const at::Tensor & xform, const std::array<int64_t, 3> & outShape,
              const std::string & mode, const std::string & paddingMode);

/** ScaleIntensityRange: (x - aMin) / (aMax - aMin), then * (bMax - bMin) + bMin when both are
 * given, then clipped to [bMin, bMax] (the bounds given) when `clip`; float32 with torch's scalar
 * arithmetic, in place. aMax == aMin takes MONAI's divide-by-zero branch: x - aMin (+ bMin). */
void
MONAIScaleIntensityRange(MONAIImage & image, double aMin, double aMax, std::optional<double> bMin,
                         std::optional<double> bMax, bool clip);

/** ScaleIntensity(minv, maxv, factor, channel_wise): with minv or maxv, rescale_array: (x - min) /
 * (max - min), then * (maxv - minv) + minv when both are given (an image of one value becomes
 * x * minv); without both, x * (1 + factor). Per channel when channelWise; float32, in place. */
void
MONAIScaleIntensity(MONAIImage & image, std::optional<double> minv, std::optional<double> maxv,
                    std::optional<double> factor, bool channelWise);

/** NormalizeIntensity(nonzero, channel_wise) without subtrahend/divisor: (x - mean) / std over
 * the voxels != 0 (nonzero) or all voxels, population std, std 0 -> 1, float32; only masked
 * voxels change; per channel when channelWise. In place. */
void
MONAINormalizeIntensity(MONAIImage & image, bool nonzero, bool channelWise);

/** CropForeground(source = the image's own data, select_fn x > 0 on any channel, margin,
 * allow_smaller, k_divisible): the box, the in-image part cropped and the rest zero-padded, the
 * affine shifted by the box start. Throws InputError("image", "has no foreground ...") when no
 * voxel is foreground. `margin` and `kDivisible` are per axis (I, J, K). */
MONAIImage
MONAICropForeground(const MONAIImage & image, const std::array<int64_t, 3> & margin, bool allowSmaller,
                    const std::array<int64_t, 3> & kDivisible, MONAIAppliedOperation * applied);

/** Invertd: undoes `applied` in reverse order on `prediction` (multi-channel scores on the grid
 * after the last step): CropForeground by cropping the padding off and zero-padding back,
 * Spacing by resampling to the grid before it (its own mode and padding, or nearest when
 * `nearestInterp`; nothing when it did not resample), Orientation by
 * Orientation(aff2axcodes(affine before)), i.e. the inverse flip/transpose. Returns the
 * prediction on the loaded grid with the loaded affine (exactly `applied.front().affineBefore`;
 * MONAI's own chain of matrix products differs from it by ~1e-15). Throws InputError
 * ("prediction", ...) when its shape is not the one the last step made. */
MONAIImage
MONAIInvert(const MONAIImage & prediction, const std::vector<MONAIAppliedOperation> & applied, bool nearestInterp);

/** KeepLargestConnectedComponent on a label map [I, J, K] (not one-hot), independent: for every
 * label in `appliedLabels` (all nonzero labels when empty) only its largest component survives,
 * the other voxels of that label become 0. `connectivity` 1 (faces), 2 (faces and edges) or 3
 * (also corners; MONAI's default None means the full 26-neighbourhood). Components of equal size:
 * the one whose first voxel comes first in [I, J, K] order (K fastest) is kept (MONAI leaves
 * ties unspecified; monai_reference.py keeps the last). Returns a new tensor of the input's
 * dtype; throws std::invalid_argument for another connectivity or rank. */
at::Tensor
MONAIKeepLargestConnectedComponent(const at::Tensor & labels, const std::vector<int64_t> & appliedLabels,
                                   int connectivity);

} // namespace medseg

#endif
