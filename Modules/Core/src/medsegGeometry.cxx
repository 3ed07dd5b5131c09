#include "medsegGeometry.h"

#include "medsegError.h"

#include <cmath>
#include <sstream>

namespace medseg
{

namespace
{
template <typename TVector>
std::string
Format(const TVector & v, unsigned int n = 3)
{
  std::ostringstream os;
  os << '[';
  for (unsigned int i = 0; i < n; ++i)
  {
    os << (i ? ", " : "") << v[i];
  }
  os << ']';
  return os.str();
}

std::string
FormatMatrix(const Direction3 & d)
{
  std::ostringstream os;
  os << '[';
  for (unsigned int r = 0; r < 3; ++r)
  {
    os << (r ? "; " : "") << d[r][0] << ' ' << d[r][1] << ' ' << d[r][2];
  }
  os << ']';
  return os.str();
}
} // namespace

bool
IsOrthonormal(const Direction3 & direction, double tolerance)
{
  for (unsigned int i = 0; i < 3; ++i)
  {
    for (unsigned int j = i; j < 3; ++j)
    {
      double dot = 0.0;
      for (unsigned int r = 0; r < 3; ++r)
      {
        dot += direction[r][i] * direction[r][j];
      }
      const double expected = (i == j) ? 1.0 : 0.0;
      if (!std::isfinite(dot) || std::abs(dot - expected) > tolerance)
      {
        return false;
      }
    }
  }
  return true;
}

void
ValidateGeometry(const Spacing3 & spacing, const Origin3 & origin, const Direction3 & direction,
                 const std::string & subject)
{
  for (unsigned int i = 0; i < 3; ++i)
  {
    if (!std::isfinite(spacing[i]) || spacing[i] <= 0.0)
    {
      std::ostringstream os;
      os << "spacing along axis " << i << " is " << spacing[i] << " (must be finite and > 0)";
      throw InputError(subject, os.str());
    }
    if (!std::isfinite(origin[i]))
    {
      throw InputError(subject, "origin " + Format(origin) + " is not finite");
    }
  }
  if (!IsOrthonormal(direction))
  {
    throw InputError(subject, "direction matrix " + FormatMatrix(direction) + " is not orthonormal");
  }
}

std::string
DescribeGeometryDifference(const itk::ImageBase<3> * a, const itk::ImageBase<3> * b, double tolerance)
{
  const auto sizeA = a->GetLargestPossibleRegion().GetSize();
  const auto sizeB = b->GetLargestPossibleRegion().GetSize();
  if (sizeA != sizeB)
  {
    return "size differs: " + Format(sizeA) + " vs " + Format(sizeB);
  }
  for (unsigned int i = 0; i < 3; ++i)
  {
    const double scale = std::max(std::abs(a->GetSpacing()[i]), 1.0);
    if (std::abs(a->GetSpacing()[i] - b->GetSpacing()[i]) > tolerance * scale)
    {
      return "spacing differs: " + Format(a->GetSpacing()) + " vs " + Format(b->GetSpacing());
    }
  }
  for (unsigned int i = 0; i < 3; ++i)
  {
    const double scale = std::max(std::abs(a->GetSpacing()[i]), 1.0);
    if (std::abs(a->GetOrigin()[i] - b->GetOrigin()[i]) > tolerance * scale)
    {
      return "origin differs: " + Format(a->GetOrigin()) + " vs " + Format(b->GetOrigin());
    }
  }
  for (unsigned int r = 0; r < 3; ++r)
  {
    for (unsigned int c = 0; c < 3; ++c)
    {
      if (std::abs(a->GetDirection()[r][c] - b->GetDirection()[r][c]) > tolerance)
      {
        return "direction differs: " + FormatMatrix(a->GetDirection()) + " vs " + FormatMatrix(b->GetDirection());
      }
    }
  }
  return {};
}

} // namespace medseg
