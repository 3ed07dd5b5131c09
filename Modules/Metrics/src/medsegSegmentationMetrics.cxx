#include "medsegSegmentationMetrics.h"

#include "medsegError.h"
#include "medsegGeometry.h"

#include "itkSignedMaurerDistanceMapImageFilter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

namespace medseg
{
namespace
{

using MaskImage3 = itk::Image<unsigned char, 3>;
using DistanceImage3 = itk::Image<float, 3>;
using LabelPixel = LabelImage3::PixelType;
constexpr std::size_t NumberOfLabelValues = static_cast<std::size_t>(std::numeric_limits<LabelPixel>::max()) + 1;

/** Voxel counts and the union bounding box of every label value, from one pass over both images. */
struct LabelCensus
{
  std::vector<std::size_t>         reference = std::vector<std::size_t>(NumberOfLabelValues, 0);
  std::vector<std::size_t>         prediction = std::vector<std::size_t>(NumberOfLabelValues, 0);
  std::vector<std::size_t>         both = std::vector<std::size_t>(NumberOfLabelValues, 0);
  std::vector<std::array<long, 6>> box = std::vector<std::array<long, 6>>(
    NumberOfLabelValues, { std::numeric_limits<long>::max(), std::numeric_limits<long>::max(),
                           std::numeric_limits<long>::max(), -1, -1, -1 });
};

void
Extend(std::array<long, 6> & box, long x, long y, long z)
{
  box[0] = std::min(box[0], x);
  box[1] = std::min(box[1], y);
  box[2] = std::min(box[2], z);
  box[3] = std::max(box[3], x);
  box[4] = std::max(box[4], y);
  box[5] = std::max(box[5], z);
}

LabelCensus
TakeCensus(const LabelPixel * ref, const LabelPixel * pred, const std::array<long, 3> & size)
{
  LabelCensus census;
  std::size_t i = 0;
  for (long z = 0; z < size[2]; ++z)
  {
    for (long y = 0; y < size[1]; ++y)
    {
      for (long x = 0; x < size[0]; ++x, ++i)
      {
        const LabelPixel r = ref[i], p = pred[i];
        ++census.reference[r];
        ++census.prediction[p];
        if (r == p)
        {
          ++census.both[r];
        }
        // Counting is cheap; bounding boxes are only needed for foreground voxels.
        if (r != 0)
        {
          Extend(census.box[r], x, y, z);
        }
        if (p != 0 && p != r)
        {
          Extend(census.box[p], x, y, z);
        }
      }
    }
  }
  return census;
}

/** Surface voxels of `label` in `image`, inside `box` (x0,y0,z0,x1,y1,z1 inclusive), as a mask
 * image of the box's size with the image spacing. Face neighbours outside the image count as
 * outside the label, except along z in an image of one slice: a 2D image's surface is its
 * in-plane contour. */
MaskImage3::Pointer
SurfaceMask(const LabelPixel * image, const std::array<long, 3> & size, const std::array<long, 6> & box,
            LabelPixel label, const LabelImage3::SpacingType & spacing, std::size_t & surfaceVoxels)
{
  auto                  mask = MaskImage3::New();
  MaskImage3::SizeType  boxSize = { { static_cast<itk::SizeValueType>(box[3] - box[0] + 1),
                                     static_cast<itk::SizeValueType>(box[4] - box[1] + 1),
                                     static_cast<itk::SizeValueType>(box[5] - box[2] + 1) } };
  mask->SetRegions(boxSize);
  mask->SetSpacing(spacing);
  mask->Allocate();
  mask->FillBuffer(0);
  unsigned char * out = mask->GetBufferPointer();
  const long      sx = size[0], sxy = size[0] * size[1];
  const bool      planar = size[2] == 1;
  surfaceVoxels = 0;
  std::size_t o = 0;
  for (long z = box[2]; z <= box[5]; ++z)
  {
    for (long y = box[1]; y <= box[4]; ++y)
    {
      for (long x = box[0]; x <= box[3]; ++x, ++o)
      {
        const std::size_t i = static_cast<std::size_t>(x + y * sx + z * sxy);
        if (image[i] != label)
        {
          continue;
        }
        const bool surface = x == 0 || y == 0 || x == size[0] - 1 || y == size[1] - 1 || image[i - 1] != label ||
                             image[i + 1] != label || image[i - sx] != label || image[i + sx] != label ||
                             (!planar && (z == 0 || z == size[2] - 1 || image[i - sxy] != label ||
                                          image[i + sxy] != label));
        if (surface)
        {
          out[o] = 1;
          ++surfaceVoxels;
        }
      }
    }
  }
  return mask;
}

/** Distance (mm) from every voxel of the mask's grid to the nearest voxel of the mask. */
DistanceImage3::Pointer
DistanceTo(const MaskImage3 * mask)
{
  auto filter = itk::SignedMaurerDistanceMapImageFilter<MaskImage3, DistanceImage3>::New();
  filter->SetInput(mask);
  filter->SetUseImageSpacing(true);
  filter->SetSquaredDistance(false);
  filter->SetInsideIsPositive(false);
  filter->SetBackgroundValue(0);
  filter->Update();
  return filter->GetOutput();
}

/** Distances from the voxels of `from` to the set whose distance map is `to`. */
std::vector<double>
SurfaceDistances(const MaskImage3 * from, const DistanceImage3 * to, std::size_t count)
{
  std::vector<double>   distances;
  distances.reserve(count);
  const unsigned char * f = from->GetBufferPointer();
  const float *         d = to->GetBufferPointer();
  const std::size_t     n = from->GetBufferedRegion().GetNumberOfPixels();
  for (std::size_t i = 0; i < n; ++i)
  {
    if (f[i])
    {
      distances.push_back(std::max(0.0, static_cast<double>(d[i]))); // surface voxels of `to` are 0
    }
  }
  return distances;
}

void
SetEmptyCase(LabelMetrics & m)
{
  const bool   bothEmpty = m.referenceVoxels == 0 && m.predictionVoxels == 0;
  const double inf = std::numeric_limits<double>::infinity();
  m.dice = m.iou = m.surfaceDice = bothEmpty ? 1.0 : 0.0;
  m.hausdorff = m.hausdorff95 = m.averageSurfaceDistance = bothEmpty ? 0.0 : inf;
}

} // namespace

double
Percentile(std::vector<double> & values, double percentile)
{
  if (values.empty())
  {
    return 0.0;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(percentile, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const auto   lower = static_cast<std::size_t>(std::floor(rank));
  const auto   upper = std::min(lower + 1, values.size() - 1);
  return values[lower] + (rank - static_cast<double>(lower)) * (values[upper] - values[lower]);
}

SummaryStatistics
Summarize(const std::vector<double> & values)
{
  SummaryStatistics   s;
  std::vector<double> finite;
  for (const double v : values)
  {
    if (std::isfinite(v))
    {
      finite.push_back(v);
    }
    else
    {
      ++s.nonFinite;
    }
  }
  s.count = finite.size();
  if (finite.empty())
  {
    const double fill = s.nonFinite > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    s.mean = s.median = fill;
    return s;
  }
  s.mean = std::accumulate(finite.begin(), finite.end(), 0.0) / static_cast<double>(finite.size());
  if (finite.size() > 1)
  {
    double squares = 0.0;
    for (const double v : finite)
    {
      squares += (v - s.mean) * (v - s.mean);
    }
    s.std = std::sqrt(squares / static_cast<double>(finite.size() - 1));
  }
  s.median = Percentile(finite, 50.0);
  return s;
}

std::vector<LabelMetrics>
EvaluateSegmentation(const LabelImage3 * reference, const LabelImage3 * prediction, const EvaluationOptions & options)
{
  if (reference == nullptr || prediction == nullptr)
  {
    throw std::invalid_argument("EvaluateSegmentation: missing image");
  }
  const std::string difference = DescribeGeometryDifference(reference, prediction);
  if (!difference.empty())
  {
    throw InputError("prediction", difference + " (it must match the reference)");
  }
  if (!(options.surfaceTolerance >= 0.0) || !(options.percentile >= 0.0 && options.percentile <= 100.0))
  {
    throw std::invalid_argument("EvaluateSegmentation: tolerance must be >= 0 and percentile in [0, 100]");
  }
  const auto                region = reference->GetBufferedRegion();
  const std::array<long, 3> size = { static_cast<long>(region.GetSize(0)), static_cast<long>(region.GetSize(1)),
                                     static_cast<long>(region.GetSize(2)) };
  const LabelPixel *        ref = reference->GetBufferPointer();
  const LabelPixel *        pred = prediction->GetBufferPointer();
  const auto                spacing = reference->GetSpacing();
  const double              voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  const LabelCensus         census = TakeCensus(ref, pred, size);

  std::vector<unsigned int> labels = options.labels;
  if (labels.empty())
  {
    for (std::size_t l = 1; l < NumberOfLabelValues; ++l)
    {
      if (census.reference[l] + census.prediction[l] > 0)
      {
        labels.push_back(static_cast<unsigned int>(l));
      }
    }
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());

  std::vector<LabelMetrics> results;
  for (const unsigned int label : labels)
  {
    if (label >= NumberOfLabelValues)
    {
      throw std::invalid_argument("EvaluateSegmentation: label " + std::to_string(label) + " is out of range");
    }
    LabelMetrics m;
    m.label = label;
    m.referenceVoxels = census.reference[label];
    m.predictionVoxels = census.prediction[label];
    m.intersectionVoxels = census.both[label];
    m.referenceVolume = static_cast<double>(m.referenceVoxels) * voxelMl;
    m.predictionVolume = static_cast<double>(m.predictionVoxels) * voxelMl;
    m.volumeDifference = m.predictionVolume - m.referenceVolume;
    if (m.referenceVoxels == 0 || m.predictionVoxels == 0)
    {
      SetEmptyCase(m);
      results.push_back(m);
      continue;
    }
    const double sum = static_cast<double>(m.referenceVoxels + m.predictionVoxels);
    m.dice = 2.0 * static_cast<double>(m.intersectionVoxels) / sum;
    m.iou = static_cast<double>(m.intersectionVoxels) / (sum - static_cast<double>(m.intersectionVoxels));

    const auto  box = census.box[label];
    std::size_t referenceSurface = 0, predictionSurface = 0;
    const auto  referenceMask = SurfaceMask(ref, size, box, static_cast<LabelPixel>(label), spacing, referenceSurface);
    const auto  predictionMask = SurfaceMask(pred, size, box, static_cast<LabelPixel>(label), spacing, predictionSurface);
    auto toPrediction = SurfaceDistances(referenceMask, DistanceTo(predictionMask), referenceSurface);
    auto toReference = SurfaceDistances(predictionMask, DistanceTo(referenceMask), predictionSurface);

    const double total = static_cast<double>(toPrediction.size() + toReference.size());
    double       within = 0.0, sumDistances = 0.0;
    for (const auto * distances : { &toPrediction, &toReference })
    {
      for (const double d : *distances)
      {
        sumDistances += d;
        within += d <= options.surfaceTolerance + 1e-9 ? 1.0 : 0.0;
      }
    }
    m.averageSurfaceDistance = sumDistances / total;
    m.surfaceDice = within / total;
    m.hausdorff = std::max(*std::max_element(toPrediction.begin(), toPrediction.end()),
                           *std::max_element(toReference.begin(), toReference.end()));
    m.hausdorff95 = std::max(Percentile(toPrediction, options.percentile), Percentile(toReference, options.percentile));
    results.push_back(m);
  }
  return results;
}

} // namespace medseg
