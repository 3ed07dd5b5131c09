#include "medsegSlidingWindowInferer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
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
  if (blended == BlendedScores::Logits && accumulation == ScoreAccumulation::Float16)
  {
    throw std::invalid_argument("fp16 score accumulation holds probabilities in [0, 1]; blend logits in fp32");
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

ScoreAccumulation
ParseScoreAccumulation(const std::string & text)
{
  if (text == "fp32")
  {
    return ScoreAccumulation::Float32;
  }
  if (text == "fp16")
  {
    return ScoreAccumulation::Float16;
  }
  throw std::invalid_argument("unknown score accumulation '" + text + "'; use fp32 or fp16");
}

WindowPositions
ParseWindowPositions(const std::string & text)
{
  if (text == "nnunet")
  {
    return WindowPositions::NNUNet;
  }
  if (text == "monai")
  {
    return WindowPositions::MONAI;
  }
  throw std::invalid_argument("unknown window positions '" + text + "'; use nnunet or monai");
}

std::vector<int64_t>
ComputeMONAIWindowPositions(int64_t size, int64_t patch, double overlap)
{
  if (size < patch)
  {
    throw std::invalid_argument("volume smaller than the patch: pad it first");
  }
  const int64_t step =
    patch == size ? patch : std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(patch) * (1.0 - overlap)));
  std::vector<int64_t> positions;
  for (int64_t i = 0;; ++i)
  {
    const int64_t start = i * step;
    positions.push_back(start - std::max<int64_t>(start + patch - size, 0));
    if (start + patch >= size)
    {
      break;
    }
  }
  return positions;
}

