#include "medsegNNUNetResampling.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace medseg
{

namespace
{

/** The pole of the cubic B-spline prefilter, sqrt(3) - 2 (scipy ni_splines.c get_filter_poles). */
constexpr double kCubicPole = -0.267949192431122706472553658494127633;
/** scipy.ndimage._interpolation._prepad_for_spline_filter pads by 12 samples (mode 'edge') for
 * mode 'nearest' before prefiltering, so the prefilter's own boundary rule acts 12 samples out. */
constexpr int64_t kSplinePad = 12;
/** Lines resampled together in one block (the inner loops vectorise over them). */
constexpr int64_t kBlockColumns = 32;

/** scipy ni_interpolation.c folds an index past the line's end back by mirroring; with mode
 * 'nearest' and the coordinates used here it is reached only for taps of weight zero. */
int64_t
MirrorIndex(int64_t idx, int64_t len)
{
  if (len <= 1)
  {
    return 0;
  }
  const int64_t s2 = 2 * len - 2;
  if (idx < 0)
  {
    idx = s2 * (-idx / s2) + idx;
    idx = idx <= 1 - len ? idx + s2 : -idx;
  }
  else if (idx >= len)
  {
    idx -= s2 * (idx / s2);
    if (idx >= len)
    {
      idx = s2 - idx;
    }
  }
  return idx;
}

/** For one axis: for each output sample, `taps` input indices (into the padded line for order 3)
 * and their weights, as scipy's NI_ZoomShift precomputes them (grid_mode True, mode 'nearest'). */
struct AxisSampling
{
  int                  order{ 0 };
  int64_t              taps{ 1 };
  int64_t              inLength{ 0 };
  int64_t              outLength{ 0 };
  int64_t              pad{ 0 }; //!< samples of edge padding on each side (order 3 only)
  std::vector<int64_t> index;    //!< outLength * taps
  std::vector<double>  weight;   //!< outLength * taps
};

/** Weights of scipy's get_spline_interpolation_weights for orders 1 and 3 (the last weight is one
 * minus the others, as there). */
void
SplineWeights(double cc, int order, double * w)
{
  const double x = cc - std::floor(cc);
  if (order == 1)
  {
    w[0] = 1.0 - x;
  }
  else
  {
    const double y = x;
    const double z = 1.0 - x;
    w[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
    w[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
    w[0] = z * z * z / 6.0;
  }
  w[order] = 1.0;
  for (int i = 0; i < order; ++i)
  {
    w[order] -= w[i];
  }
}

AxisSampling
MakeAxisSampling(int64_t inLength, int64_t outLength, int order)
{
  AxisSampling s;
  s.order = order;
  s.taps = order + 1;
  s.inLength = inLength;
  s.outLength = outLength;
  s.pad = order > 1 ? kSplinePad : 0;
  const int64_t lineLength = inLength + 2 * s.pad;
  // scipy.ndimage.zoom: zoom = input.shape / output.shape when grid_mode is True.
  const double zoom = static_cast<double>(inLength) / static_cast<double>(outLength);
  s.index.resize(outLength * s.taps);
  s.weight.resize(outLength * s.taps);
  for (int64_t k = 0; k < outLength; ++k)
  {
    // NI_ZoomShift, grid_mode: cc = (k + 0.5) * zoom - 0.5, shifted into the padded line, then
    // map_coordinate with mode 'nearest' clamps it to [0, len - 1].
    double cc = static_cast<double>(k);
    cc += 0.5;
    cc *= zoom;
    cc -= 0.5;
    cc += static_cast<double>(s.pad);
    if (cc < 0.0)
    {
      cc = 0.0;
    }
    else if (cc > static_cast<double>(lineLength - 1))
    {
      cc = static_cast<double>(lineLength - 1);
    }
    int64_t * index = s.index.data() + k * s.taps;
    double *  weight = s.weight.data() + k * s.taps;
    // Odd orders start at floor(cc) - order / 2; order 0 rounds (halves up).
    const int64_t start =
      order & 1 ? static_cast<int64_t>(std::floor(cc)) - order / 2 : static_cast<int64_t>(std::floor(cc + 0.5));
    for (int64_t t = 0; t < s.taps; ++t)
    {
      index[t] = MirrorIndex(start + t, lineLength);
    }
    if (order == 0)
    {
      weight[0] = 1.0;
    }
    else
    {
      SplineWeights(cc, order, weight);
    }
  }
  return s;
}

/** The cubic B-spline prefilter of scipy (ni_splines.c apply_filter) on `columns` interleaved
 * lines of length n (sample i of column j at c[i * columns + j]), with the initial conditions
 * scipy 1.10 uses for mode 'nearest' (its 'reflect' rule, applied to the padded line). */
void
CubicPrefilter(double * c, int64_t n, int64_t columns)
{
  const double z = kCubicPole;
  const double gain = (1.0 - z) * (1.0 - 1.0 / z);
  for (int64_t i = 0; i < n * columns; ++i)
  {
    c[i] *= gain;
  }
  // Causal initialisation (_init_causal_reflect).
  {
    std::vector<double> first(c, c + columns);
    const double        zn = std::pow(z, static_cast<double>(n));
    double *            c0 = c;
    const double *      last = c + (n - 1) * columns;
    for (int64_t j = 0; j < columns; ++j)
    {
      c0[j] = c0[j] + zn * last[j];
    }
    double zi = z;
    for (int64_t i = 1; i < n; ++i)
    {
      const double * ci = c + i * columns;
      const double * cm = c + (n - 1 - i) * columns;
      for (int64_t j = 0; j < columns; ++j)
      {
        c0[j] += zi * (ci[j] + zn * cm[j]);
      }
      zi *= z;
    }
    const double factor = z / (1.0 - zn * zn);
    for (int64_t j = 0; j < columns; ++j)
    {
      c0[j] = c0[j] * factor + first[j];
    }
  }
  for (int64_t i = 1; i < n; ++i)
  {
    double *       ci = c + i * columns;
    const double * cp = ci - columns;
    for (int64_t j = 0; j < columns; ++j)
    {
      ci[j] += z * cp[j];
    }
  }
  // Anti-causal initialisation (_init_anticausal_reflect) and recursion.
  {
    double *     cl = c + (n - 1) * columns;
    const double factor = z / (z - 1.0);
    for (int64_t j = 0; j < columns; ++j)
    {
      cl[j] *= factor;
    }
  }
  for (int64_t i = n - 2; i >= 0; --i)
  {
    double *       ci = c + i * columns;
    const double * cn = ci + columns;
    for (int64_t j = 0; j < columns; ++j)
    {
      ci[j] = z * (cn[j] - ci[j]);
    }
  }
}

/** Weighted sum of taps for each output sample of a block of `columns` interleaved lines:
 * out[k * columns + j] = sum_t w[k, t] * line[index[k, t] * columns + j]. */
void
Interpolate(const AxisSampling & s, const double * line, double * out, int64_t columns)
{
  for (int64_t k = 0; k < s.outLength; ++k)
  {
    const int64_t * index = s.index.data() + k * s.taps;
    const double *  weight = s.weight.data() + k * s.taps;
    double *        o = out + k * columns;
    const double *  l0 = line + index[0] * columns;
    const double    w0 = weight[0];
    for (int64_t j = 0; j < columns; ++j)
    {
      o[j] = l0[j] * w0;
    }
    for (int64_t t = 1; t < s.taps; ++t)
    {
      const double * lt = line + index[t] * columns;
      const double   wt = weight[t];
      for (int64_t j = 0; j < columns; ++j)
      {
        o[j] += lt[j] * wt;
      }
    }
  }
}

/** Two double buffers that the passes of one call write into in turn (each fresh allocation of a
 * volume costs page faults comparable to the arithmetic). */
class Scratch
{
public:
  /** A contiguous double tensor of `shape` in the buffer that does not hold `avoid`. */
  at::Tensor
  Take(at::IntArrayRef shape, const at::Tensor & avoid)
  {
    int64_t needed = 1;
    for (const int64_t n : shape)
    {
      needed *= n;
    }
    at::Tensor & buffer = Holds(m_Buffers[0], avoid) ? m_Buffers[1] : m_Buffers[0];
    if (!buffer.defined() || buffer.numel() < needed)
    {
      buffer = at::Tensor(); // release before allocating the larger one
      buffer = at::empty({ needed }, at::TensorOptions().dtype(at::kDouble));
    }
    return buffer.narrow(0, 0, needed).view(shape);
  }

private:
  static bool
  Holds(const at::Tensor & buffer, const at::Tensor & t)
  {
    return buffer.defined() && t.defined() && t.storage().is_alias_of(buffer.storage());
  }

  at::Tensor m_Buffers[2];
};

/** Resamples axis `axis` of a contiguous double tensor with sampling `s`, into `scratch`.
 *
 * The tensor is seen as [outer, length, inner]. Blocks of up to kBlockColumns lines are copied
 * into a buffer with the lines interleaved (sample i of line j at i * columns + j: neighbouring
 * columns along `inner`, or, when inner is 1, consecutive lines along `outer`), edge-padded and
 * prefiltered for order 3, interpolated into a second buffer and copied out, so that every inner
 * loop runs over contiguous columns. */
at::Tensor
ResampleAxis(const at::Tensor & volume, int axis, const AxisSampling & s, Scratch & scratch)
{
  const auto sizes = volume.sizes();
  int64_t    outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d)
  {
    outer *= sizes[d];
  }
  for (int d = axis + 1; d < volume.dim(); ++d)
  {
    inner *= sizes[d];
  }
  std::vector<int64_t> outSizes(sizes.begin(), sizes.end());
  outSizes[axis] = s.outLength;
  at::Tensor     result = scratch.Take(outSizes, volume);
  const double * in = volume.data_ptr<double>();
  double *       out = result.data_ptr<double>();

  const int64_t inLength = s.inLength;
  const int64_t outLength = s.outLength;
  const int64_t lineLength = inLength + 2 * s.pad;
  // Lines of one block: along inner (contiguous) when inner > 1, else consecutive outer lines.
  const bool    alongInner = inner > 1;
  const int64_t span = alongInner ? inner : outer;
  const int64_t block = std::min(span, kBlockColumns);
  const int64_t blocksPerSlab = (span + block - 1) / block;
  const int64_t tasks = (alongInner ? outer : 1) * blocksPerSlab;
  const int64_t work = std::max<int64_t>(1, (lineLength * (s.order > 1 ? 4 : 1) + outLength * s.taps) * block);
  const int64_t grain = std::max<int64_t>(1, 65536 / work);

  at::parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    std::vector<double> lines(lineLength * block);
    std::vector<double> samples(outLength * block);
    for (int64_t task = begin; task < end; ++task)
    {
      const int64_t o = alongInner ? task / blocksPerSlab : 0;
      const int64_t first = (task % blocksPerSlab) * block;
      const int64_t columns = std::min(block, span - first);
      // Column j of this block: sample i at base + j * columnStride + i * sampleStride.
      const int64_t inBase = alongInner ? o * inLength * inner + first : first * inLength;
      const int64_t outBase = alongInner ? o * outLength * inner + first : first * outLength;
      const int64_t inSampleStride = alongInner ? inner : 1;
      const int64_t outSampleStride = alongInner ? inner : 1;
      const int64_t inColumnStride = alongInner ? 1 : inLength;
      const int64_t outColumnStride = alongInner ? 1 : outLength;
      // Gather with numpy.pad(mode='edge') of s.pad samples on each side.
      for (int64_t p = 0; p < lineLength; ++p)
      {
        const int64_t  r = std::clamp<int64_t>(p - s.pad, 0, inLength - 1);
        const double * src = in + inBase + r * inSampleStride;
        double *       dst = lines.data() + p * columns;
        for (int64_t j = 0; j < columns; ++j)
        {
          dst[j] = src[j * inColumnStride];
        }
      }
      if (s.order > 1)
      {
        CubicPrefilter(lines.data(), lineLength, columns);
      }
      Interpolate(s, lines.data(), samples.data(), columns);
      for (int64_t k = 0; k < outLength; ++k)
      {
        const double * src = samples.data() + k * columns;
        double *       dst = out + outBase + k * outSampleStride;
        for (int64_t j = 0; j < columns; ++j)
        {
          dst[j * outColumnStride] = src[j];
        }
      }
    }
  });
  return result;
}

/** Resizes the given axes of a [N0, N1, N2] double volume, as skimage's resize (before its clip)
 * restricted to those axes; axes whose extent does not change are left as they are. The passes
 * commute (tensor-product splines), so the axes that shrink most go first: less work after. */
at::Tensor
ResizeAxes(at::Tensor volume, const std::array<int64_t, 3> & newShape, std::vector<int> axes, int order,
           Scratch & scratch)
{
  const auto growth = [&](int a) { return static_cast<double>(newShape[a]) / static_cast<double>(volume.size(a)); };
  std::stable_sort(axes.begin(), axes.end(), [&](int a, int b) { return growth(a) < growth(b); });
  for (const int axis : axes)
  {
    const int64_t inLength = volume.size(axis);
    if (inLength == newShape[axis])
    {
      continue;
    }
    volume = ResampleAxis(volume, axis, MakeAxisSampling(inLength, newShape[axis], order), scratch);
  }
  return volume;
}

/** The range resize clips to, over `dims` (kept as size-1 dims for broadcasting). skimage clips
 * to [image.min(), image.max()]; both are NaN when the input holds a NaN, and np.clip with NaN
 * bounds then changes nothing, so such a range becomes [-inf, inf]. */
std::pair<at::Tensor, at::Tensor>
InputRange(const at::Tensor & input, const std::vector<int64_t> & dims)
{
  const double inf = std::numeric_limits<double>::infinity();
  at::Tensor   low = input.amin(dims, true);
  at::Tensor   high = input.amax(dims, true);
  return { at::where(low.isnan(), -inf, low), at::where(high.isnan(), inf, high) };
}

void
CheckOrder(int order, bool allowCubic, const char * what)
{
  if (order != 0 && order != 1 && !(allowCubic && order == 3))
  {
    throw std::invalid_argument(std::string("ResampleLikeNNUNet: ") + what +
                                (allowCubic ? " must be 0, 1 or 3" : " must be 0 or 1") + ", not " +
                                std::to_string(order));
  }
}

/** Axes whose spacing equals the largest (get_lowres_axis: max / spacing == 1). */
std::vector<int>
LowResolutionAxes(const std::array<double, 3> & spacing)
{
  const double     largest = *std::max_element(spacing.begin(), spacing.end());
  std::vector<int> axes;
  for (int a = 0; a < 3; ++a)
  {
    if (largest / spacing[a] == 1.0)
    {
      axes.push_back(a);
    }
  }
  return axes;
}

/** get_do_separate_z: max / min > threshold. */
bool
IsAnisotropic(const std::array<double, 3> & spacing, double threshold)
{
  const auto [low, high] = std::minmax_element(spacing.begin(), spacing.end());
  return *high / *low > threshold;
}

void
CheckSpacing(const std::array<double, 3> & spacing, const char * what)
{
  for (const double s : spacing)
  {
    if (!(s > 0.0) || !std::isfinite(s))
    {
      throw std::invalid_argument(std::string("nnU-Net resampling: ") + what + " spacing must be positive");
    }
  }
}

} // namespace

