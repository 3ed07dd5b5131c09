#include "medsegTensorBridge.h"

#include <cstring>
#include <sstream>

namespace medseg
{

namespace detail
{
void
CheckShape(const at::Tensor & tensor, const itk::ImageBase<3> * reference, int64_t leadingDims)
{
  const auto size = reference->GetLargestPossibleRegion().GetSize();
  const auto dims = tensor.sizes();
  const bool ok = static_cast<int64_t>(dims.size()) == 3 + leadingDims &&
                  dims[leadingDims] == static_cast<int64_t>(size[2]) &&
                  dims[leadingDims + 1] == static_cast<int64_t>(size[1]) &&
                  dims[leadingDims + 2] == static_cast<int64_t>(size[0]);
  if (!ok)
  {
    std::ostringstream os;
    os << "tensor of shape " << tensor.sizes() << " does not match an image of size [" << size[0] << ", " << size[1]
       << ", " << size[2] << "] (expected [" << (leadingDims ? "C, " : "") << size[2] << ", " << size[1] << ", "
       << size[0] << "])";
    throw std::invalid_argument(os.str());
  }
}
} // namespace detail

at::Tensor
ImageToTensor(const FloatImage3 * image)
{
  const auto size = image->GetBufferedRegion().GetSize();
  // The buffer belongs to the pixel container, which outlives a re-allocated image.
  itk::SmartPointer<const FloatImage3::PixelContainer> keepAlive(image->GetPixelContainer());
  auto * data = const_cast<float *>(image->GetBufferPointer());
  return at::from_blob(
    data,
    { 1, 1, static_cast<int64_t>(size[2]), static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]) },
    [keepAlive](void *) {},
    at::TensorOptions().dtype(at::kFloat));
}

at::Tensor
ImageToTensor(const ProbabilityImage3 * image)
{
  const auto                      size = image->GetBufferedRegion().GetSize();
  const int64_t c = image->GetNumberOfComponentsPerPixel();
  itk::SmartPointer<const ProbabilityImage3::PixelContainer> keepAlive(image->GetPixelContainer());
  auto * data = const_cast<float *>(image->GetBufferPointer());
  at::Tensor zyxc = at::from_blob(
    data,
    { static_cast<int64_t>(size[2]), static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]), c },
    [keepAlive](void *) {},
    at::TensorOptions().dtype(at::kFloat));
  return zyxc.permute({ 3, 0, 1, 2 }).unsqueeze(0);
}

ProbabilityImage3::Pointer
TensorToVectorImage(const at::Tensor & tensor, const itk::ImageBase<3> * reference)
{
  detail::CheckShape(tensor, reference, 1);
  const int64_t c = tensor.size(0);
  auto          image = ProbabilityImage3::New();
  image->CopyInformation(reference);
  image->SetRegions(reference->GetLargestPossibleRegion());
  image->SetNumberOfComponentsPerPixel(static_cast<unsigned int>(c));
  image->Allocate();
  const at::Tensor zyxc = tensor.to(at::kCPU, at::kFloat).permute({ 1, 2, 3, 0 }).contiguous();
  std::memcpy(image->GetBufferPointer(), zyxc.data_ptr<float>(), sizeof(float) * static_cast<size_t>(zyxc.numel()));
  return image;
}

} // namespace medseg
