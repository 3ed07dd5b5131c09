// medseg-make-demo-data: the reference masks and the held-out transformed copy of the demo model.
//
//   medseg-make-demo-data TEMPLATES_DIR OUTPUT_DIR [ITK_EXAMPLES_DATA_DIR]
//
// Writes into OUTPUT_DIR:
//   ch2-mask.nii.gz            ch2bet.nii.gz > 0, on ch2.nii.gz's grid (the training label)
//   ch2better-rot15.nii.gz     ch2better.nii.gz (0.5 mm) rotated by 15 degrees about the
//                              left-right axis through its centre (linear), stored with its voxel
//                              axes permuted and flipped ("SPL" instead of the file's own)
//   ch2better-rot15-mask.nii.gz the ch2bet mask resampled (nearest) onto ch2better, rotated the
//                              same way (nearest) and stored on the same grid
//   ch2-val.nii.gz, ch2-val-mask.nii.gz  the validation copy used while training: ch2 rotated by
//                              -10 degrees about the anterior-posterior axis and 8 degrees about the
//                              inferior-superior axis, stored with axes "ASR" (ch2better is never
//                              seen during training)
//   ch2-zero-fov.nii.gz, ch2-zero-fov-mask.nii.gz  ch2 and its mask in the middle of a zero-filled
//                              field of view twice as large along each axis (same spacing and axes);
//                              ch2-zero-fov-box.nii.gz marks where ch2 itself lies in it
//   ch2-head.nii.gz            ch2 with its background set to exactly zero: kept where ch2 > 20 in
//                              the largest connected component, holes filled (the head), a
//                              training variant of the same subject for scans whose background is
//                              zero (skull-stripped-style backgrounds, as ch2better's); label: ch2-mask
//   unseen-t1-mask.nii.gz      with ITK_EXAMPLES_DATA_DIR (Debian's insighttoolkit5-examples):
//                              KmeansTest_T1RawSkullStrip.nii.gz > 0, the reference brain mask of
//                              KmeansTest_T1UCharRaw.nii.gz, a T1 of another person (2 x 2 x 3 mm,
//                              stored LSA, background exactly zero). Evaluation only: never trained on.
#include "medsegComponentSelectionLabelImageFilter.h"
#include "medsegHoleFillingLabelImageFilter.h"
#include "medsegImageFileIO.h"
#include "medsegModelSpace.h"

#include "itkEuler3DTransform.h"
#include "itkLinearInterpolateImageFunction.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"

#include <cmath>
#include <filesystem>
#include <iostream>

namespace
{
using medseg::FloatImage3;

FloatImage3::Pointer
Resample(const FloatImage3 * image, const itk::ImageBase<3> * grid, const itk::Transform<double, 3, 3> * transform,
         bool nearest)
{
  auto filter = itk::ResampleImageFilter<FloatImage3, FloatImage3>::New();
  filter->SetInput(image);
  filter->SetOutputParametersFromImage(grid);
  filter->SetTransform(transform);
  filter->SetDefaultPixelValue(0.0f);
  if (nearest)
    filter->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<FloatImage3, double>::New());
  else
    filter->SetInterpolator(itk::LinearInterpolateImageFunction<FloatImage3, double>::New());
  filter->Update();
  return filter->GetOutput();
}

/** A new image of type TImage on the grid of `image` (contents not set). */
template <typename TImage>
typename TImage::Pointer
AllocateLike(const FloatImage3 * image)
{
  auto result = TImage::New();
  result->CopyInformation(image);
  result->SetRegions(image->GetLargestPossibleRegion());
  result->Allocate();
  return result;
}

FloatImage3::Pointer
Binarized(const FloatImage3 * image)
{
  auto mask = AllocateLike<FloatImage3>(image);
  const size_t n = image->GetLargestPossibleRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
    mask->GetBufferPointer()[i] = image->GetBufferPointer()[i] > 0.0f ? 1.0f : 0.0f;
  return mask;
}

/** `image` where it is above `threshold` in its largest component, holes filled; 0 elsewhere. */
FloatImage3::Pointer
HeadOnly(const FloatImage3 * image, float threshold)
{
  using medseg::LabelImage3;
  auto above = AllocateLike<LabelImage3>(image);
  const size_t n = image->GetLargestPossibleRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
    above->GetBufferPointer()[i] = image->GetBufferPointer()[i] > threshold ? 1 : 0;
  auto largest = medseg::ComponentSelectionLabelImageFilter<LabelImage3>::New();
  largest->SetInput(above);
  auto filled = medseg::HoleFillingLabelImageFilter<LabelImage3>::New();
  filled->SetInput(largest->GetOutput());
  filled->Update();
  auto head = AllocateLike<FloatImage3>(image);
  for (size_t i = 0; i < n; ++i)
    head->GetBufferPointer()[i] = filled->GetOutput()->GetBufferPointer()[i] ? image->GetBufferPointer()[i] : 0.0f;
  return head;
}