std::optional<int>
DetermineNNUNetSeparateZAxis(std::optional<bool> forceSeparateZ, const std::array<double, 3> & currentSpacing,
                             const std::array<double, 3> & newSpacing, double anisotropyThreshold)
{
  // As nnunetv2.preprocessing.resampling.default_resampling.determine_do_sep_z_and_axis.
  CheckSpacing(currentSpacing, "current");
  CheckSpacing(newSpacing, "new");
  std::vector<int> axes;
  if (forceSeparateZ.has_value())
  {
    if (!*forceSeparateZ)
    {
      return std::nullopt;
    }
    axes = LowResolutionAxes(currentSpacing);
  }
  else if (IsAnisotropic(currentSpacing, anisotropyThreshold))
  {
    axes = LowResolutionAxes(currentSpacing);
  }
  else if (IsAnisotropic(newSpacing, anisotropyThreshold))
  {
    axes = LowResolutionAxes(newSpacing);
  }
  // Two or three axes sharing the largest spacing (e.g. (0.24, 1.25, 1.25)): no separate axis.
  if (axes.size() != 1)
  {
    return std::nullopt;
  }
  return axes.front();
}

std::array<int64_t, 3>
ComputeNNUNetNewShape(const std::array<int64_t, 3> & shape, const std::array<double, 3> & oldSpacing,
                      const std::array<double, 3> & newSpacing)
{
  // As default_resampling.compute_new_shape: int(round(old / new * shape)); std::nearbyint in the
  // default rounding mode rounds halves to even, as Python's round() does.
  CheckSpacing(oldSpacing, "old");
  CheckSpacing(newSpacing, "new");
  std::array<int64_t, 3> result{};
  for (int a = 0; a < 3; ++a)
  {
    result[a] = static_cast<int64_t>(std::nearbyint(oldSpacing[a] / newSpacing[a] * static_cast<double>(shape[a])));
  }
  return result;
}

