#include "medsegNNUNetPreprocessing.h"

#include "medsegError.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace medseg
{

namespace
{

/** A run of background voxels along axis 2 in one row (i0, i1): [begin, end). */
struct Run
{
  int64_t begin;
  int64_t end;
};

/** Union-find over runs, with path halving. */
int64_t
Root(std::vector<int64_t> & parent, int64_t k)
{
  while (parent[k] != k)
  {
    parent[k] = parent[parent[k]];
    k = parent[k];
  }
  return k;
}

void
Unite(std::vector<int64_t> & parent, int64_t a, int64_t b)
{
  a = Root(parent, a);
  b = Root(parent, b);
  if (a != b)
  {
    parent[std::max(a, b)] = std::min(a, b);
  }
}

/** scipy.ndimage.binary_fill_holes with its default structure (generate_binary_structure(3, 1)):
 * the background that can be reached from outside the array through faces stays background;
 * everything else (foreground and enclosed background) is returned true.
 *
 * Computed on runs: background runs along axis 2 are joined with the runs they overlap in the
 * neighbouring rows along axes 0 and 1 (face connectivity), and every component with a run on
 * the array's border is outside. */
at::Tensor
FillHoles(const at::Tensor & foreground)
{
  const at::Tensor     fg = foreground.contiguous();
  const int64_t        n0 = fg.size(0), n1 = fg.size(1), n2 = fg.size(2);
  const int64_t        rows = n0 * n1;
  const bool *         inside = fg.data_ptr<bool>();
  std::vector<Run>     runs;
  std::vector<int64_t> rowStart(rows + 1, 0);
  for (int64_t r = 0; r < rows; ++r)
  {
    rowStart[r] = static_cast<int64_t>(runs.size());
    const bool * row = inside + r * n2;
    for (int64_t i = 0; i < n2;)
    {
      if (row[i])
      {
        ++i;
        continue;
      }
      const int64_t begin = i;
      while (i < n2 && !row[i])
      {
        ++i;
      }
      runs.push_back({ begin, i });
    }
  }
  rowStart[rows] = static_cast<int64_t>(runs.size());

  std::vector<int64_t> parent(runs.size());
  for (size_t k = 0; k < parent.size(); ++k)
  {
    parent[k] = static_cast<int64_t>(k);
  }
  // Joins the runs of rows a and b that share an index along axis 2.
  const auto join = [&](int64_t a, int64_t b) {
    int64_t i = rowStart[a], j = rowStart[b];
    while (i < rowStart[a + 1] && j < rowStart[b + 1])
    {
      if (runs[i].end <= runs[j].begin)
      {
        ++i;
      }
      else if (runs[j].end <= runs[i].begin)
      {
        ++j;
      }
      else
      {
        Unite(parent, i, j);
        if (runs[i].end < runs[j].end)
        {
          ++i;
        }
        else
        {
          ++j;
        }
      }
    }
  };
  for (int64_t r = 0; r < rows; ++r)
  {
    if (r % n1 > 0)
    {
      join(r, r - 1); // neighbour along axis 1
    }
    if (r >= n1)
    {
      join(r, r - n1); // neighbour along axis 0
    }
  }
  std::vector<char> outside(runs.size(), 0);
  for (int64_t r = 0; r < rows; ++r)
  {
    const int64_t i0 = r / n1, i1 = r % n1;
    const bool    borderRow = i0 == 0 || i0 == n0 - 1 || i1 == 0 || i1 == n1 - 1;
    for (int64_t k = rowStart[r]; k < rowStart[r + 1]; ++k)
    {
      if (borderRow || runs[k].begin == 0 || runs[k].end == n2)
      {
        outside[Root(parent, k)] = 1;
      }
    }
  }
  at::Tensor filled = at::ones_like(fg);
  bool *     out = filled.data_ptr<bool>();
  for (int64_t r = 0; r < rows; ++r)
  {
    for (int64_t k = rowStart[r]; k < rowStart[r + 1]; ++k)
    {
      if (outside[Root(parent, k)])
      {
        std::fill(out + r * n2 + runs[k].begin, out + r * n2 + runs[k].end, false);
      }
    }
  }
  return filled;
}

/** First and one-past-last true entry of a 1D bool tensor; [0, n) when none is true
 * (acvl_utils get_bbox_from_mask keeps the full extent then). */
std::pair<int64_t, int64_t>
Extent(const at::Tensor & projection)
{
  const at::Tensor p = projection.contiguous();
  const bool *     v = p.data_ptr<bool>();
  const int64_t    n = p.numel();
  int64_t          first = 0, last = n;
  for (int64_t i = 0; i < n; ++i)
  {
    if (v[i])
    {
      first = i;
      break;
    }
  }
  for (int64_t i = n - 1; i >= 0; --i)
  {
    if (v[i])
    {
      last = i + 1;
      break;
    }
  }
  return { first, last };
}

/** max(value, 1e-8) as upstream's max(std, eps) with a Python float eps, then as float32. */
float
FloorEpsilon(double value)
{
  constexpr double eps = 1e-8;
  return static_cast<float>(eps > value ? eps : value);
}

/** x = (x - mean) / divisor on `n` floats, where mask (if given) is true. */
void
ShiftAndScale(float * x, int64_t n, const bool * mask, float mean, float divisor)
{
  for (int64_t i = 0; i < n; ++i)
  {
    if (!mask || mask[i])
    {
      x[i] = (x[i] - mean) / divisor;
    }
  }
}

/** ZScoreNormalization.run: mean and population std (in double) over the channel or the mask. */
void
ZScore(float * x, int64_t n, const bool * mask)
{
  double  sum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
  {
    if (!mask || mask[i])
    {
      sum += x[i];
      ++count;
    }
  }
  if (count == 0)
  {
    return; // image[mask] is empty: upstream assigns nothing
  }
  const double mean = sum / static_cast<double>(count);
  double       squares = 0.0;
  for (int64_t i = 0; i < n; ++i)
  {
    if (!mask || mask[i])
    {
      const double d = x[i] - mean;
      squares += d * d;
    }
  }
  const float meanF = static_cast<float>(mean);
  const float stdF = static_cast<float>(std::sqrt(squares / static_cast<double>(count)));
  ShiftAndScale(x, n, mask, meanF, FloorEpsilon(stdF));
}

} // namespace

NNUNetCrop
ComputeNNUNetCrop(const at::Tensor & data)
{
  // As nnunetv2.preprocessing.cropping.cropping.crop_to_nonzero / create_nonzero_mask.
  if (data.dim() != 4)
  {
    throw std::invalid_argument("ComputeNNUNetCrop: data must be a [C, A0, A1, A2] tensor");
  }
  const at::Tensor                  cpu = data.device().is_cpu() ? data : data.cpu();
  const at::Tensor                  filled = FillHoles((cpu != 0).any(0));
  const int64_t                     n0 = filled.size(0), n1 = filled.size(1), n2 = filled.size(2);
  NNUNetCrop                        crop;
  const std::pair<int64_t, int64_t> extents[3] = { Extent(filled.reshape({ n0, -1 }).any(1)),
                                                   Extent(filled.permute({ 1, 0, 2 }).reshape({ n1, -1 }).any(1)),
                                                   Extent(filled.reshape({ -1, n2 }).any(0)) };
  for (int a = 0; a < 3; ++a)
  {
    crop.start[a] = extents[a].first;
    crop.end[a] = extents[a].second;
  }
  crop.mask = filled.slice(0, crop.start[0], crop.end[0])
                .slice(1, crop.start[1], crop.end[1])
                .slice(2, crop.start[2], crop.end[2])
                .contiguous();
  return crop;
}

at::Tensor
ApplyNNUNetCrop(const at::Tensor & data, const NNUNetCrop & crop)
{
  return data.slice(1, crop.start[0], crop.end[0])
    .slice(2, crop.start[1], crop.end[1])
    .slice(3, crop.start[2], crop.end[2]);
}

NNUNetNormalization
ParseNNUNetNormalization(const std::string & schemeName, const std::string & subject)
{
  for (const NNUNetNormalization scheme :
       { NNUNetNormalization::ZScore, NNUNetNormalization::CT, NNUNetNormalization::None,
         NNUNetNormalization::RescaleTo01, NNUNetNormalization::RGBTo01 })
  {
    if (schemeName == NNUNetNormalizationName(scheme))
    {
      return scheme;
    }
  }
  throw InputError(subject, "unknown normalization scheme '" + schemeName +
                              "' (supported: ZScoreNormalization, CTNormalization, NoNormalization, "
                              "RescaleTo01Normalization, RGBTo01Normalization)");
}

std::string
NNUNetNormalizationName(NNUNetNormalization scheme)
{
  switch (scheme)
  {
    case NNUNetNormalization::ZScore:
      return "ZScoreNormalization";
    case NNUNetNormalization::CT:
      return "CTNormalization";
    case NNUNetNormalization::None:
      return "NoNormalization";
    case NNUNetNormalization::RescaleTo01:
      return "RescaleTo01Normalization";
    case NNUNetNormalization::RGBTo01:
      return "RGBTo01Normalization";
  }
  return "unknown";
}

void
NormalizeNNUNetChannel(at::Tensor & channel, NNUNetNormalization scheme, bool useMaskForNorm, const at::Tensor & mask,
                       const std::optional<NNUNetIntensityProperties> & properties)
{
  // As nnunetv2.preprocessing.normalization.default_normalization_schemes (target_dtype float32).
  if (channel.dim() != 3)
  {
    throw std::invalid_argument("NormalizeNNUNetChannel: the channel must be a [A0, A1, A2] tensor");
  }
  if (channel.scalar_type() != at::kFloat || !channel.device().is_cpu())
  {
    channel = channel.to(at::kCPU, at::kFloat); // image.astype(target_dtype)
  }
  if (scheme == NNUNetNormalization::None)
  {
    return;
  }
  at::Tensor    work = channel.contiguous();
  float *       x = work.data_ptr<float>();
  const int64_t n = work.numel();
  switch (scheme)
  {
    case NNUNetNormalization::ZScore:
    {
      at::Tensor maskData;
      if (useMaskForNorm)
      {
        if (!mask.defined() || mask.sizes() != channel.sizes())
        {
          throw std::invalid_argument("NormalizeNNUNetChannel: use_mask_for_norm needs a mask of the channel's shape");
        }
        maskData = mask.to(at::kCPU, at::kBool).contiguous();
      }
      ZScore(x, n, maskData.defined() ? maskData.data_ptr<bool>() : nullptr);
      break;
    }
    case NNUNetNormalization::CT:
    {
      if (!properties)
      {
        throw std::invalid_argument("NormalizeNNUNetChannel: CTNormalization requires intensity properties");
      }
      // np.clip(image, lower, upper) with the bounds as float32, then -= mean, /= max(std, eps).
      const float lower = static_cast<float>(properties->percentile_00_5);
      const float upper = static_cast<float>(properties->percentile_99_5);
      for (int64_t i = 0; i < n; ++i)
      {
        x[i] = std::min(std::max(x[i], lower), upper);
      }
      ShiftAndScale(x, n, nullptr, static_cast<float>(properties->mean), FloorEpsilon(properties->std));
      break;
    }
    case NNUNetNormalization::RescaleTo01:
    {
      if (n == 0)
      {
        break;
      }
      const float low = *std::min_element(x, x + n);
      for (int64_t i = 0; i < n; ++i)
      {
        x[i] -= low;
      }
      const float high = *std::max_element(x, x + n);
      const float divisor = FloorEpsilon(high);
      for (int64_t i = 0; i < n; ++i)
      {
        x[i] /= divisor;
      }
      break;
    }
    case NNUNetNormalization::RGBTo01:
    {
      if (n > 0)
      {
        const auto [low, high] = std::minmax_element(x, x + n);
        if (!(*low >= 0.0f) || !(*high <= 255.0f))
        {
          std::ostringstream problem;
          problem << "RGB images must have values in [0, 255], found " << *low << " to " << *high;
          throw InputError("RGBTo01Normalization", problem.str());
        }
      }
      for (int64_t i = 0; i < n; ++i)
      {
        x[i] /= 255.0f;
      }
      break;
    }
    case NNUNetNormalization::None:
      break;
  }
  if (!work.is_same(channel))
  {
    channel.copy_(work);
  }
}

} // namespace medseg
