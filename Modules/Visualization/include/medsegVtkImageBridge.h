#ifndef medsegVtkImageBridge_h
#define medsegVtkImageBridge_h

#include "medsegImageTypes.h"

#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkSmartPointer.h>

namespace medseg
{

/** \brief Copies an ITK image into a new vtkImageData with the same geometry.
 *
 * Extent = the buffered region's index range, spacing, origin and the direction matrix
 * (vtkImageData::SetDirectionMatrix, VTK >= 9) are taken from the ITK image, so
 * vtkImageData::TransformIndexToPhysicalPoint gives ITK's physical point, in ITK's LPS world.
 * The voxels are copied (x fastest in both libraries), into a point-data array "ImageScalars".
 *
 * Beware: most VTK filters (flying edges, marching cubes, reslice) ignore the direction matrix
 * and work in index*spacing+origin space; apply IndexToWorldMatrix() to their output yourself. */
vtkSmartPointer<vtkImageData>
ImageToVTKImageData(const FloatImage3 * image);

/** Same for a label map (unsigned short scalars). */
vtkSmartPointer<vtkImageData>
ImageToVTKImageData(const LabelImage3 * image);

/** The 4x4 homogeneous matrix mapping a (continuous) index (i, j, k, 1) to ITK's LPS world
 * point: world = origin + direction * diag(spacing) * index. */
vtkSmartPointer<vtkMatrix4x4>
IndexToWorldMatrix(const itk::ImageBase<3> * image);

} // namespace medseg

#endif