/** `image` in the middle of a zero-filled grid twice as large along each axis. */
FloatImage3::Pointer
InDoubleFieldOfView(const FloatImage3 * image)
{
  auto grid = FloatImage3::New();
  grid->CopyInformation(image);
  FloatImage3::SizeType size = image->GetLargestPossibleRegion().GetSize();
  itk::ContinuousIndex<double, 3> shift;
  for (unsigned d = 0; d < 3; ++d)
  {
    shift[d] = -static_cast<double>(size[d] / 2);
    size[d] *= 2;
  }
  FloatImage3::PointType origin;
  image->TransformContinuousIndexToPhysicalPoint(shift, origin);
  grid->SetOrigin(origin);
  grid->SetRegions(size);
  return Resample(image, grid, itk::IdentityTransform<double, 3>::New(), true);
}
} // namespace

int
main(int argc, char * argv[])
{
  if (argc != 3 && argc != 4)
  {
    std::cerr << "usage: medseg-make-demo-data TEMPLATES_DIR OUTPUT_DIR [ITK_EXAMPLES_DATA_DIR]\n";
    return 2;
  }
  try
  {
    medseg::RegisterImageIOFactories();
    const std::string in = argv[1], out = argv[2];
    std::filesystem::create_directories(out);
    const auto        ch2 = medseg::ReadScalarImage(in + "/ch2.nii.gz");
    const auto        bet = medseg::ReadScalarImage(in + "/ch2bet.nii.gz");
    const auto        better = medseg::ReadScalarImage(in + "/ch2better.nii.gz");

    const auto mask = Binarized(bet);
    auto identity = itk::IdentityTransform<double, 3>::New();
    const auto maskOnCh2 = Resample(mask, ch2, identity, true);
    medseg::WriteImageFile(maskOnCh2.GetPointer(), out + "/ch2-mask.nii.gz");
    medseg::WriteImageFile(InDoubleFieldOfView(ch2).GetPointer(), out + "/ch2-zero-fov.nii.gz");
    medseg::WriteImageFile(HeadOnly(ch2, 20.0f).GetPointer(), out + "/ch2-head.nii.gz");
    medseg::WriteImageFile(InDoubleFieldOfView(maskOnCh2).GetPointer(), out + "/ch2-zero-fov-mask.nii.gz");
    auto ones = Binarized(ch2);
    ones->FillBuffer(1.0f);
    medseg::WriteImageFile(InDoubleFieldOfView(ones).GetPointer(), out + "/ch2-zero-fov-box.nii.gz");
    if (argc == 4)
    {
      const auto strip = medseg::ReadScalarImage(std::string(argv[3]) + "/KmeansTest_T1RawSkullStrip.nii.gz");
      medseg::WriteImageFile(Binarized(strip).GetPointer(), out + "/unseen-t1-mask.nii.gz");
    }

    // Rotation by 15 degrees about the world x (left-right) axis through the centre of ch2better.
    const auto                  region = better->GetLargestPossibleRegion();
    itk::ContinuousIndex<double, 3> centreIndex;
    for (unsigned d = 0; d < 3; ++d)
      centreIndex[d] = (region.GetSize()[d] - 1) / 2.0;
    itk::Point<double, 3> centre;
    better->TransformContinuousIndexToPhysicalPoint(centreIndex, centre);
    auto rotation = itk::Euler3DTransform<double>::New();
    rotation->SetCenter(centre);
    rotation->SetRotation(15.0 * M_PI / 180.0, 0.0, 0.0);
    // The resampler maps output points through the transform to input points: the inverse of the
    // rotation applied to the content.
    auto inverse = itk::Euler3DTransform<double>::New();
    rotation->GetInverse(inverse);

    const auto maskOnBetter = Resample(mask, better, identity, true);
    const auto rotatedImage = Resample(better, better, inverse, false);
    const auto rotatedMask = Resample(maskOnBetter, better, inverse, true);
    {
      itk::ContinuousIndex<double, 3> c2;
      for (unsigned d = 0; d < 3; ++d)
        c2[d] = (ch2->GetLargestPossibleRegion().GetSize()[d] - 1) / 2.0;
      itk::Point<double, 3> centre2;
      ch2->TransformContinuousIndexToPhysicalPoint(c2, centre2);
      auto r2 = itk::Euler3DTransform<double>::New();
      r2->SetCenter(centre2);
      r2->SetRotation(0.0, -10.0 * M_PI / 180.0, 8.0 * M_PI / 180.0);
      auto r2inverse = itk::Euler3DTransform<double>::New();
      r2->GetInverse(r2inverse);
      medseg::WriteImageFile(medseg::ReorientImage(Resample(ch2, ch2, r2inverse, false), "ASR").GetPointer(),
                             out + "/ch2-val.nii.gz");
      medseg::WriteImageFile(medseg::ReorientImage(Resample(maskOnCh2, ch2, r2inverse, true), "ASR").GetPointer(),
                             out + "/ch2-val-mask.nii.gz");
    }
    const std::string codes = "SPL";
    medseg::WriteImageFile(medseg::ReorientImage(rotatedImage, codes).GetPointer(), out + "/ch2better-rot15.nii.gz");
    medseg::WriteImageFile(medseg::ReorientImage(rotatedMask, codes).GetPointer(), out + "/ch2better-rot15-mask.nii.gz");
    std::cout << "wrote " << out << "/ch2-mask.nii.gz, ch2better-rot15.nii.gz, ch2better-rot15-mask.nii.gz (axes "
              << codes << ", was " << medseg::AxisCodesFromDirection(better->GetDirection()) << ")\n";
    return 0;
  }
  catch (const std::exception & e)
  {
    std::cerr << "medseg-make-demo-data: " << e.what() << '\n';
    return 1;
  }
}
