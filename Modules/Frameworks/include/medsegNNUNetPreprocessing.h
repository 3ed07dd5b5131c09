#ifndef medsegNNUNetPreprocessing_h
#define medsegNNUNetPreprocessing_h

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace medseg
{

/** \file
 * nnU-Net v2's preprocessing of one case, step by step.
 *
 * nnunetv2.preprocessing.preprocessors.default_preprocessor.DefaultPreprocessor.run_case_npy
 * applies, in this order:
 * 1. data.astype(float32) (a copy);
 * 2. transpose_forward on the three spatial axes (and on the spacing);
 * 3. crop_to_nonzero: ComputeNNUNetCrop, then data[:, start:end] (shape_before_cropping and
 *    bbox_used_for_cropping are what the export step needs to paste the prediction back);
 * 4. new_shape = compute_new_shape(cropped shape, original spacing, target spacing), the target
 *    spacing of a 2D configuration prefixed with the original spacing of axis 0
 *    (ComputeNNUNetNewShape in medsegNNUNetResampling.h);
 * 5. normalisation per channel, BEFORE resampling (so the nonzero mask fits the image):
 *    NormalizeNNUNetChannel with the scheme and use_mask_for_norm of that channel and the crop's
 *    mask (upstream's seg[0] >= 0);
 * 6. resampling of the data to new_shape (ResampleLikeNNUNet with the configuration's
 *    resampling_fn_data_kwargs, usually order 3, order_z 0, force_separate_z None). */

/** \brief The bounding box of the nonzero region and the mask inside it.
 *
 * As nnunetv2.preprocessing.cropping.cropping.crop_to_nonzero. `start`/`end` are half-open,
 * in array order (acvl_utils get_bbox_from_mask); `mask` is bool [A0', A1', A2'] over the crop,
 * true inside the hole-filled nonzero mask (upstream's seg == 0, seg == -1 outside). An image
 * with no nonzero voxel gives the whole image and an all-false mask, as upstream. */
struct NNUNetCrop
{
  std::array<int64_t, 3> start{};
  std::array<int64_t, 3> end{};
  at::Tensor             mask;
};

/** As crop_to_nonzero + create_nonzero_mask: voxels nonzero in any channel of `data`
 * ([C, A0, A1, A2], any dtype, CPU), holes filled as scipy.ndimage.binary_fill_holes with its
 * default structure (background not face-connected to the array border becomes foreground; a
 * single-slice array therefore has no holes), then the bounding box.
 * \throws std::invalid_argument when `data` is not 4D. */
NNUNetCrop
ComputeNNUNetCrop(const at::Tensor & data);

/** data[:, start:end] for a crop from ComputeNNUNetCrop (a view). */
at::Tensor
ApplyNNUNetCrop(const at::Tensor & data, const NNUNetCrop & crop);

/** The normalisation classes of nnunetv2/preprocessing/normalization/default_normalization_schemes.py. */
enum class NNUNetNormalization
{
  ZScore,      //!< ZScoreNormalization
  CT,          //!< CTNormalization
  None,        //!< NoNormalization
  RescaleTo01, //!< RescaleTo01Normalization
  RGBTo01      //!< RGBTo01Normalization
};

/** Maps a plans.json normalization_schemes entry ("ZScoreNormalization", "CTNormalization",
 * "NoNormalization", "RescaleTo01Normalization", "RGBTo01Normalization") to the enum.
 * \throws InputError(subject, ...) naming the unknown scheme and listing the supported ones. */
NNUNetNormalization
ParseNNUNetNormalization(const std::string & schemeName, const std::string & subject);

/** The class name plans.json uses for `scheme`. */
std::string
NNUNetNormalizationName(NNUNetNormalization scheme);

/** One channel of plans.json's foreground_intensity_properties_per_channel. */
struct NNUNetIntensityProperties
{
  double mean{ 0.0 };
  double std{ 1.0 };
  double percentile_00_5{ 0.0 };
  double percentile_99_5{ 0.0 };
};

/** \brief Normalises one channel [A0, A1, A2] in place, as the scheme's run(image, seg[0]).
 *
 * The channel is made float32 first (target_dtype), then, in float32 arithmetic as numpy does:
 * - ZScore: (x - mean) / max(std, 1e-8), mean and population std over the whole channel, or,
 *   when `useMaskForNorm` is true, over the voxels where `mask` is true, and only those voxels
 *   are changed (an empty mask changes nothing). The statistics are accumulated in double
 *   precision (numpy accumulates float32 pairwise), then rounded to float32.
 * - CT: clip to [percentile_00_5, percentile_99_5], then (x - mean) / max(std, 1e-8) with the
 *   properties' values; `properties` is required.
 * - None: nothing. RescaleTo01: (x - min) / max(max - min, 1e-8). RGBTo01: x / 255, refusing
 *   values outside [0, 255] (upstream asserts) with InputError("RGBTo01Normalization", ...).
 * `useMaskForNorm` matters to ZScore only, as upstream.
 * \throws std::invalid_argument for a channel that is not 3D, a mask of another shape when one
 *         is needed, or CT without properties. */
void
NormalizeNNUNetChannel(at::Tensor & channel, NNUNetNormalization scheme, bool useMaskForNorm, const at::Tensor & mask,
                       const std::optional<NNUNetIntensityProperties> & properties);

} // namespace medseg

#endif
