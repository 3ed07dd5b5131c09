#include "medsegTestHelpers.h"

#include <cstdint>
#include <cstring>

#include "itkImageRegionIteratorWithIndex.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace medseg::test
{

TemporaryDirectory::TemporaryDirectory()
{
  std::string templ = (std::filesystem::temp_directory_path() / "medseg-test-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
  {
    throw std::runtime_error("cannot create a temporary folder");
  }
  m_Path = templ;
}

TemporaryDirectory::~TemporaryDirectory()
{
  std::error_code ignored;
  std::filesystem::remove_all(m_Path, ignored);
}

Geometry
WithDirection(Geometry g, const std::string & name)
{
  if (name == "identity" || name == "LPS")
  {
    g.direction = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
  }
  else if (name == "RAS")
  {
    g.direction = { -1, 0, 0, 0, -1, 0, 0, 0, 1 };
  }
  else if (name == "permuted")
  {
    g.direction = { 0, 0, 1, 1, 0, 0, 0, 1, 0 };
  }
  else if (name == "oblique")
  {
    // 20 degrees about z, then 10 about x: orthonormal but not axis-aligned.
    const double a = 20.0 * M_PI / 180.0, b = 10.0 * M_PI / 180.0;
    const double ca = std::cos(a), sa = std::sin(a), cb = std::cos(b), sb = std::sin(b);
    g.direction = { ca, -sa * cb, sa * sb, sa, ca * cb, -ca * sb, 0, sb, cb };
  }
  else
  {
    throw std::invalid_argument("unknown direction " + name);
  }
  return g;
}

FloatImage3::Pointer
MakeImage(const Geometry & geometry, const std::function<float(long, long, long)> & value)
{
  auto                    image = FloatImage3::New();
  FloatImage3::SizeType   size;
  FloatImage3::SpacingType spacing;
  FloatImage3::PointType  origin;
  FloatImage3::DirectionType direction;
  for (unsigned int i = 0; i < 3; ++i)
  {
    size[i] = geometry.size[i];
    spacing[i] = geometry.spacing[i];
    origin[i] = geometry.origin[i];
    for (unsigned int j = 0; j < 3; ++j)
    {
      direction[i][j] = geometry.direction[3 * i + j];
    }
  }
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<FloatImage3> it(image, image->GetBufferedRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    const auto idx = it.GetIndex();
    it.Set(value(idx[0], idx[1], idx[2]));
  }
  return image;
}

FloatImage3::Pointer
MakeBallPhantom(const Geometry & geometry, std::array<double, 3> centre, double radius, float inside, float outside)
{
  return MakeImage(geometry, [&](long x, long y, long z) {
    const double dx = x - centre[0], dy = y - centre[1], dz = z - centre[2];
    return dx * dx + dy * dy + dz * dz <= radius * radius ? inside : outside;
  });
}

std::string
Nifti1Header(short nx, short ny, short nz, bool analyze)
{
  std::string   h(352, '\0');
  const int32_t sizeofHeader = 348;
  std::memcpy(&h[0], &sizeofHeader, 4);
  const int16_t dim[8] = { 3, nx, ny, nz, 1, 1, 1, 1 };
  std::memcpy(&h[40], dim, sizeof(dim));
  const int16_t datatype = 16, bitpix = 32;
  std::memcpy(&h[70], &datatype, 2);
  std::memcpy(&h[72], &bitpix, 2);
  const float pixdim[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
  std::memcpy(&h[76], pixdim, sizeof(pixdim));
  const float offset = 352.0f;
  std::memcpy(&h[108], &offset, 4);
  if (analyze)
    h[38] = 'r'; // regular
  else
    std::memcpy(&h[344], "n+1\0", 4);
  return h;
}

void
WriteText(const std::string & path, const std::string & text)
{
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out)
  {
    throw std::runtime_error("cannot write " + path);
  }
}

std::string
ReadText(const std::string & path)
{
  std::ifstream      in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

} // namespace medseg::test
