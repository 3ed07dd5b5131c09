#ifndef medsegTensorBridge_hxx
#define medsegTensorBridge_hxx

#include <stdexcept>
#include <string>

namespace medseg
{

namespace detail
{
void
CheckShape(const at::Tensor & tensor, const itk::ImageBase<3> * reference, int64_t leadingDims);
}

template <typename TImage>
typename TImage::Pointer
TensorToImage(const at::Tensor & tensor, const itk::ImageBase<3> * reference)
{
  detail::CheckShape(tensor, reference, 0);
  using PixelType = typename TImage::PixelType;
  auto image = TImage::New();
  image->CopyInformation(reference);
  image->SetRegions(reference->GetLargestPossibleRegion());
  image->Allocate();
  const at::Tensor source = tensor.to(at::kCPU, at::kDouble).contiguous();
  const double *   in = source.data_ptr<double>();
  PixelType *      out = image->GetBufferPointer();
  const int64_t    n = source.numel();
  for (int64_t i = 0; i < n; ++i)
  {
    out[i] = static_cast<PixelType>(in[i]);
  }
  return image;
}

} // namespace medseg

#endif