at::Tensor
ComputeMONAIImportanceMap(const std::array<int64_t, 3> & patchSize, BlendMode blend, double sigmaScale)
{
  if (blend == BlendMode::Constant)
  {
    return at::ones({ patchSize[2], patchSize[1], patchSize[0] }, at::kFloat);
  }
  std::array<at::Tensor, 3> axes;
  for (int d = 0; d < 3; ++d)
  {
    // In float, as MONAI computes it: x from -(p - 1) / 2 in steps of 1.
    const double sigma = sigmaScale * static_cast<double>(patchSize[d]);
    at::Tensor   x = at::arange(patchSize[d], at::kFloat) - static_cast<float>((patchSize[d] - 1) / 2.0);
    axes[d] = at::exp(x.pow(2) / (-2.0 * sigma * sigma));
  }
  const at::Tensor map = axes[2].view({ -1, 1, 1 }) * axes[1].view({ 1, -1, 1 }) * axes[0].view({ 1, 1, -1 });
  return map.clamp_min(std::max(map.min().item<float>(), 1e-3f));
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
ComputeGaussianImportanceMap(const std::array<int64_t, 3> & patchSize, double sigmaScale, GaussianCentre centre)
{
  // One 1D Gaussian per axis; the 3D map is their outer product (the exponent is separable).
  std::array<at::Tensor, 3> axes;
  for (int d = 0; d < 3; ++d)
  {
    const double c = centre == GaussianCentre::Middle ? (static_cast<double>(patchSize[d]) - 1.0) / 2.0
                                                      : static_cast<double>(patchSize[d] / 2);
    const double sigma = sigmaScale * static_cast<double>(patchSize[d]);
    at::Tensor   i = at::arange(patchSize[d], at::TensorOptions().dtype(at::kDouble));
    axes[d] = at::exp(-(i - c).pow(2) / (2.0 * sigma * sigma));
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

namespace
{

/** Softmax over the classes (dim 1), or a sigmoid for one class, computed in `logits`' own memory
 * when nothing else shares it: a batch's scores are then held once, not three times. With
 * BlendedScores::Logits only the float copy that is the caller's to modify. */
at::Tensor
ActivateInPlace(at::Tensor logits, BlendedScores blended)
{
  logits = logits.to(at::kFloat);
  if (logits.use_count() > 1 || logits.storage().use_count() > 1 || !logits.is_contiguous())
  {
    logits = logits.clone(at::MemoryFormat::Contiguous); // a view of the input or of the model's state
  }
  if (blended == BlendedScores::Logits)
  {
    return logits;
  }
  if (logits.size(1) == 1)
  {
    return logits.sigmoid_();
  }
  logits.sub_(std::get<0>(logits.max(1, true))).exp_();
  return logits.div_(logits.sum(1, true));
}

/** Each channel's value when every voxel of that channel of `patch` [C, z, y, x] holds one value;
 * empty otherwise. */
std::vector<float>
ConstantValues(const at::Tensor & patch)
{
  std::vector<float> values;
  for (int64_t c = 0; c < patch.size(0); ++c)
  {
    const auto [low, high] = at::aminmax(patch[c]);
    const float value = low.item<float>();
    if (value != high.item<float>())
      return {};
    values.push_back(value);
  }
  return values;
}

/** The predictions of the constant windows seen so far, by their channel values (a few at most). */
class ConstantWindowPredictions
{
public:
  explicit ConstantWindowPredictions(size_t capacity)
    : m_Capacity(capacity)
  {}

  bool
  Enabled() const
  {
    return m_Capacity > 0;
  }

  /** The kept prediction for these values; undefined when none (or `values` is empty). */
  at::Tensor
  Find(const std::vector<float> & values) const
  {
    for (const auto & [key, prediction] : m_Entries)
    {
      if (!values.empty() && key == values)
        return prediction;
    }
    return {};
  }

  void
  Keep(const std::vector<float> & values, const at::Tensor & prediction)
  {
    if (values.empty() || m_Entries.size() >= m_Capacity || Find(values).defined())
      return;
    m_Entries.emplace_back(values, prediction.clone()); // not a view that keeps the whole batch alive
  }

private:
  size_t                                                m_Capacity;
  std::vector<std::pair<std::vector<float>, at::Tensor>> m_Entries;
};

} // namespace

at::Tensor
SlidingWindowInferer::PredictBatch(const at::Tensor & batch, SegmentationModel & model) const
{
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
  at::Tensor sum = ActivateInPlace(forward(onDevice), m_Settings.blended);
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
    sum.add_(ActivateInPlace(forward(onDevice.flip(dims)), m_Settings.blended).flip(dims));
  }
  if (combinations > 1)
  {
    sum.div_(static_cast<double>(combinations));
  }
  return sum.to(at::kCPU);
}

bool
VoxelBox::Contains(const VoxelBox & other) const
{
  for (int d = 0; d < 3; ++d)
  {
    if (other.size[d] > 0 && (other.start[d] < start[d] || other.End(d) > End(d)))
    {
      return false;
    }
  }
  return true;
}

struct SlidingWindowInferer::Plan
{
  std::array<int64_t, 3>              patch{};  // z, y, x
  std::array<int64_t, 3>              before{}; // centred padding of axes smaller than the patch
  std::vector<std::array<int64_t, 3>> starts;   // window starts in image coordinates (may be < 0 when padded), z-major
  std::vector<size_t>                 batches;  // first patch of each batch to run (volume-wide grouping)
  VoxelBox                            inputBox; // what those batches read, clipped to the image
  int64_t                             openSlices{ 0 }; // most region z slices open at once while blending
};

SlidingWindowInferer::Plan
SlidingWindowInferer::MakePlan(const std::array<int64_t, 3> & imageSize, const VoxelBox & region) const
{
  Plan plan;
  plan.patch = { { m_Settings.patchSize[2], m_Settings.patchSize[1], m_Settings.patchSize[0] } };
  std::array<std::vector<int64_t>, 3> positions;
  for (int d = 0; d < 3; ++d)
  {
    if (imageSize[d] < 1)
    {
      throw std::invalid_argument("sliding window input has an empty axis");
    }
    if (region.start[d] < 0 || region.End(d) > imageSize[d])
    {
      throw std::invalid_argument("sliding window region lies outside the image");
    }
    const int64_t missing = std::max<int64_t>(0, plan.patch[d] - imageSize[d]);
    plan.before[d] = missing / 2;
    positions[d] = m_Settings.windowPositions == WindowPositions::MONAI
                     ? ComputeMONAIWindowPositions(imageSize[d] + missing, plan.patch[d], m_Settings.overlap)
                     : ComputeWindowPositions(imageSize[d] + missing, plan.patch[d], m_Settings.overlap);
  }
  for (const int64_t z : positions[0])
    for (const int64_t y : positions[1])
      for (const int64_t x : positions[2])
        plan.starts.push_back({ { z - plan.before[0], y - plan.before[1], x - plan.before[2] } });

  const auto touches = [&](const std::array<int64_t, 3> & s) {
    for (int d = 0; d < 3; ++d)
    {
      if (!(s[d] < region.End(d) && s[d] + plan.patch[d] > region.start[d]))
        return false;
    }
    return true;
  };
  std::array<int64_t, 3> low{ { imageSize[0], imageSize[1], imageSize[2] } }, high{};
  const auto             batchSize = static_cast<size_t>(m_Settings.batchSize);
  int64_t                openEnd = region.start[0]; // first region slice no batch so far has touched
  for (size_t first = 0; first < plan.starts.size(); first += batchSize)
  {
    const size_t last = std::min(plan.starts.size(), first + batchSize);
    bool         needed = false;
    for (size_t i = first; i < last; ++i)
    {
      if (touches(plan.starts[i]))
      {
        needed = true;
        openEnd = std::max(openEnd, std::min(plan.starts[i][0] + plan.patch[0], region.End(0)));
      }
    }
    if (!needed)
    {
      continue;
    }
    plan.batches.push_back(first);
    // Before this batch every slice below its first patch's z is final: what is open now is the
    // ring the scores need at this point.
    plan.openSlices = std::max(plan.openSlices, openEnd - std::max(region.start[0], plan.starts[first][0]));
    for (size_t i = first; i < last; ++i)
    {
      for (int d = 0; d < 3; ++d)
      {
        low[d] = std::min(low[d], std::max<int64_t>(0, plan.starts[i][d]));
        high[d] = std::max(high[d], std::min(imageSize[d], plan.starts[i][d] + plan.patch[d]));
      }
    }
  }
  if (!plan.batches.empty())
  {
    for (int d = 0; d < 3; ++d)
    {
      plan.inputBox.start[d] = low[d];
      plan.inputBox.size[d] = high[d] - low[d];
    }
  }
  return plan;
}

VoxelBox
SlidingWindowInferer::InputBoxFor(const std::array<int64_t, 3> & imageSize, const VoxelBox & region) const
{
  return MakePlan(imageSize, region).inputBox;
}

int64_t
SlidingWindowInferer::OpenSlicesFor(const std::array<int64_t, 3> & imageSize, const VoxelBox & region) const
{
  return MakePlan(imageSize, region).openSlices;
}

at::Tensor
SlidingWindowInferer::Run(const at::Tensor & image, SegmentationModel & model, const ProgressCallback & progress) const
{
  if (image.dim() != 4)
  {
    throw std::invalid_argument("sliding window input must be [C, Z, Y, X], got " + c10::str(image.sizes()));
  }
  VoxelBox whole;
  whole.size = { { image.size(1), image.size(2), image.size(3) } };
  at::Tensor result; // [K, Z, Y, X], allocated once K is known
  RunRegion(
    image, whole, whole.size, whole, model,
    [&](int64_t z, const at::Tensor & slice) {
      if (!result.defined())
      {
        result = at::empty({ slice.size(0), whole.size[0], whole.size[1], whole.size[2] }, at::kFloat);
      }
      result.select(1, z).copy_(slice);
    },
    progress);
  return result;
}

void
SlidingWindowInferer::RunRegion(const at::Tensor & input, const VoxelBox & inputBox,
                                const std::array<int64_t, 3> & imageSize, const VoxelBox & region,
                                SegmentationModel & model, const SliceCallback & sink,
                                const ProgressCallback & progress) const
{
  using at::indexing::Slice;
  if (input.dim() != 4 || input.size(1) != inputBox.size[0] || input.size(2) != inputBox.size[1] ||
      input.size(3) != inputBox.size[2])
  {
    throw std::invalid_argument("sliding window input must be [C, Z, Y, X] of its box, got " + c10::str(input.sizes()));
  }
  const Plan plan = MakePlan(imageSize, region);
  if (!inputBox.Contains(plan.inputBox))
  {
    throw std::invalid_argument("the sliding window input does not hold every voxel the region's patches read");
  }
  c10::InferenceMode guard;
  const at::Tensor volume = input.to(at::kFloat).contiguous();
  const auto &     patch = plan.patch;
  const at::Tensor weights =
    m_Settings.windowPositions == WindowPositions::MONAI
      ? ComputeMONAIImportanceMap(m_Settings.patchSize, m_Settings.blend, m_Settings.sigmaScale)
    : m_Settings.blend == BlendMode::Gaussian
      ? ComputeGaussianImportanceMap(m_Settings.patchSize, m_Settings.sigmaScale, m_Settings.gaussianCentre)
      : at::ones({ patch[0], patch[1], patch[2] }, at::kFloat);

  // One patch of the input: a view where the window lies inside the box, else a padded copy.
  const auto extract = [&](const std::array<int64_t, 3> & s) {
    bool                   inside = true;
    std::array<int64_t, 3> from{}, to{};
    for (int d = 0; d < 3; ++d)
    {
      inside = inside && s[d] >= inputBox.start[d] && s[d] + patch[d] <= inputBox.End(d);
      from[d] = std::max<int64_t>(s[d], 0);
      to[d] = std::min(s[d] + patch[d], imageSize[d]);
    }
    const auto boxSlice = [&](int d, int64_t a, int64_t b) {
      return Slice(a - inputBox.start[d], b - inputBox.start[d]);
    };
    if (inside)
    {
      return volume.index({ Slice(), boxSlice(0, s[0], s[0] + patch[0]), boxSlice(1, s[1], s[1] + patch[1]),
                            boxSlice(2, s[2], s[2] + patch[2]) });
    }
    at::Tensor padded = at::full({ volume.size(0), patch[0], patch[1], patch[2] }, m_Settings.padValue, at::kFloat);
    padded
      .index({ Slice(), Slice(from[0] - s[0], to[0] - s[0]), Slice(from[1] - s[1], to[1] - s[1]),
               Slice(from[2] - s[2], to[2] - s[2]) })
      .copy_(volume.index({ Slice(), boxSlice(0, from[0], to[0]), boxSlice(1, from[1], to[1]),
                            boxSlice(2, from[2], to[2]) }));
    return padded;
  };

  // Blended scores and weight sums of the z slices some patch has touched and that are not final
  // yet, [openBegin, openEnd), kept in a ring of plan.openSlices slices allocated once (slice z in
  // slot (z - region z start) mod size), so memory stays fixed however many slices pass through.
  // Float scores are weighted sums, divided by the weight sum at the end. Half-precision scores are
  // the running weighted mean instead (mean += w / (W + w) * (p - mean)): it stays in [0, 1], where
  // half keeps 11 significant bits, whereas the sums of tiny Gaussian corner weights would underflow.
  const bool halfScores = m_Settings.accumulation == ScoreAccumulation::Float16;
  at::Tensor ringScores;  // [slots, K, region Y, region X], allocated once K is known
  at::Tensor ringWeights; // [slots, region Y, region X]
  int64_t    openBegin = region.start[0], openEnd = region.start[0];
  const auto slot = [&](int64_t z) { return (z - region.start[0]) % plan.openSlices; };
  const auto finalizeBelow = [&](int64_t zLimit) {
    for (; openBegin < std::min(zLimit, openEnd); ++openBegin)
    {
      const at::Tensor scores = ringScores[slot(openBegin)];
      sink(openBegin, halfScores ? scores.to(at::kFloat) : scores.div_(ringWeights[slot(openBegin)].unsqueeze(0)));
    }
  };

  // A window whose every channel holds one value (zero padding, an empty field of view) gives the
  // network the same input as any other window of those values: the first one's prediction is kept
  // and a batch made only of such windows is not run again.
  ConstantWindowPredictions constantWindows(m_Settings.reuseConstantWindows ? 4 : 0);

  const auto batchSize = static_cast<size_t>(m_Settings.batchSize);
  int64_t    classes = 0;
  for (size_t b = 0; b < plan.batches.size(); ++b)
  {
    const size_t                    first = plan.batches[b];
    const size_t                    last = std::min(plan.starts.size(), first + batchSize);
    std::vector<at::Tensor>         patches;
    std::vector<std::vector<float>> constants; // per patch: each channel's value, or empty
    bool                            allKnown = true;
    for (size_t i = first; i < last; ++i)
    {
      patches.push_back(extract(plan.starts[i]));
      constants.push_back(constantWindows.Enabled() ? ConstantValues(patches.back()) : std::vector<float>{});
      allKnown = allKnown && constantWindows.Find(constants.back()).defined();
    }
    at::Tensor probabilities; // [B, K, pz, py, px]
    if (allKnown)
    {
      std::vector<at::Tensor> known;
      for (const auto & values : constants)
        known.push_back(constantWindows.Find(values));
      probabilities = at::stack(known);
    }
    else
    {
      probabilities = PredictBatch(at::stack(patches), model);
      for (size_t i = 0; i < constants.size(); ++i)
        constantWindows.Keep(constants[i], probabilities[static_cast<int64_t>(i)]);
    }
    if (classes == 0)
    {
      classes = probabilities.size(1);
      ringScores = at::empty({ plan.openSlices, classes, region.size[1], region.size[2] },
                             halfScores ? at::kHalf : at::kFloat);
      ringWeights = at::empty({ plan.openSlices, region.size[1], region.size[2] }, at::kFloat);
    }
    else if (probabilities.size(1) != classes)
    {
      throw std::runtime_error("the model changed its number of classes between patches");
    }
    for (size_t i = first; i < last; ++i)
    {
      const auto &           s = plan.starts[i];
      std::array<int64_t, 3> from{}, to{};
      bool                   touches = true;
      for (int d = 0; d < 3; ++d)
      {
        from[d] = std::max(s[d], region.start[d]);
        to[d] = std::min(s[d] + patch[d], region.End(d));
        touches = touches && from[d] < to[d];
      }
      if (!touches)
      {
        continue; // run only because its batch mate touches the region
      }
      const at::Tensor p = probabilities[static_cast<int64_t>(i - first)];
      const Slice      inY(from[1] - s[1], to[1] - s[1]), inX(from[2] - s[2], to[2] - s[2]);
      const Slice      outY(from[1] - region.start[1], to[1] - region.start[1]);
      const Slice      outX(from[2] - region.start[2], to[2] - region.start[2]);
      for (; openEnd < to[0]; ++openEnd) // slices are first touched in increasing z
      {
        ringScores[slot(openEnd)].zero_();
        ringWeights[slot(openEnd)].zero_();
      }
      if (from[0] < openBegin || openEnd - openBegin > plan.openSlices)
      {
        throw std::logic_error("sliding window: a patch touches a slice outside the open ring");
      }
      for (int64_t z = from[0]; z < to[0]; ++z)
      {
        const at::Tensor w = weights.index({ z - s[0], inY, inX });
        const at::Tensor pz = p.index({ Slice(), z - s[0], inY, inX });
        at::Tensor       scores = ringScores[slot(z)].index({ Slice(), outY, outX });
        at::Tensor       weightSum = ringWeights[slot(z)].index({ outY, outX });
        if (halfScores)
        {
          const at::Tensor mean = scores.to(at::kFloat); // computed in float, rounded once
          scores.copy_(mean.addcmul_(pz - mean, w / (weightSum + w)));
        }
        else
        {
          scores.addcmul_(pz, w);
        }
        weightSum.add_(w);
      }
    }
    // Later batches start at or after the next batch's first z: every slice before it is final.
    finalizeBelow(b + 1 < plan.batches.size() ? plan.starts[plan.batches[b + 1]][0]
                                              : std::numeric_limits<int64_t>::max());
    if (progress)
    {
      progress(static_cast<double>(b + 1) / static_cast<double>(plan.batches.size()));
    }
  }
}

} // namespace medseg
