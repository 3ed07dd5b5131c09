#include "medsegPatchSampler.h"

#include "medsegIntensitySynthesis.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>

namespace medseg
{

namespace
{
uint64_t
SplitMix64(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double
Uniform(std::mt19937_64 & rng, double a, double b)
{
  return a == b ? a : std::uniform_real_distribution<double>(a, b)(rng);
}

bool
Coin(std::mt19937_64 & rng, double p)
{
  return p > 0.0 && Uniform(rng, 0.0, 1.0) < p;
}
} // namespace

uint64_t
MixSeed(uint64_t seed, uint64_t step, uint64_t index)
{
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ step) ^ (index * 0xd1b54a32d192ed03ULL));
}

std::array<double, 9>
RotationScaleMatrix(const std::array<double, 3> & degrees, double scale)
{
  const double ax = degrees[0] * M_PI / 180.0, ay = degrees[1] * M_PI / 180.0, az = degrees[2] * M_PI / 180.0;
  const double cx = std::cos(ax), sx = std::sin(ax), cy = std::cos(ay), sy = std::sin(ay), cz = std::cos(az),
               sz = std::sin(az);
  // Rz * Ry * Rx
  const double m[9] = { cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
                        sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
                        -sy,     cy * sx,                cy * cx };
  std::array<double, 9> r{};
  for (int i = 0; i < 9; ++i)
    r[i] = m[i] * scale;
  return r;
}

namespace
{
/** grid_sampler's grid [1, Pz, Py, Px, 3] (x, y, z in [-1, 1]) for the patch `t` describes. */
at::Tensor
SamplingGrid(const PreprocessedCase & c, const PatchTransform & t, const std::array<int64_t, 3> & patchSize)
{
  const auto size = c.Size();
  std::vector<at::Tensor> axes;
  for (int d = 0; d < 3; ++d)
  {
    at::Tensor o = (at::arange(patchSize[d], at::kDouble) - (patchSize[d] - 1) / 2.0) * c.spacing[d];
    axes.push_back(t.flip[d] ? -o : o);
  }
  const auto grids = at::meshgrid({ axes[2], axes[1], axes[0] }, "ij"); // z, y, x, each [Pz, Py, Px]
  const at::Tensor offsets = at::stack({ grids[2], grids[1], grids[0] }, -1);
  const at::Tensor m = at::tensor(std::vector<double>(t.matrix.begin(), t.matrix.end()), at::kDouble).reshape({ 3, 3 });
  at::Tensor q = offsets.matmul(m.t());
  if (t.displacement.defined())
    q = q + t.displacement.to(at::kDouble);
  std::vector<at::Tensor> normalized;
  for (int d = 0; d < 3; ++d)
  {
    const at::Tensor position = q.select(-1, d) / c.spacing[d] + t.centre[d];
    normalized.push_back(size[d] > 1 ? position * (2.0 / static_cast<double>(size[d] - 1)) - 1.0 : position * 0.0);
  }
  return at::stack(normalized, -1).unsqueeze(0).to(at::kFloat);
}

/** The case's tissue classes along the same grid (nearest): [Pz, Py, Px] int64. */
at::Tensor
SampleTissue(const PreprocessedCase & c, const at::Tensor & grid)
{
  const at::Tensor map = c.tissue.map.unsqueeze(0).unsqueeze(0); // a view: float already
  return at::grid_sampler(map, grid, /*nearest*/ 1, 1, true).squeeze(0).squeeze(0).round().to(at::kLong);
}

/** The image along the grid, trilinear: [C, Pz, Py, Px]. Outside the case the border voxels are
 * repeated, or with `shifted` (the case's image minus `outside`, [C, 1, 1, 1]) every channel is
 * `outside` there, as zero padding looks at inference. */
at::Tensor
SampleImage(const PreprocessedCase & c, const at::Tensor & grid, const at::Tensor & shifted = {},
            const at::Tensor & outside = {})
{
  if (shifted.defined())
    return (at::grid_sampler(shifted.unsqueeze(0), grid, 0, /*zeros*/ 0, true).squeeze(0) + outside).contiguous();
  return at::grid_sampler(c.image.unsqueeze(0), grid, 0, /*border*/ 1, true).squeeze(0).contiguous();
}

/** The label along the grid: each class indicator trilinear, then arg-max (smoother than
 * nearest): [Pz, Py, Px] int64. Outside the case: the border's classes, or with
 * `backgroundOutside` the background. */
at::Tensor
SampleLabel(const PreprocessedCase & c, const at::Tensor & grid, bool backgroundOutside = false)
{
  const int64_t    classes = static_cast<int64_t>(c.foreground.size()) + 1;
  const at::Tensor oneHot = at::one_hot(c.label, classes).permute({ 3, 0, 1, 2 }).to(at::kFloat).unsqueeze(0);
  return at::grid_sampler(oneHot, grid, 0, backgroundOutside ? 0 : 1, true).squeeze(0).argmax(0).contiguous();
}
} // namespace

