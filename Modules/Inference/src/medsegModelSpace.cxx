#include "medsegModelSpace.h"

#include "itkDiscreteGaussianImageFilter.h"
#include "itkIdentityTransform.h"
#include "itkLinearInterpolateImageFunction.h"
#include "itkNearestNeighborExtrapolateImageFunction.h"
#include "itkOrientImageFilter.h"
#include "itkResampleImageFilter.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace medseg
{

Direction3
DirectionFromAxisCodes(const std::string & codes)
{
  if (codes.size() != 3)
  {
    throw std::invalid_argument("axis codes must be three letters such as RAS, got '" + codes + "'");
  }
  Direction3    direction;
  std::set<int> used;
  direction.Fill(0.0);
  for (unsigned int axis = 0; axis < 3; ++axis)
  {
    int    world = -1;
    double sign = 1.0;
    switch (codes[axis])
    {
      case 'L': world = 0; sign = 1.0; break;  // LPS: +x is Left
      case 'R': world = 0; sign = -1.0; break;
      case 'P': world = 1; sign = 1.0; break;  // +y is Posterior
      case 'A': world = 1; sign = -1.0; break;
      case 'S': world = 2; sign = 1.0; break;  // +z is Superior
      case 'I': world = 2; sign = -1.0; break;
      default:
        throw std::invalid_argument("unknown axis code '" + std::string(1, codes[axis]) + "' in '" + codes + "'");
    }
    if (!used.insert(world).second)
    {
      throw std::invalid_argument("axis codes '" + codes + "' name one direction twice");
    }
    direction[world][axis] = sign;
  }
  return direction;
}

std::string
AxisCodesFromDirection(const Direction3 & direction)
{
  static const char positive[3] = { 'L', 'P', 'S' };
  static const char negative[3] = { 'R', 'A', 'I' };
  std::string       codes;
  for (unsigned int axis = 0; axis < 3; ++axis)
  {
    unsigned int best = 0;
    for (unsigned int w = 1; w < 3; ++w)
    {
      if (std::abs(direction[w][axis]) > std::abs(direction[best][axis]))
        best = w;
    }
    codes.push_back(direction[best][axis] >= 0 ? positive[best] : negative[best]);
  }
  return codes;
}

FloatImage3::Pointer
ReorientImage(const FloatImage3 * image, const std::string & codes)
{
  auto orient = itk::OrientImageFilter<FloatImage3, FloatImage3>::New();
  orient->UseImageDirectionOn();
  orient->SetDesiredCoordinateDirection(DirectionFromAxisCodes(codes));
  orient->SetInput(image);
  orient->Update();
  FloatImage3::Pointer out = orient->GetOutput();
  out->DisconnectPipeline();
  return out;
}

FloatImage3::Pointer
ResampleToSpacing(const FloatImage3 * image, const std::array<double, 3> & spacing)
{
  // Already at that spacing: nothing to resample (no interpolation, no copy).
  bool same = true;
  for (unsigned int d = 0; d < 3; ++d)
    same = same && std::abs(image->GetSpacing()[d] - spacing[d]) <= 1e-6 * spacing[d];
  if (same)
  {
    return const_cast<FloatImage3 *>(image);
  }
  const auto            size = image->GetLargestPossibleRegion().GetSize();
  FloatImage3::SizeType newSize;
  Spacing3              newSpacing;
  for (unsigned int d = 0; d < 3; ++d)
  {
    newSpacing[d] = spacing[d];
    newSize[d] = std::max<itk::SizeValueType>(
      1, static_cast<itk::SizeValueType>(std::llround(size[d] * image->GetSpacing()[d] / spacing[d])));
  }
  // Downsampling aliases fine structure into the coarse grid: smooth first along every axis that
  // gets coarser, with sigma = (factor - 1) / 2 input voxels (the usual anti-aliasing choice).
  FloatImage3::ConstPointer source = image;
  itk::FixedArray<double, 3> variance;
  bool                       smooth = false;
  for (unsigned int d = 0; d < 3; ++d)
  {
    const double factor = spacing[d] / image->GetSpacing()[d];
    const double sigma = factor > 1.0 ? (factor - 1.0) / 2.0 * image->GetSpacing()[d] : 0.0; // mm
    variance[d] = sigma * sigma;
    smooth = smooth || sigma > 0.0;
  }
  FloatImage3::Pointer smoothed;
  if (smooth)
  {
    auto gaussian = itk::DiscreteGaussianImageFilter<FloatImage3, FloatImage3>::New();
    gaussian->SetInput(image);
    gaussian->SetVariance(variance);
    gaussian->SetUseImageSpacing(true);
    gaussian->SetMaximumKernelWidth(64);
    gaussian->Update();
    smoothed = gaussian->GetOutput();
    smoothed->DisconnectPipeline();
    source = smoothed;
  }
  auto resample = itk::ResampleImageFilter<FloatImage3, FloatImage3>::New();
  resample->SetInput(source);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<FloatImage3, double>::New());
  resample->SetExtrapolator(itk::NearestNeighborExtrapolateImageFunction<FloatImage3, double>::New());
  resample->SetOutputSpacing(newSpacing);
  resample->SetOutputOrigin(image->GetOrigin());
  resample->SetOutputDirection(image->GetDirection());
  resample->SetSize(newSize);
  resample->Update();
  FloatImage3::Pointer out = resample->GetOutput();
  out->DisconnectPipeline();
  return out;
}

