#ifndef medsegImageTypes_h
#define medsegImageTypes_h

#include "itkImage.h"
#include "itkVectorImage.h"

namespace medseg
{

/** The intensity image every MedSeg filter reads: ITK's x-fastest float volume. */
using FloatImage3 = itk::Image<float, 3>;

/** Per-voxel class probabilities: one component per class, components fastest. */
using ProbabilityImage3 = itk::VectorImage<float, 3>;

/** Label maps as MedSeg reads them for post-processing and evaluation. */
using LabelImage3 = itk::Image<unsigned short, 3>;

} // namespace medseg

#endif