std::pair<at::Tensor, at::Tensor>
ExtractPatch(const PreprocessedCase & c, const PatchTransform & t, const std::array<int64_t, 3> & patchSize)
{
  const at::Tensor grid = SamplingGrid(c, t, patchSize);
  return { SampleImage(c, grid), SampleLabel(c, grid) };
}

at::Tensor
AugmentIntensities(at::Tensor patch, const AugmentationSettings & a, std::mt19937_64 & rng, at::Generator & generator,
                   int sliceAxis)
{
  if (!a.enabled)
    return patch;
  const std::vector<int64_t> sizes = { patch.size(1), patch.size(2), patch.size(3) }; // z, y, x
  if (Coin(rng, a.lowResolutionProbability))
  {
    const double         f = Uniform(rng, a.lowResolutionRange[0], a.lowResolutionRange[1]);
    std::vector<int64_t> low(3);
    for (int i = 0; i < 3; ++i)
    {
      const int axis = 2 - i; // sizes are z, y, x
      low[i] = (axis == sliceAxis || sizes[i] == 1) ? sizes[i]
                                                    : std::max<int64_t>(1, std::llround(static_cast<double>(sizes[i]) / f));
    }
    const at::Tensor down = at::upsample_trilinear3d(patch.unsqueeze(0), low, false);
    patch = at::upsample_trilinear3d(down, sizes, false).squeeze(0);
  }
  if (Coin(rng, a.biasFieldProbability))
  {
    std::vector<at::Tensor> axes;
    for (int i = 0; i < 3; ++i)
      axes.push_back(sizes[i] > 1 ? at::linspace(-1.0, 1.0, sizes[i], at::kFloat) : at::zeros({ 1 }, at::kFloat));
    const auto g = at::meshgrid({ axes[0], axes[1], axes[2] }, "ij");
    const at::Tensor & z = g[0];
    const at::Tensor & y = g[1];
    const at::Tensor & x = g[2];
    const at::Tensor   terms[9] = { x, y, z, x * x, y * y, z * z, x * y, x * z, y * z };
    at::Tensor         field = at::zeros_like(x);
    for (const auto & term : terms)
      field = field + term * Uniform(rng, -a.biasFieldMagnitude, a.biasFieldMagnitude);
    const at::Tensor low = patch.min();
    patch = (patch - low) * field.exp().unsqueeze(0) + low;
  }
  if (Coin(rng, a.gammaProbability))
  {
    double lo = a.gammaRange[0], hi = a.gammaRange[1];
    // Half of the draws below 1 and half above (when the range spans 1), as nnU-Net does.
    if (lo < 1.0 && hi > 1.0)
    {
      if (Coin(rng, 0.5))
        hi = 1.0;
      else
        lo = 1.0;
    }
    const double     gamma = Uniform(rng, lo, hi);
    const at::Tensor low = patch.min();
    const at::Tensor range = patch.max() - low + 1e-7;
    patch = ((patch - low) / range).clamp_min(0.0).pow(gamma) * range + low;
  }
  if (Coin(rng, a.intensityScaleProbability))
    patch = patch * Uniform(rng, a.intensityScaleRange[0], a.intensityScaleRange[1]);
  if (Coin(rng, a.intensityShiftProbability))
    patch = patch + Uniform(rng, -a.intensityShift, a.intensityShift);
  if (Coin(rng, a.noiseProbability))
  {
    const double sigma = Uniform(rng, 0.0, a.noiseSigma);
    patch = patch + at::randn(patch.sizes(), generator, at::TensorOptions().dtype(at::kFloat)) * sigma;
  }
  return patch;
}