at::Tensor
ResampleLikeNNUNet(const at::Tensor & data, const std::array<int64_t, 3> & newShape,
                   const std::array<double, 3> & currentSpacing, const std::array<double, 3> & newSpacing, int order,
                   int orderZ, std::optional<bool> forceSeparateZ, double anisotropyThreshold)
{
  // As nnunetv2.preprocessing.resampling.default_resampling.resample_data_or_seg_to_shape and
  // resample_data_or_seg (is_seg False).
  if (data.dim() != 4 || !at::isFloatingType(data.scalar_type()))
  {
    throw std::invalid_argument("ResampleLikeNNUNet: data must be a floating-point [C, A0, A1, A2] tensor");
  }
  for (const int64_t n : newShape)
  {
    if (n < 1)
    {
      throw std::invalid_argument("ResampleLikeNNUNet: the new shape must be positive");
    }
  }
  CheckOrder(order, true, "order");
  CheckOrder(orderZ, false, "orderZ");
  const std::optional<int> separateAxis =
    DetermineNNUNetSeparateZAxis(forceSeparateZ, currentSpacing, newSpacing, anisotropyThreshold);

  const at::Tensor cpu = data.device().is_cpu() ? data : data.cpu();
  const int64_t    channels = cpu.size(0);
  if (cpu.size(1) == newShape[0] && cpu.size(2) == newShape[1] && cpu.size(3) == newShape[2])
  {
    return cpu.clone(); // upstream returns its input unchanged
  }
  at::Tensor result = at::empty({ channels, newShape[0], newShape[1], newShape[2] }, cpu.options());
  Scratch    scratch;
  for (int64_t c = 0; c < channels; ++c)
  {
    // upstream: data.astype(float); skimage and scipy then work in float64.
    const at::Tensor input = cpu[c];
    at::Tensor       channel = scratch.Take(input.sizes(), at::Tensor());
    channel.copy_(input);
    at::Tensor resized;
    if (!separateAxis)
    {
      // resize(clip=True): clip to the range of the whole channel.
      const auto [low, high] = InputRange(channel, { 0, 1, 2 });
      resized = ResizeAxes(channel, newShape, { 0, 1, 2 }, order, scratch);
      at::maximum_out(resized, resized, low);
      at::minimum_out(resized, resized, high);
    }
    else
    {
      const int        axis = *separateAxis;
      std::vector<int> inPlane;
      for (int a = 0; a < 3; ++a)
      {
        if (a != axis)
        {
          inPlane.push_back(a);
        }
      }
      // resize(clip=True) per slice: clip each slice to that slice's input range.
      const auto [low, high] = InputRange(channel, { inPlane[0], inPlane[1] });
      std::array<int64_t, 3> planeShape = newShape;
      planeShape[axis] = channel.size(axis);
      resized = ResizeAxes(channel, planeShape, inPlane, order, scratch);
      at::maximum_out(resized, resized, low);
      at::minimum_out(resized, resized, high);
      // Along the low-resolution axis: map_coordinates(order=orderZ, mode='nearest') on upstream's
      // coordinate map, which is the identity in-plane and (k + 0.5) * in / out - 0.5 along it.
      resized = ResizeAxes(resized, newShape, { axis }, orderZ, scratch);
    }
    result[c].copy_(resized);
  }
  return result;
}

} // namespace medseg
