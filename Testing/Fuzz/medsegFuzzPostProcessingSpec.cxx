// libFuzzer target: the post-processing spec (`--postprocess "largest-component;..."`):
// ParsePostProcessingSpec and the helpers that take a spec text; a spec that parses is then run
// on a small label map (8 x 8 x 8 voxels, 1 mm, one ball) with an intensity image, so that a value
// the parser lets through but the filters cannot take (a radius that allocates gigabytes, a
// negative count) shows up as a crash, a time-out or an out-of-memory report.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegPostProcessingPipeline.h"

#include "itkMacro.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkObject.h"

namespace
{

template <typename TImage>
typename TImage::Pointer
MakeBall(typename TImage::PixelType inside)
{
  auto                       image = TImage::New();
  typename TImage::SizeType  size;
  size.Fill(8);
  image->SetRegions(typename TImage::RegionType(size));
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<TImage> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    double r2 = 0.0;
    for (unsigned int d = 0; d < 3; ++d)
    {
      const double x = it.GetIndex()[d] - 3.5;
      r2 += x * x;
    }
    it.Set(r2 <= 9.0 ? inside : typename TImage::PixelType{});
  }
  return image;
}

} // namespace

extern "C" int
LLVMFuzzerInitialize(int *, char ***)
{
  itk::Object::GlobalWarningDisplayOff();
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const medseg::LabelImage3::Pointer labels = MakeBall<medseg::LabelImage3>(1);
  static const medseg::FloatImage3::Pointer intensity = MakeBall<medseg::FloatImage3>(100.0f);
  const std::string                         spec = medseg::fuzz::AsString(data, size);
  std::vector<medseg::PostProcessingStep>   steps;
  medseg::PostProcessingSpec                parsed;
  try
  {
    steps = medseg::ParsePostProcessingSpec(spec);
    parsed = medseg::PostProcessingSpec::Parse(spec);
    (void)parsed.NeedsIntensity();
  }
  catch (const std::invalid_argument &)
  {
    return 0;
  }
  try
  {
    const medseg::LabelImage3::Pointer result = medseg::ApplyPostProcessing(labels, parsed, intensity);
    if (result->GetLargestPossibleRegion() != labels->GetLargestPossibleRegion())
    {
      __builtin_trap(); // the output must keep the input's grid
    }
  }
  catch (const std::invalid_argument &)
  {
  }
  catch (const medseg::InputError &)
  {
  }
  catch (const itk::ExceptionObject &)
  {
  }
  return 0;
}
