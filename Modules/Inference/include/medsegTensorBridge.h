#ifndef medsegTensorBridge_h
#define medsegTensorBridge_h

#include "medsegImageTypes.h"

#include <ATen/ATen.h>

namespace medseg
{

/** \brief Views an ITK float volume as a tensor without copying.
 *
 * Axis order: ITK stores x fastest, then y, then z, so the buffer is a contiguous tensor of
 * shape [1, 1, Z, Y, X] (N, C, D, H, W): tensor index [0, 0, z, y, x] is ITK index (x, y, z).
 * The tensor keeps `image` alive. Writing through the tensor writes into the image. */
at::Tensor
ImageToTensor(const FloatImage3 * image);

/** Views a multi-component image (components fastest) as [1, C, Z, Y, X] without copying.
 * The result is a strided (non-contiguous) view; it keeps `image` alive. */
at::Tensor
ImageToTensor(const ProbabilityImage3 * image);

/** \brief Copies a [Z, Y, X] tensor into a new ITK image with the geometry of `reference`.
 *
 * Values are converted to TImage's pixel type. Throws std::invalid_argument when the shape does
 * not match the reference's size. */
template <typename TImage>
typename TImage::Pointer
TensorToImage(const at::Tensor & tensor, const itk::ImageBase<3> * reference);

/** Copies a [C, Z, Y, X] tensor into a new C-component image with the geometry of `reference`. */
ProbabilityImage3::Pointer
TensorToVectorImage(const at::Tensor & tensor, const itk::ImageBase<3> * reference);

} // namespace medseg

#ifndef ITK_MANUAL_INSTANTIATION
#  include "medsegTensorBridge.hxx"
#endif

#endif
