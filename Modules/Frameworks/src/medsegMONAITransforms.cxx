// MONAI's MetaTensor view of ITK images, its intensity transforms, CropForeground and
// KeepLargestConnectedComponent. Each function names the MONAI 1.5 function it follows;
// Testing/MONAI/NOTES.md sections 1, 5, 6 and 8 describe them. The spatial transforms are in
// medsegMONAISpatial.cxx.
#include "medsegMONAITransforms.h"

#include "medsegNiftiHeader.h"

#include "medsegError.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace medseg
{

namespace
{

/** The spatial shape of a [C, I, J, K] tensor. */
std::array<int64_t, 3>
ShapeOf(const at::Tensor & data)
{
  return { data.size(1), data.size(2), data.size(3) };
}

/** Brings `image.data` to [C, I, J, K] float32 contiguous (the in-place transforms work on it). */
void
PrepareData(MONAIImage & image, const char * transform)
{
  if (!image.data.defined() || image.data.dim() != 4)
  {
    throw std::invalid_argument(std::string(transform) + ": the data must be [C, I, J, K]");
  }
  image.data = image.data.to(at::kCPU, at::kFloat).contiguous();
}

/** ImageToImageFilter's tolerances for "the same grid": 1e-6 of the first spacing for origin and
 * spacing, 1e-6 for the direction cosines. */
bool
SameGrid(const FloatImage3 * a, const FloatImage3 * b)
{
  if (a->GetLargestPossibleRegion().GetSize() != b->GetLargestPossibleRegion().GetSize())
  {
    return false;
  }
  const double coordinateTolerance = 1e-6 * std::abs(a->GetSpacing()[0]);
  for (unsigned int i = 0; i < 3; ++i)
  {
    if (std::abs(a->GetSpacing()[i] - b->GetSpacing()[i]) > coordinateTolerance ||
        std::abs(a->GetOrigin()[i] - b->GetOrigin()[i]) > coordinateTolerance)
    {
      return false;
    }
    for (unsigned int j = 0; j < 3; ++j)
    {
      if (std::abs(a->GetDirection()(i, j) - b->GetDirection()(i, j)) > 1e-6)
      {
        return false;
      }
    }
  }
  return true;
}

/** Union-find root with path halving; the root of a set is its smallest index. */
uint32_t
Root(std::vector<uint32_t> & parent, uint32_t k)
{
  while (parent[k] != k)
  {
    parent[k] = parent[parent[k]];
    k = parent[k];
  }
  return k;
}

/** The neighbour offsets (di, dj, dk) that come before (0, 0, 0) in raster order and take at most
 * `connectivity` orthogonal hops (scipy generate_binary_structure(3, connectivity), one half). */
std::vector<std::array<int64_t, 3>>
EarlierNeighbours(int connectivity)
{
  std::vector<std::array<int64_t, 3>> offsets;
  for (int64_t di = -1; di <= 1; ++di)
  {
    for (int64_t dj = -1; dj <= 1; ++dj)
    {
      for (int64_t dk = -1; dk <= 1; ++dk)
      {
        const int  hops = (di != 0) + (dj != 0) + (dk != 0);
        const bool earlier = di < 0 || (di == 0 && (dj < 0 || (dj == 0 && dk < 0)));
        if (earlier && hops <= connectivity)
        {
          offsets.push_back({ di, dj, dk });
        }
      }
    }
  }
  return offsets;
}

} // namespace

std::array<int64_t, 3>
MONAIImage::SpatialShape() const
{
  if (!data.defined() || data.dim() != 4)
  {
    throw std::invalid_argument("MONAIImage: the data must be [C, I, J, K]");
  }
  return ShapeOf(data);
}

MONAIImage
MONAIImageFromChannels(const std::vector<FloatImage3::Pointer> & channels)
{
  if (channels.empty() || channels.front().IsNull())
  {
    throw InputError("image", "has no channels");
  }
  const FloatImage3 *         first = channels.front().GetPointer();
  const FloatImage3::SizeType size = first->GetLargestPossibleRegion().GetSize();
  const int64_t               nx = size[0], ny = size[1], nz = size[2];
  at::Tensor                  data = at::empty({ static_cast<int64_t>(channels.size()), nx, ny, nz }, at::kFloat);
  for (size_t c = 0; c < channels.size(); ++c)
  {
    const FloatImage3 * channel = channels[c].GetPointer();
    if (channel == nullptr || !SameGrid(first, channel))
    {
      throw InputError("channel " + std::to_string(c), "is not on the grid of channel 0 (size, spacing, origin and "
                                                       "direction must agree)");
    }
    if (channel->GetBufferedRegion() != channel->GetLargestPossibleRegion())
    {
      throw InputError("channel " + std::to_string(c), "is not fully in memory");
    }
    // ITK's buffer is x fastest: viewed as [Z, Y, X], transposed to MONAI's [I, J, K].
    const at::Tensor buffer =
      at::from_blob(const_cast<float *>(channel->GetBufferPointer()), { nz, ny, nx }, at::kFloat);
    data[static_cast<int64_t>(c)].copy_(buffer.permute({ 2, 1, 0 }));
  }
  // NibabelReader's affine: RAS = diag(-1, -1, 1, 1) [D diag(spacing) | origin] (LPS).
  at::Tensor affine = at::eye(4, at::kDouble);
  auto       a = affine.accessor<double, 2>();
  for (unsigned int r = 0; r < 3; ++r)
  {
    const double sign = r < 2 ? -1.0 : 1.0;
    for (unsigned int c = 0; c < 3; ++c)
    {
      a[r][c] = sign * (first->GetDirection()(r, c) * first->GetSpacing()[c]);
    }
    a[r][3] = sign * first->GetOrigin()[r];
  }
  return MONAIImage{ data, affine };
}

std::optional<at::Tensor>
ReadNibabelAffine(const std::string & path)
{
  const std::optional<Nifti1Header> header = ReadNifti1Header(path);
  const auto affine = header ? NibabelAffine(*header) : std::nullopt;
  if (!affine)
    return std::nullopt;
  return at::tensor(std::vector<double>(affine->begin(), affine->end()), at::kDouble).view({ 4, 4 }).clone();
}

LabelImage3::Pointer
MONAILabelsToImage(const at::Tensor & labels, const at::Tensor & affine)
{
  if (!labels.defined() || !(labels.dim() == 3 || (labels.dim() == 4 && labels.size(0) == 1)))
  {
    throw std::invalid_argument("MONAILabelsToImage: the labels must be [I, J, K] (or [1, I, J, K])");
  }
  if (!affine.defined() || affine.dim() != 2 || affine.size(0) != 4 || affine.size(1) != 4)
  {
    throw std::invalid_argument("MONAILabelsToImage: the affine must be a 4 x 4 matrix");
  }
  const at::Tensor values = (labels.dim() == 4 ? labels[0] : labels).to(at::kCPU);
  if (values.numel() > 0)
  {
    const at::Tensor asDouble = values.to(at::kDouble);
    const double     lo = asDouble.min().item<double>();
    const double     hi = asDouble.max().item<double>();
    if (!(lo >= 0.0 && hi <= std::numeric_limits<LabelImage3::PixelType>::max()) ||
        !at::equal(asDouble, asDouble.round()))
    {
      throw InputError("labels", "are not integers in [0, 65535]");
    }
  }
  const at::Tensor lps = affine.to(at::kCPU, at::kDouble).contiguous();
  const auto       m = lps.accessor<double, 2>();

  LabelImage3::SpacingType   spacing;
  LabelImage3::PointType     origin;
  LabelImage3::DirectionType direction;
  for (unsigned int c = 0; c < 3; ++c)
  {
    double norm = 0.0;
    for (unsigned int r = 0; r < 3; ++r)
    {
      norm += m[r][c] * m[r][c];
    }
    norm = std::sqrt(norm);
    if (!(norm > 0.0) || !std::isfinite(norm))
    {
      throw InputError("affine", "voxel axis " + std::to_string(c) + " has no length");
    }
    spacing[c] = norm;
    for (unsigned int r = 0; r < 3; ++r)
    {
      direction(r, c) = (r < 2 ? -m[r][c] : m[r][c]) / norm; // RAS -> LPS
    }
  }
  for (unsigned int r = 0; r < 3; ++r)
  {
    origin[r] = r < 2 ? -m[r][3] : m[r][3];
  }

  LabelImage3::SizeType size;
  for (unsigned int i = 0; i < 3; ++i)
  {
    size[i] = static_cast<LabelImage3::SizeValueType>(values.size(i));
  }
  auto image = LabelImage3::New();
  image->SetRegions(LabelImage3::RegionType(size));
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  const at::Tensor         xFastest = values.to(at::kInt).permute({ 2, 1, 0 }).contiguous();
  const int32_t *          from = xFastest.data_ptr<int32_t>();
  LabelImage3::PixelType * to = image->GetBufferPointer();
  for (int64_t k = 0; k < xFastest.numel(); ++k)
  {
    to[k] = static_cast<LabelImage3::PixelType>(from[k]);
  }
  return image;
}

void
MONAIScaleIntensity(MONAIImage & image, std::optional<double> minv, std::optional<double> maxv,
                    std::optional<double> factor, bool channelWise)
{
  PrepareData(image, "ScaleIntensity");
  // ScaleIntensity.__call__ and transforms.utils.rescale_array, in float32 as torch computes them.
  const auto rescale = [&](const at::Tensor & x) -> at::Tensor {
    const at::Tensor lo = x.min(), hi = x.max();
    if (lo.item<float>() == hi.item<float>())
      return minv ? x.mul(*minv) : x.clone();
    const at::Tensor norm = (x - lo) / (hi - lo);
    return minv && maxv ? norm.mul(*maxv - *minv).add(*minv) : norm;
  };
  if (minv || maxv)
  {
    if (channelWise)
    {
      std::vector<at::Tensor> channels;
      for (int64_t c = 0; c < image.data.size(0); ++c)
        channels.push_back(rescale(image.data[c]));
      image.data = at::stack(channels).contiguous();
    }
    else
      image.data = rescale(image.data).contiguous();
  }
  else if (factor)
    image.data = image.data.mul(1.0 + *factor).contiguous();
}

void
MONAIScaleIntensityRange(MONAIImage & image, double aMin, double aMax, std::optional<double> bMin,
                         std::optional<double> bMax, bool clip)
{
  PrepareData(image, "ScaleIntensityRange");
  // ScaleIntensityRange.__call__, with torch's float32 arithmetic (the scalars as there).
  if (aMax - aMin == 0.0)
  {
    // MONAI warns "Divide by zero" and only shifts.
    image.data = bMin ? image.data.sub(aMin).add(*bMin) : image.data.sub(aMin);
    return;
  }
  at::Tensor x = image.data.sub(aMin).div(aMax - aMin);
  if (bMin && bMax)
  {
    x = x.mul(*bMax - *bMin).add(*bMin);
  }
  if (clip)
  {
    const c10::optional<at::Scalar> lo = bMin ? c10::optional<at::Scalar>(*bMin) : c10::nullopt;
    const c10::optional<at::Scalar> hi = bMax ? c10::optional<at::Scalar>(*bMax) : c10::nullopt;
    if (lo || hi)
    {
      x = at::clamp(x, lo, hi);
    }
  }
  image.data = x.contiguous();
}

void
MONAINormalizeIntensity(MONAIImage & image, bool nonzero, bool channelWise)
{
  PrepareData(image, "NormalizeIntensity");
  // NormalizeIntensity._normalize: torch.mean and torch.std(unbiased=False) over the mask in
  // float32, both taken as Python floats; std 0 -> 1; only masked voxels change.
  const auto normalize = [nonzero](at::Tensor x) {
    if (nonzero)
    {
      const at::Tensor mask = x != 0;
      if (!mask.any().item<bool>())
      {
        return;
      }
      const at::Tensor masked = x.masked_select(mask);
      const double     mean = masked.mean().item<double>();
      double           std = masked.std(/*unbiased=*/false).item<double>();
      std = std == 0.0 ? 1.0 : std;
      x.masked_scatter_(mask, masked.sub(mean).div(std));
    }
    else
    {
      const double mean = x.mean().item<double>();
      double       std = x.std(/*unbiased=*/false).item<double>();
      std = std == 0.0 ? 1.0 : std;
      x.copy_(x.sub(mean).div(std));
    }
  };
  if (channelWise)
  {
    for (int64_t c = 0; c < image.data.size(0); ++c)
    {
      normalize(image.data[c]);
    }
  }
  else
  {
    normalize(image.data);
  }
}

MONAIImage
MONAICropForeground(const MONAIImage & image, const std::array<int64_t, 3> & margin, bool allowSmaller,
                    const std::array<int64_t, 3> & kDivisible, MONAIAppliedOperation * applied)
{
  if (!image.data.defined() || image.data.dim() != 4)
  {
    throw std::invalid_argument("CropForeground: the data must be [C, I, J, K]");
  }
  for (const int64_t m : margin)
  {
    if (m < 0)
    {
      throw std::invalid_argument("CropForeground: margin values must not be negative");
    }
  }
  const at::Tensor             data = image.data.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor             affine = image.affine.to(at::kCPU, at::kDouble).contiguous();
  const std::array<int64_t, 3> shape = ShapeOf(data);
  // generate_spatial_bounding_box(select_fn = is_positive, any over channels).
  const at::Tensor foreground = (data > 0).any(0);
  if (!foreground.any().item<bool>())
  {
    throw InputError("image", "has no foreground (no voxel > 0) for CropForeground");
  }
  std::array<int64_t, 3> start{}, end{};
  for (int a = 0; a < 3; ++a)
  {
    at::Tensor projection = foreground;
    for (int b = 2; b >= 0; --b)
    {
      projection = b == a ? projection : projection.any(b);
    }
    const at::Tensor present = projection.nonzero().flatten();
    start[a] = present[0].item<int64_t>() - margin[a];
    end[a] = present[-1].item<int64_t>() + margin[a] + 1;
    if (allowSmaller)
    {
      start[a] = std::max<int64_t>(start[a], 0);
      end[a] = std::min(end[a], shape[a]);
    }
    // compute_bounding_box: grow to a multiple of k, half (floored) before the box.
    const int64_t k = kDivisible[a];
    if (k > 0)
    {
      const int64_t size = end[a] - start[a];
      const int64_t grown = (size + k - 1) / k * k;
      start[a] -= (grown - size) / 2;
      end[a] = start[a] + grown;
    }
  }
  // crop_pad: crop the in-image part, zero-pad the rest; affine @ T(crop start) @ T(-pad before).
  at::Tensor out = at::zeros({ data.size(0), end[0] - start[0], end[1] - start[1], end[2] - start[2] }, data.options());
  at::Tensor to = out;
  at::Tensor from = data;
  at::Tensor cropShift = at::eye(4, at::kDouble);
  at::Tensor padShift = at::eye(4, at::kDouble);
  for (int a = 0; a < 3; ++a)
  {
    const int64_t lo = std::max<int64_t>(start[a], 0);
    const int64_t hi = std::max(std::min(end[a], shape[a]), lo);
    from = from.slice(1 + a, lo, hi);
    to = to.slice(1 + a, lo - start[a], hi - start[a]);
    cropShift[a][3] = static_cast<double>(lo);
    padShift[a][3] = static_cast<double>(start[a] - lo);
  }
  to.copy_(from);
  if (applied != nullptr)
  {
    *applied = MONAIAppliedOperation{};
    applied->kind = MONAIAppliedOperation::Kind::CropForeground;
    applied->affineBefore = affine.clone();
    applied->shapeBefore = shape;
    applied->cropStart = start;
    applied->cropEnd = end;
  }
  return MONAIImage{ out, at::matmul(at::matmul(affine, cropShift), padShift) };
}

at::Tensor
MONAIKeepLargestConnectedComponent(const at::Tensor & labels, const std::vector<int64_t> & appliedLabels,
                                   int connectivity)
{
  if (connectivity < 1 || connectivity > 3)
  {
    throw std::invalid_argument("KeepLargestConnectedComponent: connectivity must be 1, 2 or 3");
  }
  if (!labels.defined() || labels.dim() != 3)
  {
    throw std::invalid_argument("KeepLargestConnectedComponent: the labels must be [I, J, K]");
  }
  const at::Tensor values = labels.to(at::kCPU).contiguous();
  const int64_t    n0 = values.size(0), n1 = values.size(1), n2 = values.size(2);
  const int64_t    count = values.numel();
  if (count >= static_cast<int64_t>(std::numeric_limits<uint32_t>::max()))
  {
    throw InputError("labels", "have too many voxels for KeepLargestConnectedComponent");
  }
  // Which applied label (1-based) each voxel holds; 0: none.
  std::vector<at::Scalar> applied;
  if (appliedLabels.empty())
  {
    const at::Tensor unique = std::get<0>(at::_unique(values, /*sorted=*/true));
    for (int64_t i = 0; i < unique.numel(); ++i)
    {
      if (unique[i].item<double>() != 0.0)
      {
        applied.push_back(unique[i].item());
      }
    }
  }
  else
  {
    for (const int64_t label : appliedLabels)
    {
      applied.emplace_back(label);
    }
  }
  at::Tensor code = at::zeros({ n0, n1, n2 }, at::kInt);
  for (size_t l = 0; l < applied.size(); ++l)
  {
    code.masked_fill_(values == applied[l], static_cast<int>(l + 1));
  }
  const int32_t * cls = code.data_ptr<int32_t>();

  // Union-find over the voxels: a voxel joins every earlier neighbour of the same label.
  std::vector<uint32_t> parent(static_cast<size_t>(count));
  const auto            offsets = EarlierNeighbours(connectivity);
  for (int64_t i = 0, p = 0; i < n0; ++i)
  {
    for (int64_t j = 0; j < n1; ++j)
    {
      for (int64_t k = 0; k < n2; ++k, ++p)
      {
        parent[p] = static_cast<uint32_t>(p);
        if (cls[p] == 0)
        {
          continue;
        }
        for (const auto & o : offsets)
        {
          const int64_t ni = i + o[0], nj = j + o[1], nk = k + o[2];
          if (ni < 0 || nj < 0 || nk < 0 || nj >= n1 || nk >= n2)
          {
            continue;
          }
          const int64_t q = (ni * n1 + nj) * n2 + nk;
          if (cls[q] == cls[p])
          {
            const uint32_t a = Root(parent, static_cast<uint32_t>(p));
            const uint32_t b = Root(parent, static_cast<uint32_t>(q));
            parent[std::max(a, b)] = std::min(a, b);
          }
        }
      }
    }
  }
  // Roots are the components' first voxels; in raster order every parent is final before its
  // children, so one pass resolves all. Then sizes per root and the largest root per label:
  // on equal sizes the component whose first voxel comes first (MONAI leaves ties unspecified).
  std::vector<uint32_t> size(static_cast<size_t>(count), 0);
  for (int64_t p = 0; p < count; ++p)
  {
    if (cls[p] != 0)
    {
      parent[p] = parent[parent[p]];
      ++size[parent[p]];
    }
  }
  std::vector<int64_t> best(applied.size() + 1, -1);
  std::vector<int64_t> components(applied.size() + 1, 0);
  for (int64_t p = 0; p < count; ++p)
  {
    if (cls[p] != 0 && parent[p] == p)
    {
      ++components[cls[p]];
      if (best[cls[p]] < 0 || size[p] > size[best[cls[p]]])
      {
        best[cls[p]] = p;
      }
    }
  }
  at::Tensor remove = at::zeros({ n0, n1, n2 }, at::kBool);
  bool *     drop = remove.data_ptr<bool>();
  for (int64_t p = 0; p < count; ++p)
  {
    drop[p] = cls[p] != 0 && components[cls[p]] > 1 && parent[p] != static_cast<uint32_t>(best[cls[p]]);
  }
  return values.clone().masked_fill_(remove, 0);
}

} // namespace medseg
