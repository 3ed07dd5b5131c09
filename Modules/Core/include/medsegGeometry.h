#ifndef medsegGeometry_h
#define medsegGeometry_h

#include "itkImageBase.h"

#include <string>

namespace medseg
{

using Spacing3 = itk::ImageBase<3>::SpacingType;
using Origin3 = itk::ImageBase<3>::PointType;
using Direction3 = itk::ImageBase<3>::DirectionType;

/** True when the columns of `direction` are unit length and pairwise orthogonal within `tolerance`. */
bool
IsOrthonormal(const Direction3 & direction, double tolerance = 1e-3);

/** Throws InputError(subject, ...) unless every spacing is finite and > 0, the origin is finite and
 * the direction is finite and orthonormal. */
void
ValidateGeometry(const Spacing3 & spacing, const Origin3 & origin, const Direction3 & direction,
                 const std::string & subject);

/** \brief Names the first geometric field in which `a` and `b` differ, or returns "" when they agree.
 *
 * Compares size, spacing, origin (tolerances relative to the spacing) and direction (absolute).
 * The text reads like "spacing differs: [1, 1, 1] vs [1, 1, 2]". */
std::string
DescribeGeometryDifference(const itk::ImageBase<3> * a, const itk::ImageBase<3> * b, double tolerance = 1e-4);

} // namespace medseg

#endif