void
AugmentFieldOfView(at::Tensor & image, at::Tensor & label, const AugmentationSettings & a, std::mt19937_64 & rng,
                   int sliceAxis, const at::Tensor & caseMinimum)
{
  if (!a.enabled)
    return;
  using Padding = AugmentationSettings::Padding;
  const at::Tensor low = a.padding == Padding::Zero ? at::zeros({ image.size(0), 1, 1, 1 }, image.options())
                         : a.padding == Padding::CaseMinimum && caseMinimum.defined()
                           ? caseMinimum
                           : image.amin({ 1, 2, 3 }, /*keepdim=*/true); // [C, 1, 1, 1]
  if (Coin(rng, a.constantPatchProbability))
  {
    image = low.expand_as(image).clone();
    label.zero_();
    return;
  }
  if (!Coin(rng, a.fieldOfViewProbability))
    return;
  std::vector<int> axes; // x, y, z that can be cut
  for (int axis = 0; axis < 3; ++axis)
  {
    if (axis != sliceAxis && label.size(2 - axis) > 1)
      axes.push_back(axis);
  }
  if (axes.empty())
    return;
  // One plane, or (max_axes > 1) planes across 1..max_axes distinct axes: an edge or a corner of
  // the field of view inside the patch.
  const size_t planes = a.fieldOfViewMaxAxes <= 1 ? 1
                        : std::uniform_int_distribution<size_t>(
                            1, std::min(axes.size(), static_cast<size_t>(a.fieldOfViewMaxAxes)))(rng);
  for (size_t p = 0; p < planes; ++p)
  {
    const size_t  pick = std::uniform_int_distribution<size_t>(0, axes.size() - 1)(rng);
    const int     axis = axes[pick];
    const int64_t size = label.size(2 - axis);
    const int64_t cut =
      std::clamp<int64_t>(std::llround(Uniform(rng, 0.1, 0.9) * static_cast<double>(size)), 1, size - 1);
    const bool    beyondIsHigh = Coin(rng, 0.5);
    const int64_t start = beyondIsHigh ? cut : 0;
    const int64_t length = beyondIsHigh ? size - cut : cut;
    image.narrow(3 - axis, start, length).copy_(low.expand_as(image.narrow(3 - axis, start, length)));
    label.narrow(2 - axis, start, length).zero_();
    axes.erase(axes.begin() + static_cast<std::ptrdiff_t>(pick));
  }
}

PatchSampler::PatchSampler(std::vector<const PreprocessedCase *> cases, std::array<int64_t, 3> patchSize, int spatialDims,
                           int sliceAxis, double foregroundRatio, AugmentationSettings augmentation, uint64_t seed)
  : m_Cases(std::move(cases))
  , m_PatchSize(patchSize)
  , m_SpatialDims(spatialDims)
  , m_SliceAxis(sliceAxis)
  , m_ForegroundRatio(foregroundRatio)
  , m_Augmentation(augmentation)
  , m_Seed(seed)
{
  if (m_Cases.empty())
    throw std::invalid_argument("PatchSampler: no training cases");
  using Padding = AugmentationSettings::Padding;
  for (const PreprocessedCase * c : m_Cases)
  {
    m_CaseMinima.push_back(c->image.amin({ 1, 2, 3 }, /*keepdim=*/true)); // [C, 1, 1, 1]
    // Where a patch reaches beyond the case it sees what zero padding becomes at inference.
    const at::Tensor outside = !m_Augmentation.enabled || m_Augmentation.padding == Padding::PatchMinimum ? at::Tensor()
                               : m_Augmentation.padding == Padding::Zero ? at::zeros_like(m_CaseMinima.back())
                                                                         : m_CaseMinima.back();
    m_Outside.push_back(outside);
    m_Shifted.push_back(outside.defined() ? (c->image - outside).contiguous() : at::Tensor());
  }
  if (m_SpatialDims == 2)
    m_PatchSize[m_SliceAxis] = 1;
}

