#ifndef medsegTestHelpers_h
#define medsegTestHelpers_h

#include "medsegImageTypes.h"

#include <array>
#include <functional>
#include <string>

namespace medseg::test
{

/** A fresh folder under the system temp directory, removed with everything in it on destruction. */
class TemporaryDirectory
{
public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory &) = delete;
  TemporaryDirectory &
  operator=(const TemporaryDirectory &) = delete;

  const std::string &
  Path() const
  {
    return m_Path;
  }
  /** Path() + "/" + name */
  std::string
  operator/(const std::string & name) const
  {
    return m_Path + "/" + name;
  }

private:
  std::string m_Path;
};

/** The geometry of a phantom. */
struct Geometry
{
  std::array<unsigned long, 3> size{ 16, 16, 16 };
  std::array<double, 3>        spacing{ 1.0, 1.0, 1.0 };
  std::array<double, 3>        origin{ 0.0, 0.0, 0.0 };
  /** Row-major 3x3 direction matrix (columns are the axes' directions). */
  std::array<double, 9> direction{ 1, 0, 0, 0, 1, 0, 0, 0, 1 };
};

/** Direction matrices the geometry tests run through. */
Geometry
WithDirection(Geometry g, const std::string & name); //!< "identity", "LPS", "RAS", "permuted", "oblique"

/** An image of `geometry` whose voxel at index (x, y, z) is `value(x, y, z)`. */
FloatImage3::Pointer
MakeImage(const Geometry & geometry, const std::function<float(long, long, long)> & value);

/** A ball of `inside` in `outside`, centre and radius in voxels. */
FloatImage3::Pointer
MakeBallPhantom(const Geometry & geometry, std::array<double, 3> centre, double radius, float inside = 100.0f,
                float outside = 0.0f);

/** A NIfTI-1 header of 352 bytes (348 + 4 extension bytes) for float32 voxels nx x ny x nz of
 * spacing 1, voxels at offset 352; `analyze` writes Analyze 7.5's empty magic instead of "n+1". */
std::string
Nifti1Header(short nx, short ny, short nz, bool analyze = false);

/** Writes `text` to `path` (for hand-made broken files). */
void
WriteText(const std::string & path, const std::string & text);

/** Whole-file contents. */
std::string
ReadText(const std::string & path);

} // namespace medseg::test

#endif
