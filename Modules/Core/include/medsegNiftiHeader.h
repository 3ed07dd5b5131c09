#ifndef medsegNiftiHeader_h
#define medsegNiftiHeader_h

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace medseg
{

/** \brief The geometry fields of a NIfTI-1 header, as stored (byte order already fixed). */
struct Nifti1Header
{
  int16_t                             qformCode{ 0 };
  int16_t                             sformCode{ 0 };
  std::array<float, 8>                pixdim{};  //!< pixdim[0] is qfac
  std::array<float, 3>                quatern{}; //!< quatern_b, _c, _d
  std::array<float, 3>                qoffset{};
  std::array<std::array<float, 4>, 3> srow{}; //!< srow_x, srow_y, srow_z
};

/** Reads the first 348 bytes of a NIfTI-1 file (.nii, .nii.gz or the .hdr of a pair), either byte
 * order; nothing for anything else (Analyze 7.5, NIfTI-2, other formats, short files). */
std::optional<Nifti1Header>
ReadNifti1Header(const std::string & path);

/** \brief The voxel-to-RAS affine nibabel gives the header (`get_best_affine`): the sform as
 * stored when its code is set, else the qform's quaternion (its scalar part filled in, the matrix
 * computed in long double as nibabel's quat2mat) times the voxel sizes (the last negated when
 * qfac is -1), else nothing (the pixdim base affine, which ITK's geometry gives as well).
 * Row-major 4 x 4. This is the affine MONAI's NibabelReader uses; ITK's geometry orthonormalises
 * the direction in float and differs by about 1e-7 on oblique files. */
std::optional<std::array<double, 16>>
NibabelAffine(const Nifti1Header & header);

} // namespace medseg

#endif