PatchTransform
PatchSampler::DrawTransform(const PreprocessedCase & c, std::mt19937_64 & rng, at::Generator & generator,
                            bool & foreground) const
{
  PatchTransform t;
  const auto     size = c.Size();
  const bool     twoD = m_SpatialDims == 2;
  std::vector<size_t> present;
  for (size_t k = 0; k < c.foreground.size(); ++k)
  {
    if (c.foreground[k].numel() > 0)
      present.push_back(k);
  }
  foreground = !present.empty() && Coin(rng, m_ForegroundRatio);
  if (foreground)
  {
    const at::Tensor & voxels = c.foreground[present[std::uniform_int_distribution<size_t>(0, present.size() - 1)(rng)]];
    const int64_t flat =
      voxels.data_ptr<int64_t>()[std::uniform_int_distribution<int64_t>(0, voxels.numel() - 1)(rng)];
    t.centre = { { static_cast<double>(flat % size[0]), static_cast<double>((flat / size[0]) % size[1]),
                   static_cast<double>(flat / (size[0] * size[1])) } };
  }
  else
  {
    // beyond_case: the patch may reach past the case by up to max_fraction of its width on each
    // side, as the windows at the edge of a larger, zero-filled field of view do.
    const bool beyond = m_Augmentation.enabled && Coin(rng, m_Augmentation.beyondCaseProbability);
    for (int d = 0; d < 3; ++d)
    {
      if (twoD && d == m_SliceAxis)
      {
        t.centre[d] = static_cast<double>(std::uniform_int_distribution<int64_t>(0, size[d] - 1)(rng));
        continue;
      }
      const double margin = beyond ? m_Augmentation.beyondCaseFraction * static_cast<double>(m_PatchSize[d]) : 0.0;
      double       lo = (m_PatchSize[d] - 1) / 2.0;
      double       hi = static_cast<double>(size[d] - 1) - lo;
      if (hi < lo)
        lo = hi = (size[d] - 1) / 2.0;
      t.centre[d] = Uniform(rng, lo - margin, hi + margin);
    }
  }
  if (!m_Augmentation.enabled)
    return t;
  const AugmentationSettings & a = m_Augmentation;
  for (int d = 0; d < 3; ++d)
    t.flip[d] = !(twoD && d == m_SliceAxis) && Coin(rng, a.flipProbability[d]);
  std::array<double, 3> degrees{ { 0, 0, 0 } };
  if (Coin(rng, a.rotationProbability))
  {
    for (int d = 0; d < 3; ++d)
    {
      if (!twoD || d == m_SliceAxis)
        degrees[d] = Uniform(rng, -a.rotationDegrees[d], a.rotationDegrees[d]);
    }
  }
  const double scale = Coin(rng, a.scaleProbability) ? Uniform(rng, a.scaleRange[0], a.scaleRange[1]) : 1.0;
  t.matrix = RotationScaleMatrix(degrees, 1.0);
  for (int row = 0; row < 3; ++row)
  {
    for (int col = 0; col < 3; ++col)
      t.matrix[row * 3 + col] *= (twoD && col == m_SliceAxis) ? 1.0 : scale;
  }
  if (Coin(rng, a.elasticProbability))
  {
    const int64_t cp = a.elasticControlPoints;
    std::vector<int64_t> coarse{ 1, 3, 0, 0, 0 };
    for (int d = 0; d < 3; ++d)
      coarse[4 - d] = (twoD && d == m_SliceAxis) || m_PatchSize[d] == 1 ? 1 : cp;
    at::Tensor field = at::randn(coarse, generator, at::TensorOptions().dtype(at::kFloat)) * a.elasticMagnitude;
    if (twoD)
      field.select(1, m_SliceAxis).zero_();
    field = at::upsample_trilinear3d(field, { m_PatchSize[2], m_PatchSize[1], m_PatchSize[0] }, true);
    t.displacement = field.squeeze(0).permute({ 1, 2, 3, 0 }).contiguous();
  }
  return t;
}

TrainingBatch
PatchSampler::Sample(int64_t step, int64_t batchSize) const
{
  TrainingBatch           batch;
  std::vector<at::Tensor> images;
  std::vector<at::Tensor> labels;
  for (int64_t i = 0; i < batchSize; ++i)
  {
    const uint64_t   seed = MixSeed(m_Seed, static_cast<uint64_t>(step), static_cast<uint64_t>(i));
    std::mt19937_64  rng(seed);
    at::Generator    generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x5851f42d4c957f2dULL);
    const size_t     caseIndex = std::uniform_int_distribution<size_t>(0, m_Cases.size() - 1)(rng);
    const auto &     c = *m_Cases[caseIndex];
    bool             foreground = false;
    const auto       transform = DrawTransform(c, rng, generator, foreground);
    // One grid for the image (or the tissue map it is synthesized from) and the label.
    const at::Tensor grid = SamplingGrid(c, transform, m_PatchSize);
    const int        sliceAxis = m_SpatialDims == 2 ? m_SliceAxis : -1;
    const bool       synthesize = m_Augmentation.enabled && c.tissue.map.defined() && c.image.size(0) == 1 &&
                            Coin(rng, m_Augmentation.synthesisProbability);
    at::Tensor image = synthesize ? SynthesizePatch(SampleTissue(c, grid), c.tissue.fractions, m_Augmentation, rng,
                                                    generator, sliceAxis)
                                  : SampleImage(c, grid, m_Shifted[caseIndex], m_Outside[caseIndex]);
    at::Tensor label = SampleLabel(c, grid, m_Outside[caseIndex].defined());
    image = AugmentIntensities(image, m_Augmentation, rng, generator, sliceAxis);
    AugmentFieldOfView(image, label, m_Augmentation, rng, sliceAxis, m_CaseMinima[caseIndex]);
    if (m_SpatialDims == 2)
    {
      image = image.squeeze(3 - m_SliceAxis);
      label = label.squeeze(2 - m_SliceAxis);
    }
    images.push_back(image);
    labels.push_back(label);
    batch.foregroundCentred.push_back(foreground);
    batch.synthesized.push_back(synthesize);
  }
  batch.images = at::stack(images).contiguous();
  batch.labels = at::stack(labels).contiguous();
  return batch;
}

} // namespace medseg
