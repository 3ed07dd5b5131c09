#ifndef medsegNNUNetResampling_h
#define medsegNNUNetResampling_h

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>

namespace medseg
{

/** \brief Resamples image data or logits to a new shape as nnU-Net v2 does.
 *
 * As nnunetv2.preprocessing.resampling.default_resampling.resample_data_or_seg_to_shape with
 * is_seg False (images and logits; label maps are not handled here).
 *
 * `data` is [C, A0, A1, A2] (float32 or float64, CPU) in nnU-Net's array order; the result is
 * [C, newShape...] of the same dtype. When the spatial shape already equals `newShape` the result
 * is a copy of `data`, unchanged, as upstream returns its input.
 *
 * The rule (determine_do_sep_z_and_axis):
 * - `forceSeparateZ` true: the low-resolution axis is the axis whose `currentSpacing` equals the
 *   largest one; false: never separate; nullopt (upstream's None): separate when max/min of
 *   `currentSpacing`, else of `newSpacing`, exceeds `anisotropyThreshold`, the axis taken from
 *   that spacing. Two or three axes sharing the largest spacing mean no separate axis.
 * - Not separate: each channel is resized as skimage.transform.resize(channel, newShape, order,
 *   mode='edge', anti_aliasing=False) (skimage 0.19 calls scipy.ndimage.zoom with grid_mode True
 *   and mode 'nearest': output index k samples input coordinate (k + 0.5) * in / out - 0.5;
 *   order 3 is a cubic B-spline whose coefficients come from scipy's prefilter of the input
 *   edge-padded by 12 samples; order 1 linear, order 0 nearest with halves rounded up), then
 *   clipped to the channel's input range (resize's clip=True).
 * - Separate along axis a: each slice across a is resized in-plane as above (and clipped to that
 *   slice's range); then, if the extent along a changes, values along a are interpolated with
 *   `orderZ` (0 or 1) at coordinates (k + 0.5) * in / out - 0.5, clamped to the ends
 *   (scipy.ndimage.map_coordinates, mode 'nearest', as upstream builds its coordinate map).
 *
 * Everything is computed in double precision like numpy/scipy, as 1D passes along each axis (the
 * B-spline interpolation is a tensor product, so this equals scipy's N-D evaluation up to
 * rounding), in parallel with at::parallel_for.
 *
 * For a 2D configuration call it with the spacing along axis 0 unchanged (upstream prepends the
 * original spacing of axis 0 to the 2D target spacing).
 *
 * \param order 0, 1 or 3 (upstream also allows 2, 4, 5; nnU-Net's plans use 3 and 1)
 * \param orderZ 0 or 1
 * \throws std::invalid_argument for a tensor that is not 4D floating point, a non-positive
 *         shape, non-positive spacings or an unsupported order. */
at::Tensor
ResampleLikeNNUNet(const at::Tensor & data, const std::array<int64_t, 3> & newShape,
                   const std::array<double, 3> & currentSpacing, const std::array<double, 3> & newSpacing, int order,
                   int orderZ, std::optional<bool> forceSeparateZ, double anisotropyThreshold = 3.0);

/** As nnunetv2.preprocessing.resampling.default_resampling.compute_new_shape:
 * round(oldSpacing / newSpacing * shape) per axis, halves rounded to even as Python's round(). */
std::array<int64_t, 3>
ComputeNNUNetNewShape(const std::array<int64_t, 3> & shape, const std::array<double, 3> & oldSpacing,
                      const std::array<double, 3> & newSpacing);

/** The outcome of determine_do_sep_z_and_axis: the axis (0, 1 or 2) resampled separately, or
 * nullopt when all three axes are resampled together. Exposed for tests and diagnostics. */
std::optional<int>
DetermineNNUNetSeparateZAxis(std::optional<bool> forceSeparateZ, const std::array<double, 3> & currentSpacing,
                             const std::array<double, 3> & newSpacing, double anisotropyThreshold = 3.0);

} // namespace medseg

#endif
