// MONAI's spatial transforms (Orientation, Spacing, the resampling behind them) and Invertd.
// Each function names the MONAI 1.5 / nibabel function it follows; Testing/MONAI/NOTES.md
// sections 2-4 and 8 describe them. The matrix arithmetic goes through ATen's float64 LAPACK/BLAS
// calls (the same system libraries numpy uses here), so the grids come out as MONAI's do.
#include "medsegMONAITransforms.h"

#include "medsegError.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace medseg
{

namespace
{

/** monai.data.utils.AFFINE_TOL */
constexpr double kAffineTol = 1e-3;

/** nibabel's orientation array: voxel axis a points along world axis axis[a], toward the
 * positive end (R, A, S) when flip[a] is 1 and the negative end when it is -1. */
struct Orientation
{
  std::array<int, 3> axis{ 0, 1, 2 };
  std::array<int, 3> flip{ 1, 1, 1 };
};

/** The affine as a contiguous 4 x 4 float64 CPU tensor; throws for other shapes. */
at::Tensor
CheckedAffine(const at::Tensor & affine)
{
  if (!affine.defined() || affine.dim() != 2 || affine.size(0) != 4 || affine.size(1) != 4)
  {
    throw std::invalid_argument("MONAI transform: the affine must be a 4 x 4 matrix");
  }
  return affine.to(at::kCPU, at::kDouble).contiguous();
}

/** The data as [C, I, J, K] float32 contiguous; throws for other ranks. */
at::Tensor
CheckedData(const at::Tensor & data)
{
  if (!data.defined() || data.dim() != 4)
  {
    throw std::invalid_argument("MONAI transform: the data must be [C, I, J, K]");
  }
  return data.to(at::kCPU, at::kFloat).contiguous();
}

std::array<int64_t, 3>
ShapeOf(const at::Tensor & data)
{
  return { data.size(1), data.size(2), data.size(3) };
}

std::string
ShapeText(const std::array<int64_t, 3> & shape)
{
  std::ostringstream text;
  text << shape[0] << " x " << shape[1] << " x " << shape[2];
  return text.str();
}

/** np.linalg.solve(a, b): LAPACK gesv on `a` in column-major order. (ATen's linalg_solve factors
 * the transpose of a row-major matrix instead, which rounds differently.) */
at::Tensor
NumpySolve(const at::Tensor & a, const at::Tensor & b)
{
  return at::linalg_solve(a.transpose(-2, -1).contiguous().transpose(-2, -1), b);
}

/** np.linalg.inv(a): gesv against the identity, as numpy does it. */
at::Tensor
NumpyInverse(const at::Tensor & a)
{
  return NumpySolve(a, at::eye(a.size(-1), a.options()).expand_as(a).contiguous());
}

/** nibabel.orientations.io_orientation: the column-normalised 3 x 3 part, its closest orthogonal
 * matrix P Q^T from the SVD (singular values above S.max * 3 * eps), then for the voxel axes in
 * turn the world axis of the largest |entry| (first on ties), whose row is zeroed afterwards. */
Orientation
IoOrientation(const at::Tensor & affine)
{
  const at::Tensor rzs = affine.slice(0, 0, 3).slice(1, 0, 3);
  at::Tensor       zooms = rzs.mul(rzs).sum(0).sqrt();
  zooms = at::where(zooms == 0, at::ones_like(zooms), zooms);
  const at::Tensor rs = rzs / zooms;
  const auto       svd = at::linalg_svd(rs, /*full_matrices=*/false);
  const at::Tensor s = std::get<1>(svd);
  const double     tol = s.max().item<double>() * 3.0 * std::numeric_limits<double>::epsilon();
  const at::Tensor keep = (s > tol).nonzero().flatten();
  at::Tensor       r = at::matmul(std::get<0>(svd).index_select(1, keep), std::get<2>(svd).index_select(0, keep));
  r = r.contiguous();
  auto        m = r.accessor<double, 2>();
  Orientation ornt;
  for (int in = 0; in < 3; ++in)
  {
    int    out = 0;
    double best = -1.0;
    bool   allZero = true;
    for (int w = 0; w < 3; ++w)
    {
      allZero = allZero && std::abs(m[w][in]) <= 1e-8; // np.allclose(col, 0)
      if (std::abs(m[w][in]) > best)
      {
        best = std::abs(m[w][in]);
        out = w;
      }
    }
    if (allZero)
    {
      throw InputError("affine", "voxel axis " + std::to_string(in) + " has no direction (degenerate affine)");
    }
    ornt.axis[in] = out;
    ornt.flip[in] = m[out][in] < 0 ? -1 : 1;
    for (int c = 0; c < 3; ++c)
    {
      m[out][c] = 0.0;
    }
  }
  return ornt;
}

/** nibabel.orientations.axcodes2ornt with MONAI's labels (("L","R"),("P","A"),("I","S")). */
Orientation
AxcodesToOrientation(const std::string & axcodes)
{
  static const char * const kLabels[3] = { "LR", "PA", "IS" };
  Orientation               ornt;
  std::array<bool, 3>       used{ false, false, false };
  bool                      valid = axcodes.size() == 3;
  for (size_t a = 0; valid && a < 3; ++a)
  {
    valid = false;
    for (int w = 0; w < 3; ++w)
    {
      const char * pos = std::strchr(kLabels[w], axcodes[a]);
      if (axcodes[a] != '\0' && pos != nullptr && !used[w])
      {
        used[w] = true;
        ornt.axis[a] = w;
        ornt.flip[a] = pos == kLabels[w] ? -1 : 1;
        valid = true;
        break;
      }
    }
  }
  if (!valid)
  {
    throw std::invalid_argument("Orientation: axcodes \"" + axcodes +
                                "\" must be three letters, one of L/R, one of P/A and one of I/S");
  }
  return ornt;
}

/** nibabel.orientations.ornt_transform(start, end): for every start axis, the end axis of the same
 * world axis, flipped when the two point in opposite directions. */
Orientation
OrientationTransform(const Orientation & start, const Orientation & end)
{
  Orientation result;
  for (int e = 0; e < 3; ++e)
  {
    for (int s = 0; s < 3; ++s)
    {
      if (start.axis[s] == end.axis[e])
      {
        result.axis[s] = e;
        result.flip[s] = start.flip[s] == end.flip[e] ? 1 : -1;
        break;
      }
    }
  }
  return result;
}

/** monai.networks.utils.normalize_transform(shape, align_corners=False) as a 4 x 4 matrix:
 * [diag(2 / n) | 1 / n - 1], shapes <= 0 taken as 2. */
at::Tensor
NormalizeTransform(const std::array<int64_t, 3> & shape)
{
  at::Tensor m = at::eye(4, at::kDouble);
  auto       a = m.accessor<double, 2>();
  for (int i = 0; i < 3; ++i)
  {
    const double n = shape[i] <= 0 ? 2.0 : static_cast<double>(shape[i]);
    a[i][i] = 2.0 / n;
    a[i][3] = 1.0 / static_cast<double>(shape[i]) - 1.0;
  }
  return m;
}

int64_t
InterpolationCode(const std::string & mode)
{
  if (mode == "bilinear")
  {
    return 0; // at::native::GridSamplerInterpolation::Bilinear (trilinear for 5-D input)
  }
  if (mode == "nearest")
  {
    return 1;
  }
  throw std::invalid_argument("MONAI resampling: mode \"" + mode + "\" is not \"bilinear\" or \"nearest\"");
}

int64_t
PaddingCode(const std::string & paddingMode)
{
  if (paddingMode == "zeros")
  {
    return 0; // at::native::GridSamplerPadding
  }
  if (paddingMode == "border")
  {
    return 1;
  }
  if (paddingMode == "reflection")
  {
    return 2;
  }
  throw std::invalid_argument("MONAI resampling: padding mode \"" + paddingMode +
                              "\" is not \"border\", \"zeros\" or \"reflection\"");
}

/** monai.data.utils.zoom_affine(affine, pixdim, diagonal=False): the rotation of the affine
 * (rzs inv(chol(rzs^T rzs)^T)) with its zooms replaced by pixdim (signs of chol's diagonal). */
at::Tensor
ZoomAffine(const at::Tensor & affine, const std::array<double, 3> & pixdim)
{
  const at::Tensor rzs = affine.slice(0, 0, 3).slice(1, 0, 3);
  const at::Tensor zs = at::linalg_cholesky(at::matmul(rzs.t(), rzs)).t();
  const at::Tensor rotation = at::matmul(rzs, NumpyInverse(zs));
  at::Tensor       scale = at::tensor({ pixdim[0], pixdim[1], pixdim[2] }, at::kDouble);
  scale = at::sign(at::diagonal(zs)) * at::abs(scale);
  at::Tensor result = at::eye(4, at::kDouble);
  result.slice(0, 0, 3).slice(1, 0, 3).copy_(at::matmul(rotation, at::diag(scale)));
  return result;
}

/** monai.data.utils.compute_shape_offset(shape, in, out, scale_extent=False): the 8 corner voxel
 * centres mapped into the output grid; the shape is round(ptp + 1) (half to even); the offset is
 * the world position of the input corner that is smallest on every output axis, else centre
 * alignment. Returns the output shape and writes the offset into out's last column. */
std::array<int64_t, 3>
ComputeShapeOffset(const std::array<int64_t, 3> & shape, const at::Tensor & in, at::Tensor & out)
{
  at::Tensor corners = at::ones({ 4, 8 }, at::kDouble);
  auto       c = corners.accessor<double, 2>();
  for (int k = 0; k < 8; ++k)
  {
    for (int a = 0; a < 3; ++a)
    {
      c[a][k] = (k >> (2 - a)) & 1 ? static_cast<double>(shape[a]) - 1.0 : 0.0; // meshgrid "ij"
    }
  }
  const at::Tensor       dist = at::matmul(NumpySolve(out, in), corners).contiguous();
  const at::Tensor       world = at::matmul(in, corners).contiguous();
  const at::Tensor       projected = (dist.slice(0, 0, 3) / dist.slice(0, 3, 4)).contiguous();
  const auto             p = projected.accessor<double, 2>();
  const auto             d = dist.accessor<double, 2>();
  std::array<int64_t, 3> outShape{};
  for (int a = 0; a < 3; ++a)
  {
    double lo = p[a][0], hi = p[a][0];
    for (int k = 1; k < 8; ++k)
    {
      lo = std::min(lo, p[a][k]);
      hi = std::max(hi, p[a][k]);
    }
    outShape[a] = static_cast<int64_t>(std::nearbyint(hi - lo + 1.0)); // np.round: half to even
  }
  for (int k = 0; k < 8; ++k)
  {
    bool smallest = true;
    for (int a = 0; a < 3 && smallest; ++a)
    {
      double low = d[a][0] - d[a][k];
      for (int j = 1; j < 8; ++j)
      {
        low = std::min(low, d[a][j] - d[a][k]);
      }
      smallest = std::abs(low) <= 1e-8; // np.allclose(min_corner, 0.0, rtol=AFFINE_TOL)
    }
    if (smallest)
    {
      out.slice(0, 0, 3).select(1, 3).copy_(world.slice(0, 0, 3).select(1, k));
      return outShape;
    }
  }
  const at::Tensor half = at::tensor({ shape[0] / 2.0, shape[1] / 2.0, shape[2] / 2.0 }, at::kDouble);
  const at::Tensor outHalf = at::tensor({ outShape[0] / 2.0, outShape[1] / 2.0, outShape[2] / 2.0 }, at::kDouble);
  const at::Tensor offset = at::matmul(in.slice(0, 0, 3).slice(1, 0, 3), half) + in.slice(0, 0, 3).select(1, 3) -
                            at::matmul(out.slice(0, 0, 3).slice(1, 0, 3), outHalf);
  out.slice(0, 0, 3).select(1, 3).copy_(offset);
  return outShape;
}

/** spatial_resample's affine_unchanged: same shape and allclose(src, dst, atol 1e-3) or
 * allclose(xform, I, atol 1e-3) (rtol 1e-5). */
bool
AffineUnchanged(const at::Tensor & src, const at::Tensor & dst, const at::Tensor & xform,
                const std::array<int64_t, 3> & outShape, const std::array<int64_t, 3> & inShape)
{
  return outShape == inShape &&
         (at::allclose(src, dst, 1e-5, kAffineTol) || at::allclose(xform, at::eye(4, at::kDouble), 1e-5, kAffineTol));
}

/** monai.transforms.spatial.functional.spatial_resample from `srcAffine` onto (dstAffine,
 * outShape): xform = solve(src, dst), nothing done when affine_unchanged. */
at::Tensor
SpatialResample(const at::Tensor & data, const at::Tensor & srcAffine, const at::Tensor & dstAffine,
                const std::array<int64_t, 3> & outShape, const std::string & mode, const std::string & paddingMode,
                bool * resampled)
{
  const at::Tensor xform = NumpySolve(srcAffine, dstAffine);
  *resampled = !AffineUnchanged(srcAffine, dstAffine, xform, outShape, ShapeOf(data));
  return *resampled ? MONAIResample(data, xform, outShape, mode, paddingMode) : data;
}

} // namespace

std::string
MONAIAxcodes(const at::Tensor & affine)
{
  static const char * const kLabels[3] = { "LR", "PA", "IS" };
  const Orientation         ornt = IoOrientation(CheckedAffine(affine));
  std::string               codes;
  for (int a = 0; a < 3; ++a)
  {
    codes += kLabels[ornt.axis[a]][ornt.flip[a] == 1 ? 1 : 0]; // nibabel ornt2axcodes
  }
  return codes;
}

MONAIImage
MONAIOrientation(const MONAIImage & image, const std::string & axcodes, MONAIAppliedOperation * applied)
{
  const Orientation            target = AxcodesToOrientation(axcodes);
  const at::Tensor             affine = CheckedAffine(image.affine);
  const at::Tensor             data = CheckedData(image.data);
  const std::array<int64_t, 3> shape = ShapeOf(data);
  const Orientation            ornt = OrientationTransform(IoOrientation(affine), target);

  // nibabel.orientations.inv_ornt_aff(ornt, shape): new voxel index -> old voxel index.
  at::Tensor           toOld = at::zeros({ 4, 4 }, at::kDouble);
  auto                 m = toOld.accessor<double, 2>();
  std::vector<int64_t> flips;
  std::vector<int64_t> permutation(4, 0);
  for (int a = 0; a < 3; ++a)
  {
    m[a][ornt.axis[a]] = static_cast<double>(ornt.flip[a]);
    m[a][3] = ornt.flip[a] == -1 ? static_cast<double>(shape[a] - 1) : 0.0;
    if (ornt.flip[a] == -1)
    {
      flips.push_back(1 + a);
    }
    permutation[1 + ornt.axis[a]] = 1 + a; // argsort(ornt[:, 0])
  }
  m[3][3] = 1.0;

  if (applied != nullptr)
  {
    *applied = MONAIAppliedOperation{};
    applied->kind = MONAIAppliedOperation::Kind::Orientation;
    applied->affineBefore = affine.clone();
    applied->shapeBefore = shape;
  }
  // spatial.functional.orientation: flip first, then transpose.
  at::Tensor out = flips.empty() ? data : at::flip(data, flips);
  out = out.permute(permutation).contiguous();
  return MONAIImage{ out, at::matmul(affine, toOld) };
}

at::Tensor
MONAIResample(const at::Tensor & data, const at::Tensor & xform, const std::array<int64_t, 3> & outShape,
              const std::string & mode, const std::string & paddingMode)
{
  const int64_t interpolation = InterpolationCode(mode);
  const int64_t padding = PaddingCode(paddingMode);
  if (outShape[0] <= 0 || outShape[1] <= 0 || outShape[2] <= 0)
  {
    throw std::invalid_argument("MONAI resampling: output shape " + ShapeText(outShape) + " is empty");
  }
  const at::Tensor src = CheckedData(data).to(at::kDouble).unsqueeze(0);
  // networks.utils.to_norm_affine(xform, src, dst, align_corners=False), batched as there:
  // (S(src) @ xform) @ inv(S(dst)).
  const at::Tensor srcNorm = NormalizeTransform(ShapeOf(data)).unsqueeze(0);
  const at::Tensor dstNormInverse = NumpyInverse(NormalizeTransform(outShape).unsqueeze(0));
  at::Tensor       theta = at::matmul(at::matmul(srcNorm, CheckedAffine(xform).unsqueeze(0)), dstNormInverse);
  // AffineTransform(reverse_indexing=True): torch's grid x is the last array axis.
  const at::Tensor reverse = at::tensor({ 2, 1, 0, 3 }, at::kLong);
  theta = theta.index_select(1, reverse).index_select(2, reverse).slice(1, 0, 3).contiguous();
  const at::Tensor grid =
    at::affine_grid_generator(theta, { 1, src.size(1), outShape[0], outShape[1], outShape[2] }, false);
  return at::grid_sampler(src, grid, interpolation, padding, false).squeeze(0).to(at::kFloat).contiguous();
}

MONAIImage
MONAISpacing(const MONAIImage & image, const std::vector<double> & pixdim, const std::string & mode,
             const std::string & paddingMode, MONAIAppliedOperation * applied)
{
  InterpolationCode(mode);
  PaddingCode(paddingMode);
  if (pixdim.empty())
  {
    throw std::invalid_argument("Spacing: pixdim is empty");
  }
  const at::Tensor             affine = CheckedAffine(image.affine);
  const at::Tensor             data = CheckedData(image.data);
  const std::array<int64_t, 3> shape = ShapeOf(data);

  // Spacing.__call__: pad pixdim with its last value; an input spacing within AFFINE_TOL of the
  // target is kept (the min_pixdim/max_pixdim rule with both unset); zoom_affine then replaces
  // values <= 0 by the input spacing (fall_back_tuple) and 0 by 1.
  const at::Tensor      rzs = affine.slice(0, 0, 3).slice(1, 0, 3);
  const at::Tensor      norms = rzs.mul(rzs).sum(0).sqrt().contiguous(); // affine_to_spacing
  std::array<double, 3> target{};
  for (size_t a = 0; a < 3; ++a)
  {
    const double wanted = pixdim[std::min(a, pixdim.size() - 1)];
    const double current = norms[a].item<double>();
    double       d = wanted - kAffineTol <= current && current <= wanted + kAffineTol ? current : wanted;
    d = d > 0.0 ? d : current;
    target[a] = d == 0.0 ? 1.0 : d;
  }
  at::Tensor                   newAffine = ZoomAffine(affine, target);
  const std::array<int64_t, 3> outShape = ComputeShapeOffset(shape, affine, newAffine);

  bool             resampled = false;
  const at::Tensor out = SpatialResample(data, affine, newAffine, outShape, mode, paddingMode, &resampled);
  if (applied != nullptr)
  {
    *applied = MONAIAppliedOperation{};
    applied->kind = MONAIAppliedOperation::Kind::Spacing;
    applied->changedImage = resampled;
    applied->affineBefore = affine.clone();
    applied->shapeBefore = shape;
    applied->mode = mode;
    applied->paddingMode = paddingMode;
  }
  return resampled ? MONAIImage{ out, newAffine } : MONAIImage{ data, affine.clone() };
}

MONAIImage
MONAIInvert(const MONAIImage & prediction, const std::vector<MONAIAppliedOperation> & applied, bool nearestInterp)
{
  MONAIImage current{ CheckedData(prediction.data), CheckedAffine(prediction.affine) };
  for (auto op = applied.rbegin(); op != applied.rend(); ++op)
  {
    const std::array<int64_t, 3> shape = ShapeOf(current.data);
    const at::Tensor             before = CheckedAffine(op->affineBefore);
    switch (op->kind)
    {
      case MONAIAppliedOperation::Kind::CropForeground:
      {
        // CropForeground.inverse: the padding cropped off, then zero-padded back.
        std::array<int64_t, 3> boxShape{};
        for (int a = 0; a < 3; ++a)
        {
          boxShape[a] = op->cropEnd[a] - op->cropStart[a];
        }
        if (shape != boxShape)
        {
          throw InputError("prediction",
                           "is " + ShapeText(shape) + " where the foreground crop made " + ShapeText(boxShape));
        }
        at::Tensor out = at::zeros({ current.data.size(0), op->shapeBefore[0], op->shapeBefore[1], op->shapeBefore[2] },
                                   current.data.options());
        at::Tensor to = out;
        at::Tensor from = current.data;
        at::Tensor padShift = at::eye(4, at::kDouble);
        at::Tensor cropShift = at::eye(4, at::kDouble);
        for (int a = 0; a < 3; ++a)
        {
          const int64_t lo = std::max<int64_t>(op->cropStart[a], 0);
          const int64_t hi = std::min(op->cropEnd[a], op->shapeBefore[a]);
          to = to.slice(1 + a, lo, std::max(hi, lo));
          from = from.slice(1 + a, lo - op->cropStart[a], std::max(hi, lo) - op->cropStart[a]);
          padShift[a][3] = static_cast<double>(lo - op->cropStart[a]);
          cropShift[a][3] = static_cast<double>(-lo);
        }
        to.copy_(from);
        // The affine as MONAI's two inverses chain it (@ T(pad before) @ T(-crop start)), so that a
        // Spacing inverse after it resamples with MONAI's xform to the last bit.
        current = MONAIImage{ out, at::matmul(at::matmul(current.affine, padShift), cropShift) };
        break;
      }
      case MONAIAppliedOperation::Kind::Spacing:
      {
        // SpatialResample.inverse: back onto the grid before Spacing (skipped when it did not
        // resample); nearest_interp replaces the mode.
        if (!op->changedImage)
        {
          break;
        }
        bool resampled = false;
        current.data = SpatialResample(current.data, current.affine, before, op->shapeBefore,
                                       nearestInterp ? std::string("nearest") : op->mode, op->paddingMode, &resampled);
        current.affine = before;
        break;
      }
      case MONAIAppliedOperation::Kind::Orientation:
      {
        // Orientation.inverse: Orientation(axcodes = aff2axcodes(original affine)).
        current = MONAIOrientation(current, MONAIAxcodes(before), nullptr);
        if (ShapeOf(current.data) != op->shapeBefore)
        {
          throw InputError("prediction", "does not reorient back to " + ShapeText(op->shapeBefore));
        }
        current.affine = before;
        break;
      }
    }
  }
  return current;
}

} // namespace medseg
