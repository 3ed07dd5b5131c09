// NIfTI-1 headers read directly: the sform ITK 5.2 passes over, and the affine nibabel computes.
#include "medsegNiftiHeader.h"

#include "medsegImagePayload.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

namespace medseg
{

/** Up to the first `count` bytes of a file, decompressed when it is gzip (zlib reads plain files
 * as they are); fewer when the file is shorter or its compression breaks off. */
std::string
detail::ReadFileHead(const std::string & path, size_t count)
{
  std::string head(count, '\0');
  gzFile      file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
  {
    return "";
  }
  const int got = gzread(file, head.data(), static_cast<unsigned>(count));
  gzclose(file);
  head.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return head;
}

std::optional<Nifti1Header>
ReadNifti1Header(const std::string & path)
{
  const std::string head = detail::ReadFileHead(path, 348);
  if (head.size() < 348)
  {
    return std::nullopt;
  }
  const char * h = head.data();
  int32_t      sizeofHeader = 0;
  std::memcpy(&sizeofHeader, h, 4);
  const bool swapped = sizeofHeader != 348;
  if (swapped && __builtin_bswap32(static_cast<uint32_t>(sizeofHeader)) != 348)
  {
    return std::nullopt;
  }
  if (std::memcmp(h + 344, "n+1", 3) != 0 && std::memcmp(h + 344, "ni1", 3) != 0)
  {
    return std::nullopt; // Analyze 7.5: no qform or sform
  }
  const auto int16At = [&](size_t offset) {
    uint16_t v = 0;
    std::memcpy(&v, h + offset, 2);
    return static_cast<int16_t>(swapped ? __builtin_bswap16(v) : v);
  };
  const auto floatAt = [&](size_t offset) {
    uint32_t v = 0;
    std::memcpy(&v, h + offset, 4);
    if (swapped)
      v = __builtin_bswap32(v);
    float f = 0.0f;
    std::memcpy(&f, &v, 4);
    return f;
  };
  Nifti1Header header;
  header.qformCode = int16At(252);
  header.sformCode = int16At(254);
  for (size_t i = 0; i < 8; ++i)
    header.pixdim[i] = floatAt(76 + 4 * i);
  for (size_t i = 0; i < 3; ++i)
  {
    header.quatern[i] = floatAt(256 + 4 * i);
    header.qoffset[i] = floatAt(268 + 4 * i);
    for (size_t c = 0; c < 4; ++c)
      header.srow[i][c] = floatAt(280 + 16 * i + 4 * c);
  }
  return header;
}

std::optional<std::array<double, 16>>
NibabelAffine(const Nifti1Header & header)
{
  std::array<double, 16> a{};
  a[15] = 1.0;
  if (header.sformCode > 0)
  {
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c)
        a[4 * r + c] = static_cast<double>(header.srow[r][c]);
    return a;
  }
  if (header.qformCode <= 0)
  {
    return std::nullopt;
  }
  // nibabel: fillpositive (w from b, c, d), quat2mat, times diag(voxel sizes), in long double.
  const long double x = header.quatern[0], y = header.quatern[1], z = header.quatern[2];
  const long double w2 = 1.0L - (x * x + y * y + z * z);
  const long double w = w2 < 0 ? 0.0L : std::sqrt(w2);
  const long double s = 2.0L / (w * w + x * x + y * y + z * z);
  const long double X = x * s, Y = y * s, Z = z * s;
  const long double R[3][3] = { { 1.0L - (y * Y + z * Z), x * Y - w * Z, x * Z + w * Y },
                                { x * Y + w * Z, 1.0L - (x * X + z * Z), y * Z - w * X },
                                { x * Z - w * Y, y * Z + w * X, 1.0L - (x * X + y * Y) } };
  std::array<float, 3> voxel{ { header.pixdim[1], header.pixdim[2], header.pixdim[3] } };
  if (header.pixdim[0] == -1.0f)
    voxel[2] = -voxel[2];
  for (int r = 0; r < 3; ++r)
  {
    for (int c = 0; c < 3; ++c)
      a[4 * r + c] = static_cast<double>(R[r][c] * static_cast<long double>(voxel[c]));
    a[4 * r + 3] = static_cast<double>(header.qoffset[r]);
  }
  return a;
}

std::optional<detail::NiftiSformGeometry>
detail::ReadNiftiSform(const std::string & path)
{
  const std::optional<Nifti1Header> header = ReadNifti1Header(path);
  if (!header || header->qformCode <= 0 || header->sformCode <= 0)
  {
    return std::nullopt; // one form only: ITK uses that one, as everybody does
  }
  double m[3][4];
  for (unsigned r = 0; r < 3; ++r)
  {
    for (unsigned c = 0; c < 4; ++c)
    {
      m[r][c] = header->srow[r][c];
    }
  }
  const double       lps[3] = { -1.0, -1.0, 1.0 }; // NIfTI world is RAS; ITK's is LPS
  detail::NiftiSformGeometry g;
  double             axes[3][3];
  for (unsigned c = 0; c < 3; ++c)
  {
    double norm = 0.0;
    for (unsigned r = 0; r < 3; ++r)
    {
      axes[c][r] = lps[r] * m[r][c];
      norm += axes[c][r] * axes[c][r];
    }
    norm = std::sqrt(norm);
    if (!(norm > 0.0) || !std::isfinite(norm))
    {
      return std::nullopt;
    }
    g.spacing[c] = norm;
    for (unsigned r = 0; r < 3; ++r)
    {
      axes[c][r] /= norm;
      g.direction[3 * r + c] = axes[c][r];
    }
    g.origin[c] = lps[c] * m[c][3];
  }
  for (unsigned a = 0; a < 3; ++a)
  {
    for (unsigned b = a + 1; b < 3; ++b)
    {
      const double dot = axes[a][0] * axes[b][0] + axes[a][1] * axes[b][1] + axes[a][2] * axes[b][2];
      if (std::abs(dot) > 1e-4)
      {
        return std::nullopt; // sheared: not an ITK geometry; ITK's qform stands
      }
    }
  }
  return g;
}


} // namespace medseg
