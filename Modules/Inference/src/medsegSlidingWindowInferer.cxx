#include "medsegSlidingWindowInferer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace medseg
{

void
SlidingWindowSettings::Validate() const
{
  for (int d = 0; d < 3; ++d)
  {
    if (patchSize[d] < 1 || patchSize[d] > 1024)
    {
      throw std::invalid_argument("patch size must be between 1 and 1024 along every axis");
    }
  }
  if (patchSize[0] * patchSize[1] * patchSize[2] > int64_t{ 512 } * 512 * 512)
  {
    throw std::invalid_argument("patch of " + std::to_string(patchSize[0] * patchSize[1] * patchSize[2]) +
                                " voxels is larger than the 512^3 MedSeg allows");
  }
  if (batchSize > 256)
  {
    throw std::invalid_argument("batch size must be at most 256");
  }
  if (overlap > 0.95)
  {
    throw std::invalid_argument("overlap above 0.95 makes the number of patches explode; got " +
                                std::to_string(overlap));
  }
  if (!(overlap >= 0.0 && overlap < 1.0))
  {
    throw std::invalid_argument("overlap must be in [0, 1), got " + std::to_string(overlap));
  }
  if (!(sigmaScale > 0.0))
  {
    throw std::invalid_argument("Gaussian sigma scale must be > 0");
  }
  if (batchSize < 1)
  {
    throw std::invalid_argument("batch size must be >= 1");
  }
  if (sliceAxis < 0 || sliceAxis > 2)
  {
    throw std::invalid_argument("slice axis must be 0 (x), 1 (y) or 2 (z)");
  }
  std::vector<int> seen;
  for (const int axis : mirrorAxes)
  {
    if (axis < 0 || axis > 2)
    {
      throw std::invalid_argument("mirror axes must be 0 (x), 1 (y) or 2 (z), got " + std::to_string(axis));
    }
    if (std::find(seen.begin(), seen.end(), axis) != seen.end())
    {
      throw std::invalid_argument("mirror axis " + std::to_string(axis) + " is listed twice");
    }
    seen.push_back(axis);
  }
}

BlendMode
ParseBlendMode(const std::string & text)
{
  if (text == "gaussian")
  {
    return BlendMode::Gaussian;
  }
  if (text == "constant")
  {
    return BlendMode::Constant;
  }
  throw std::invalid_argument("unknown blending '" + text + "'; use gaussian or constant");
}

std::vector<int64_t>
ComputeWindowPositions(int64_t size, int64_t patch, double overlap)
{
  if (size < patch)
  {
    throw std::invalid_argument("volume smaller than the patch: pad it first");
  }
  const double targetStep = std::max(1.0, std::floor(static_cast<double>(patch) * (1.0 - overlap)));
  const auto   steps = static_cast<int64_t>(std::ceil(static_cast<double>(size - patch) / targetStep)) + 1;
  std::vector<int64_t> positions;
  positions.reserve(static_cast<size_t>(steps));
  if (steps == 1)
  {
    positions.push_back(0);
    return positions;
  }
  const double actualStep = static_cast<double>(size - patch) / static_cast<double>(steps - 1);
  for (int64_t i = 0; i < steps; ++i)
  {
    positions.push_back(static_cast<int64_t>(std::llround(actualStep * static_cast<double>(i))));
  }
  return positions;
}

at::Tensor
ComputeGaussianImportanceMap(const std::array<int64_t, 3> & patchSize, double sigmaScale)
{
  // One 1D Gaussian per axis; the 3D map is their outer product (the exponent is separable).
  std::array<at::Tensor, 3> axes;
  for (int d = 0; d < 3; ++d)
  {
    const double centre = (static_cast<double>(patchSize[d]) - 1.0) / 2.0;
    const double sigma = sigmaScale * static_cast<double>(patchSize[d]);
    at::Tensor   i = at::arange(patchSize[d], at::TensorOptions().dtype(at::kDouble));
    axes[d] = at::exp(-(i - centre).pow(2) / (2.0 * sigma * sigma));
  }
  // [pz, py, px] = z (outer) x y x x (inner)
  at::Tensor map = axes[2].view({ -1, 1, 1 }) * axes[1].view({ 1, -1, 1 }) * axes[0].view({ 1, 1, -1 });
  map = map / map.max();
  // Far corners of narrow Gaussians underflow to 0 in float; a voxel covered only by patch
  // corners would then get 0/0. Floor the map at its smallest positive value (as nnU-Net does).
  at::Tensor result = map.to(at::kFloat);
  const at::Tensor positive = result.masked_select(result > 0);
  const float      floor = positive.numel() > 0 ? positive.min().item<float>() : 1.0f;
  return result.clamp_min(floor);
}

SlidingWindowInferer::SlidingWindowInferer(SlidingWindowSettings settings)
  : m_Settings(std::move(settings))
{
  m_Settings.Validate();
}

at::Tensor
SlidingWindowInferer::PredictBatch(const at::Tensor & batch, SegmentationModel & model) const
{
  const auto activate = [](const at::Tensor & logits) {
    return logits.size(1) == 1 ? at::sigmoid(logits.to(at::kFloat)) : at::softmax(logits.to(at::kFloat), 1);
  };
  const at::Tensor onDevice = batch.to(model.GetDevice());
  // 2D models see [B, C, H, W]: the slice axis (patch size 1) is squeezed out and put back.
  const bool    slices = model.GetSpatialDimension() == 2;
  const int64_t sliceDim = 4 - m_Settings.sliceAxis;
  const auto    forward = [&](const at::Tensor & x) {
    return slices ? model.Forward(x.squeeze(sliceDim)).unsqueeze(sliceDim) : model.Forward(x);
  };
  if (slices && batch.size(sliceDim) != 1)
  {
    throw std::invalid_argument("a 2D model needs patch size 1 along the slice axis " +
                                std::to_string(m_Settings.sliceAxis));
  }
  at::Tensor sum = activate(forward(onDevice));
  // Every non-empty subset of the mirror axes, as in nnU-Net's mirroring TTA.
  const auto &  axes = m_Settings.mirrorAxes;
  const int64_t combinations = int64_t{ 1 } << axes.size();
  for (int64_t mask = 1; mask < combinations; ++mask)
  {
    std::vector<int64_t> dims;
    for (size_t a = 0; a < axes.size(); ++a)
    {
      if (mask & (int64_t{ 1 } << a))
      {
        dims.push_back(4 - axes[a]); // x -> dim 4 (W), y -> 3 (H), z -> 2 (D)
      }
    }
    sum = sum + activate(forward(onDevice.flip(dims))).flip(dims);
  }
  return (sum / static_cast<double>(combinations)).to(at::kCPU);
}

at::Tensor
SlidingWindowInferer::Run(const at::Tensor & image, SegmentationModel & model, const ProgressCallback & progress) const
{
  if (image.dim() != 4)
  {
    throw std::invalid_argument("sliding window input must be [C, Z, Y, X], got " + c10::str(image.sizes()));
  }
  c10::InferenceMode guard;
  const std::array<int64_t, 3> patch{ { m_Settings.patchSize[2], m_Settings.patchSize[1], m_Settings.patchSize[0] } };
  const std::array<int64_t, 3> size{ { image.size(1), image.size(2), image.size(3) } };

  // Pad (centred) any axis smaller than the patch.
  std::array<int64_t, 3> before{}, padded{};
  std::vector<int64_t>   padSpec; // at::constant_pad_nd: last dim first, (before, after) pairs
  for (int d = 2; d >= 0; --d)
  {
    const int64_t missing = std::max<int64_t>(0, patch[d] - size[d]);
    before[d] = missing / 2;
    padded[d] = size[d] + missing;
    padSpec.push_back(before[d]);
    padSpec.push_back(missing - before[d]);
  }
  // Only volumes smaller than a patch are copied (padded); others are used as they are.
  const bool       needsPadding = std::any_of(padSpec.begin(), padSpec.end(), [](int64_t p) { return p > 0; });
  const at::Tensor floats = image.to(at::kFloat).contiguous();
  const at::Tensor input = needsPadding ? at::constant_pad_nd(floats, padSpec, m_Settings.padValue) : floats;

  std::array<std::vector<int64_t>, 3> positions;
  for (int d = 0; d < 3; ++d)
  {
    positions[d] = ComputeWindowPositions(padded[d], patch[d], m_Settings.overlap);
  }
  std::vector<std::array<int64_t, 3>> starts;
  for (const int64_t z : positions[0])
    for (const int64_t y : positions[1])
      for (const int64_t x : positions[2])
        starts.push_back({ { z, y, x } });

  const at::Tensor weights = m_Settings.blend == BlendMode::Gaussian
                               ? ComputeGaussianImportanceMap(m_Settings.patchSize, m_Settings.sigmaScale)
                               : at::ones({ patch[0], patch[1], patch[2] }, at::kFloat);
  at::Tensor accumulated; // [K, Zp, Yp, Xp], allocated once K is known
  at::Tensor weightSum = at::zeros({ padded[0], padded[1], padded[2] }, at::kFloat);

  const auto window = [&](const std::array<int64_t, 3> & s) {
    return std::vector<at::indexing::TensorIndex>{ at::indexing::Slice(),
                                                   at::indexing::Slice(s[0], s[0] + patch[0]),
                                                   at::indexing::Slice(s[1], s[1] + patch[1]),
                                                   at::indexing::Slice(s[2], s[2] + patch[2]) };
  };

  const auto batchSize = static_cast<size_t>(m_Settings.batchSize);
  for (size_t first = 0; first < starts.size(); first += batchSize)
  {
    const size_t            last = std::min(starts.size(), first + batchSize);
    std::vector<at::Tensor> patches;
    for (size_t i = first; i < last; ++i)
    {
      patches.push_back(input.index(window(starts[i])));
    }
    const at::Tensor probabilities = PredictBatch(at::stack(patches), model); // [B, K, pz, py, px]
    if (!accumulated.defined())
    {
      accumulated = at::zeros({ probabilities.size(1), padded[0], padded[1], padded[2] }, at::kFloat);
    }
    else if (probabilities.size(1) != accumulated.size(0))
    {
      throw std::runtime_error("the model changed its number of classes between patches");
    }
    for (size_t i = first; i < last; ++i)
    {
      const auto region = window(starts[i]);
      accumulated.index(region).add_(probabilities[static_cast<int64_t>(i - first)] * weights);
      weightSum.index({ region[1], region[2], region[3] }).add_(weights);
    }
    if (progress)
    {
      progress(static_cast<double>(last) / static_cast<double>(starts.size()));
    }
  }
  accumulated.div_(weightSum.unsqueeze(0));
  weightSum = at::Tensor();
  return accumulated
    .index({ at::indexing::Slice(),
             at::indexing::Slice(before[0], before[0] + size[0]),
             at::indexing::Slice(before[1], before[1] + size[1]),
             at::indexing::Slice(before[2], before[2] + size[2]) })
    .contiguous();
}

} // namespace medseg
