#include "medsegIntensitySynthesis.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace medseg
{

namespace
{
double
Uniform(std::mt19937_64 & rng, double a, double b)
{
  return a == b ? a : std::uniform_real_distribution<double>(a, b)(rng);
}

/** 1D k-means of `values` (float, flat) into `k` clusters: the sorted centres. Lloyd's iterations
 * from the quantiles (k + 0.5) / K keep the centres in order, so the bins are intervals. */
at::Tensor
KMeans1D(const at::Tensor & values, int64_t k)
{
  if (k == 1)
    return values.to(at::kDouble).mean().reshape({ 1 });
  const at::Tensor sorted = std::get<0>(values.sort());
  const int64_t    n = sorted.numel();
  at::Tensor       centres = at::empty({ k }, at::kDouble);
  for (int64_t i = 0; i < k; ++i)
    centres[i] = sorted[std::min<int64_t>(n - 1, static_cast<int64_t>((static_cast<double>(i) + 0.5) / k * n))];
  const at::Tensor v = sorted.to(at::kDouble);
  for (int iteration = 0; iteration < 50; ++iteration)
  {
    const at::Tensor bins = at::bucketize(v, (centres.slice(0, 1) + centres.slice(0, 0, k - 1)) / 2.0);
    const at::Tensor counts = at::bincount(bins, {}, k).to(at::kDouble);
    const at::Tensor sums = at::zeros({ k }, at::kDouble).index_add_(0, bins, v);
    const at::Tensor next = at::where(counts > 0, sums / counts.clamp_min(1.0), centres);
    if (at::allclose(next, centres, 0.0, 1e-9))
      break;
    centres = next;
  }
  return centres;
}

/** Assigns each value to its nearest centre (centres sorted): indices 0 .. k - 1. */
at::Tensor
NearestCentre(const at::Tensor & values, const at::Tensor & centres)
{
  const int64_t k = centres.numel();
  if (k == 1)
    return at::zeros({ values.numel() }, at::kLong);
  return at::bucketize(values.to(at::kDouble), (centres.slice(0, 1) + centres.slice(0, 0, k - 1)) / 2.0);
}

/** Gaussian blur of `volume` [1, 1, Z, Y, X] along one axis (x = 0, y = 1, z = 2), borders replicated. */
at::Tensor
BlurAlong(const at::Tensor & volume, int axis, double sigma)
{
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigma)));
  at::Tensor    kernel = at::arange(-radius, radius + 1, at::kFloat);
  kernel = (-(kernel * kernel) / (2.0 * sigma * sigma)).exp();
  kernel = kernel / kernel.sum();
  std::vector<int64_t> shape{ 1, 1, 1, 1, 1 };
  shape[4 - axis] = 2 * radius + 1;
  std::vector<int64_t> padding(6, 0); // x low/high, y low/high, z low/high
  padding[2 * axis] = padding[2 * axis + 1] = radius;
  return at::conv3d(at::replication_pad3d(volume, padding), kernel.reshape(shape));
}
} // namespace

TissueClasses
ClusterTissueClasses(const at::Tensor & image, const at::Tensor & label, int64_t inside, int64_t outside)
{
  if (inside < 1 || outside < 1)
    throw std::invalid_argument("ClusterTissueClasses: needs at least one class inside and one outside");
  if (image.dim() != 4 || label.dim() != 3 || image.size(1) != label.size(0) || image.size(2) != label.size(1) ||
      image.size(3) != label.size(2))
    throw std::invalid_argument("ClusterTissueClasses: image [C, Z, Y, X] and label [Z, Y, X] differ in size");
  const at::Tensor values = image[0].reshape({ -1 }).to(at::kFloat);
  const at::Tensor within = (label.reshape({ -1 }) > 0);
  at::Tensor       map = at::zeros({ values.numel() }, at::kLong);
  TissueClasses    result;
  const double     total = static_cast<double>(values.numel());
  int64_t          first = 0;
  for (const bool in : { false, true })
  {
    const int64_t    k = in ? inside : outside;
    const at::Tensor where = in ? within : within.logical_not();
    const at::Tensor group = values.masked_select(where);
    at::Tensor       centres = at::zeros({ k }, at::kDouble);
    if (group.numel() > 0)
    {
      centres = KMeans1D(group, k);
      map.masked_scatter_(where, NearestCentre(group, centres) + first);
    }
    for (int64_t i = 0; i < k; ++i)
      result.means.push_back(centres[i].item<double>());
    first += k;
  }
  const at::Tensor counts = at::bincount(map, {}, first).to(at::kDouble);
  for (int64_t i = 0; i < first; ++i)
    result.fractions.push_back(counts[i].item<double>() / total);
  result.map = map.reshape(label.sizes()).to(at::kFloat).contiguous();
  return result;
}

at::Tensor
SynthesizePatch(const at::Tensor & tissuePatch, const std::vector<double> & fractions, const AugmentationSettings & a,
                std::mt19937_64 & rng, at::Generator & generator, int sliceAxis)
{
  const auto          classes = static_cast<int64_t>(fractions.size());
  std::vector<double> mean(fractions.size()), sd(fractions.size());
  for (size_t k = 0; k < fractions.size(); ++k)
  {
    mean[k] = Uniform(rng, 0.0, 1.0);
    sd[k] = Uniform(rng, 0.0, a.synthesisMaxSd);
  }
  if (classes > 0 && Uniform(rng, 0.0, 1.0) < a.synthesisZeroBackgroundProbability)
    mean[0] = sd[0] = 0.0; // a zero-filled background, as many scanners and converters write
  const at::Tensor index = tissuePatch.reshape({ -1 }).clamp(0, std::max<int64_t>(0, classes - 1));
  const at::Tensor means = at::tensor(mean, at::kDouble).to(at::kFloat).index_select(0, index);
  const at::Tensor sds = at::tensor(sd, at::kDouble).to(at::kFloat).index_select(0, index);
  at::Tensor       x = means + sds * at::randn({ index.numel() }, generator, at::TensorOptions().dtype(at::kFloat));
  x = x.reshape({ 1, 1, tissuePatch.size(0), tissuePatch.size(1), tissuePatch.size(2) });

  const double sigma = Uniform(rng, 0.0, a.synthesisMaxBlur);
  if (sigma > 0.1)
  {
    for (int axis = 0; axis < 3; ++axis)
    {
      if (axis != sliceAxis && x.size(4 - axis) > 1)
        x = BlurAlong(x, axis, sigma);
    }
  }
  // The case's own normalization (zero mean, unit variance over the whole image) under this draw.
  double m = 0.0, second = 0.0;
  for (size_t k = 0; k < fractions.size(); ++k)
  {
    m += fractions[k] * mean[k];
    second += fractions[k] * (sd[k] * sd[k] + mean[k] * mean[k]);
  }
  const double scale = std::sqrt(std::max(second - m * m, 1e-4));
  return ((x - m) / scale).squeeze(0).contiguous();
}

} // namespace medseg