FloatImage3::Pointer
ResampleOnto(const FloatImage3 * image, const itk::ImageBase<3> * reference)
{
  auto resample = itk::ResampleImageFilter<FloatImage3, FloatImage3>::New();
  resample->SetInput(image);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<FloatImage3, double>::New());
  resample->SetExtrapolator(itk::NearestNeighborExtrapolateImageFunction<FloatImage3, double>::New());
  resample->SetOutputParametersFromImage(reference);
  resample->Update();
  FloatImage3::Pointer out = resample->GetOutput();
  out->DisconnectPipeline();
  return out;
}

ProbabilityImage3::Pointer
ResampleProbabilitiesOnto(const ProbabilityImage3 * probabilities, const itk::ImageBase<3> * reference)
{
  using Resample = itk::ResampleImageFilter<ProbabilityImage3, ProbabilityImage3>;
  auto resample = Resample::New();
  resample->SetInput(probabilities);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<ProbabilityImage3, double>::New());
  resample->SetExtrapolator(itk::NearestNeighborExtrapolateImageFunction<ProbabilityImage3, double>::New());
  ProbabilityImage3::PixelType zero(probabilities->GetNumberOfComponentsPerPixel());
  zero.Fill(0.0f);
  resample->SetDefaultPixelValue(zero);
  resample->SetOutputParametersFromImage(reference);
  resample->Update();
  ProbabilityImage3::Pointer out = resample->GetOutput();
  out->DisconnectPipeline();
  return out;
}

std::optional<itk::ImageRegion<3>>
NonzeroBoundingRegion(const std::vector<FloatImage3::Pointer> & channels)
{
  if (channels.empty())
  {
    throw std::invalid_argument("NonzeroBoundingRegion: no channels");
  }
  const itk::ImageRegion<3> largest = channels.front()->GetLargestPossibleRegion();
  const auto                size = largest.GetSize();
  int64_t                   low[3] = { static_cast<int64_t>(size[0]), static_cast<int64_t>(size[1]),
                     static_cast<int64_t>(size[2]) };
  int64_t                   high[3] = { -1, -1, -1 }; // inclusive
  for (const auto & channel : channels)
  {
    if (channel->GetBufferedRegion() != largest)
    {
      throw std::invalid_argument("NonzeroBoundingRegion: every channel must hold the first one's whole grid");
    }
    const float * voxel = channel->GetBufferPointer();
    for (int64_t z = 0; z < static_cast<int64_t>(size[2]); ++z)
    {
      for (int64_t y = 0; y < static_cast<int64_t>(size[1]); ++y, voxel += size[0])
      {
        int64_t first = -1, last = -1;
        for (int64_t x = 0; x < static_cast<int64_t>(size[0]); ++x)
        {
          if (voxel[x] != 0.0f)
          {
            first = x;
            break;
          }
        }
        if (first < 0)
          continue;
        for (int64_t x = static_cast<int64_t>(size[0]) - 1; x >= first; --x)
        {
          if (voxel[x] != 0.0f)
          {
            last = x;
            break;
          }
        }
        low[0] = std::min(low[0], first);
        high[0] = std::max(high[0], last);
        low[1] = std::min(low[1], y);
        high[1] = std::max(high[1], y);
        low[2] = std::min(low[2], z);
        high[2] = std::max(high[2], z);
      }
    }
  }
  if (high[0] < 0)
  {
    return std::nullopt;
  }
  itk::ImageRegion<3> box;
  for (unsigned int d = 0; d < 3; ++d)
  {
    box.SetIndex(d, largest.GetIndex(d) + low[d]);
    box.SetSize(d, static_cast<itk::SizeValueType>(high[d] - low[d] + 1));
  }
  return box;
}

FloatImage3::Pointer
CropImage(const FloatImage3 * image, const itk::ImageRegion<3> & region)
{
  if (!image->GetBufferedRegion().IsInside(region))
  {
    throw std::invalid_argument("CropImage: the region is not inside the image's buffer");
  }
  auto out = FloatImage3::New();
  out->CopyInformation(image);
  out->SetRegions(region);
  out->Allocate();
  float *       o = out->GetBufferPointer();
  const size_t  row = region.GetSize(0);
  itk::Index<3> index = region.GetIndex();
  for (itk::SizeValueType z = 0; z < region.GetSize(2); ++z)
  {
    for (itk::SizeValueType y = 0; y < region.GetSize(1); ++y, o += row)
    {
      index[1] = region.GetIndex(1) + static_cast<itk::IndexValueType>(y);
      index[2] = region.GetIndex(2) + static_cast<itk::IndexValueType>(z);
      std::copy_n(image->GetBufferPointer() + image->ComputeOffset(index), row, o);
    }
  }
  return out;
}

} // namespace medseg
