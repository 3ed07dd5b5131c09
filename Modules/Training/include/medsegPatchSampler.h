#ifndef medsegPatchSampler_h
#define medsegPatchSampler_h

#include "medsegTrainingData.h"

#include <ATen/ATen.h>

#include <array>
#include <random>
#include <vector>

namespace medseg
{

/** \brief Where a patch is cut and how it is deformed on the way (all in model space).
 *
 * Output voxel i (x, y, z) sits at the mm offset o = (i - (P - 1) / 2) * spacing from the patch
 * centre, negated along flipped axes; it reads the case at centre + (M o + d(o)) / spacing voxels,
 * trilinear for the image and nearest for the label, clamping at the border. */
struct PatchTransform
{
  std::array<double, 3> centre{ { 0, 0, 0 } };                     //!< voxel coordinates x, y, z
  std::array<double, 9> matrix{ { 1, 0, 0, 0, 1, 0, 0, 0, 1 } };   //!< row-major, rotation times scale
  std::array<bool, 3>   flip{ { false, false, false } };
  at::Tensor            displacement;                              //!< [Pz, Py, Px, 3] mm (x, y, z), or undefined
};

/** Rotation about x, then y, then z (degrees), times an isotropic scale: R = Rz Ry Rx s. */
std::array<double, 9>
RotationScaleMatrix(const std::array<double, 3> & degrees, double scale);

/** \brief Cuts one patch: image [C, Pz, Py, Px] and label [Pz, Py, Px] (int64). */
std::pair<at::Tensor, at::Tensor>
ExtractPatch(const PreprocessedCase & c, const PatchTransform & transform, const std::array<int64_t, 3> & patchSize);

/** \brief The intensity augmentations, in this order, each with its own probability:
 * low resolution, bias field, gamma, intensity scale, intensity shift, Gaussian noise.
 * `patch` is [C, Pz, Py, Px]; `inPlaneOnly` keeps low-resolution simulation off the slice axis
 * (`sliceAxis`, 2D models). Returns the augmented patch. */
at::Tensor
AugmentIntensities(at::Tensor patch, const AugmentationSettings & settings, std::mt19937_64 & rng,
                   at::Generator & generator, int sliceAxis = -1);

/** \brief The zero-background augmentations, after the intensity ones (so a constant stays
 * constant): a constant patch (constant_patch) or field-of-view cuts (field_of_view: planes
 * across 1..max_axes distinct axes), each channel's minimum as the constant (settings.padding: 0,
 * or `caseMinimum` [C, 1, 1, 1], the whole case's) and background as the label there.
 * `sliceAxis` (2D models) is never cut across. Changes `image` [C, Pz, Py, Px] and `label` [Pz, Py, Px] in place. */
void
AugmentFieldOfView(at::Tensor & image, at::Tensor & label, const AugmentationSettings & settings,
                   std::mt19937_64 & rng, int sliceAxis = -1, const at::Tensor & caseMinimum = {});

/** One training batch. */
struct TrainingBatch
{
  at::Tensor        images; //!< [N, C, Pz, Py, Px], or [N, C, H, W] for 2D models
  at::Tensor        labels; //!< [N, Pz, Py, Px], or [N, H, W], int64
  std::vector<bool> foregroundCentred;
  std::vector<bool> synthesized; //!< the image was synthesized from tissue classes ([augmentation.synthesis])
};

/** \brief Draws augmented training patches, a pure function of (seed, step).
 *
 * Each sample's patch centre is a random voxel of a random foreground class with probability
 * `foregroundRatio` (foreground oversampling, as nnU-Net does), otherwise a uniformly random
 * position that keeps the patch inside the volume where it fits (with [augmentation.beyond_case]
 * one that lets it hang past the volume by up to max_fraction of its width on each side). Then
 * the spatial augmentations (flips, rotation, scaling, elastic deformation) are applied while the
 * patch is cut; then the image may be replaced by a synthetic one (cases with tissue classes,
 * [augmentation.synthesis]), and the intensity and zero-background ones follow. Sample(step)
 * gives the same batch whenever it is called, which is what makes a resumed training continue
 * exactly and lets the trainer prepare the next batch on a background thread. */
class PatchSampler
{
public:
  PatchSampler(std::vector<const PreprocessedCase *> cases, std::array<int64_t, 3> patchSize, int spatialDims,
               int sliceAxis, double foregroundRatio, AugmentationSettings augmentation, uint64_t seed);

  TrainingBatch
  Sample(int64_t step, int64_t batchSize) const;

  /** The transform of sample `index` of `step` (no intensity changes). Exposed for tests. */
  PatchTransform
  DrawTransform(const PreprocessedCase & c, std::mt19937_64 & rng, at::Generator & generator, bool & foreground) const;

private:
  std::vector<const PreprocessedCase *> m_Cases;
  std::array<int64_t, 3>                m_PatchSize;
  int                                   m_SpatialDims;
  int                                   m_SliceAxis;
  double                                m_ForegroundRatio;
  AugmentationSettings                  m_Augmentation;
  std::vector<at::Tensor>               m_CaseMinima; //!< per case: each channel's minimum, [C, 1, 1, 1]
  std::vector<at::Tensor>               m_Outside;    //!< per case: the value beyond its field of view, or undefined (border)
  std::vector<at::Tensor>               m_Shifted;    //!< per case: image - m_Outside (sampled with zero padding)
  uint64_t                              m_Seed;
};

/** A 64-bit seed for (seed, step, index): SplitMix64 mixing, so neighbouring steps are unrelated. */
uint64_t
MixSeed(uint64_t seed, uint64_t step, uint64_t index);

} // namespace medseg

#endif
