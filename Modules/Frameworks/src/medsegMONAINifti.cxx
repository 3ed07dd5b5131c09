// The affine nibabel gives a NIfTI-1 file, which MONAI's NibabelReader hands on: read from the
// header as nibabel computes it, so that MedSeg's MONAI path starts from MONAI's exact numbers.
#include "medsegMONAITransforms.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

namespace medseg
{

namespace
{

/** The first 348 bytes of a file, decompressed when it is gzip (zlib reads plain files as they are). */
std::string
ReadHeaderBytes(const std::string & path)
{
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
    return {};
  std::string head(348, '\0');
  const int   got = gzread(file, head.data(), static_cast<unsigned>(head.size()));
  gzclose(file);
  return got == 348 ? head : std::string();
}

} // namespace

std::optional<at::Tensor>
ReadNibabelAffine(const std::string & path)
{
  const std::string head = ReadHeaderBytes(path);
  if (head.empty())
    return std::nullopt;
  const char * h = head.data();
  int32_t      sizeofHeader = 0;
  std::memcpy(&sizeofHeader, h, 4);
  const bool swapped = sizeofHeader != 348;
  if ((swapped && __builtin_bswap32(static_cast<uint32_t>(sizeofHeader)) != 348) ||
      (std::memcmp(h + 344, "n+1", 4) != 0 && std::memcmp(h + 344, "ni1", 4) != 0))
    return std::nullopt; // not NIfTI-1 (Analyze, NIfTI-2, another format)
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
  at::Tensor affine = at::eye(4, at::kDouble);
  auto       a = affine.accessor<double, 2>();
  if (int16At(254) > 0) // sform_code: nibabel's get_best_affine takes the sform first, as it is stored
  {
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c)
        a[r][c] = static_cast<double>(floatAt(280 + 16 * r + 4 * c));
  }
  else if (int16At(252) > 0) // qform_code: the quaternion, in long double as nibabel's quat2mat
  {
    const long double x = floatAt(256), y = floatAt(260), z = floatAt(264);
    const long double w2 = 1.0L - (x * x + y * y + z * z);
    const long double w = w2 < 0 ? 0.0L : std::sqrt(w2);
    const long double s = 2.0L / (w * w + x * x + y * y + z * z);
    const long double X = x * s, Y = y * s, Z = z * s;
    const long double R[3][3] = { { 1.0L - (y * Y + z * Z), x * Y - w * Z, x * Z + w * Y },
                                  { x * Y + w * Z, 1.0L - (x * X + z * Z), y * Z - w * X },
                                  { x * Z - w * Y, y * Z + w * X, 1.0L - (x * X + y * Y) } };
    float       qfac = floatAt(76);
    float       vox[3] = { floatAt(80), floatAt(84), floatAt(88) };
    vox[2] *= qfac == -1.0f ? -1.0f : 1.0f;
    for (int r = 0; r < 3; ++r)
    {
      for (int c = 0; c < 3; ++c)
        a[r][c] = static_cast<double>(R[r][c] * static_cast<long double>(vox[c]));
      a[r][3] = static_cast<double>(floatAt(268 + 4 * r));
    }
  }
  else
    return std::nullopt; // neither: nibabel's base affine, which is what ITK gives too
  return affine;
}

} // namespace medseg
