#include "medsegVtkImageBridge.h"

#include <vtkDataArray.h>
#include <vtkFloatArray.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkUnsignedShortArray.h>

#include <algorithm>
#include <stdexcept>

namespace medseg
{

namespace
{

/** Copies the geometry and the buffer of one ITK image into a vtkImageData (any scalar type). */
template <typename TImage, typename TArray>
struct CopyImageFunctor
{
  vtkSmartPointer<vtkImageData>
  operator()(const TImage * image) const
  {
    if (image == nullptr)
    {
      throw std::invalid_argument("ImageToVTKImageData: null image");
    }
    const auto region = image->GetBufferedRegion();
    int        extent[6];
    double     spacing[3], origin[3], direction[9];
    for (unsigned int d = 0; d < 3; ++d)
    {
      extent[2 * d] = static_cast<int>(region.GetIndex(d));
      extent[2 * d + 1] = static_cast<int>(region.GetIndex(d) + static_cast<long>(region.GetSize(d)) - 1);
      spacing[d] = image->GetSpacing()[d];
      origin[d] = image->GetOrigin()[d];
      for (unsigned int e = 0; e < 3; ++e)
      {
        direction[3 * d + e] = image->GetDirection()[d][e];
      }
    }
    auto output = vtkSmartPointer<vtkImageData>::New();
    output->SetExtent(extent);
    output->SetSpacing(spacing);
    output->SetOrigin(origin);
    output->SetDirectionMatrix(direction);

    const auto count = static_cast<vtkIdType>(region.GetNumberOfPixels());
    vtkNew<TArray> scalars;
    scalars->SetName("ImageScalars");
    scalars->SetNumberOfComponents(1);
    scalars->SetNumberOfTuples(count);
    std::copy_n(image->GetBufferPointer(), count, scalars->GetPointer(0));
    output->GetPointData()->SetScalars(scalars);
    return output;
  }
};

} // namespace

vtkSmartPointer<vtkImageData>
ImageToVTKImageData(const FloatImage3 * image)
{
  return CopyImageFunctor<FloatImage3, vtkFloatArray>()(image);
}

vtkSmartPointer<vtkImageData>
ImageToVTKImageData(const LabelImage3 * image)
{
  return CopyImageFunctor<LabelImage3, vtkUnsignedShortArray>()(image);
}

vtkSmartPointer<vtkMatrix4x4>
IndexToWorldMatrix(const itk::ImageBase<3> * image)
{
  auto matrix = vtkSmartPointer<vtkMatrix4x4>::New();
  for (unsigned int r = 0; r < 3; ++r)
  {
    for (unsigned int c = 0; c < 3; ++c)
    {
      matrix->SetElement(r, c, image->GetDirection()[r][c] * image->GetSpacing()[c]);
    }
    matrix->SetElement(r, 3, image->GetOrigin()[r]);
  }
  return matrix;
}

} // namespace medseg
