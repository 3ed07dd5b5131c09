#ifndef medsegTrainingData_h
#define medsegTrainingData_h

#include "medsegIntensitySynthesis.h"
#include "medsegTrainingConfig.h"

#include <ATen/ATen.h>

#include <array>
#include <string>
#include <vector>

namespace medseg
{

/** \brief One case in model space, as the network will see it at inference time. */
struct PreprocessedCase
{
  std::string             id;
  at::Tensor              image;      //!< [C, Z, Y, X] float, reoriented, resampled, normalized
  at::Tensor              label;      //!< [Z, Y, X] int64 class indices (0 = background)
  std::vector<at::Tensor> foreground; //!< per class k >= 1: flat indices (int64) of its voxels
  std::array<double, 3>   spacing{ { 1.0, 1.0, 1.0 } }; //!< mm along x, y, z
  TissueClasses           tissue; //!< for [augmentation.synthesis] only; its map is undefined otherwise

  /** Voxels along x, y, z. */
  std::array<int64_t, 3>
  Size() const
  {
    return { { image.size(3), image.size(2), image.size(1) } };
  }
};

/** \brief Reads a case and brings it into model space exactly as PackageSegmenter does at
 * inference: reorient (axis permutation and flips) to the config's orientation, resample (linear)
 * to its spacing, normalize. The label is brought along class by class (each class indicator
 * resampled linearly, then arg-max), so thin structures survive better than with nearest neighbour.
 *
 * With a non-empty `cacheDir` the result is stored there as NRRD files named by a SHA-256 of the
 * inputs (paths, sizes, modification times) and of every setting that changes them, and read back
 * on the next run instead of being computed again. With [augmentation.synthesis] on, a training
 * case's tissue classes are clustered from its model-space image (not cached: deterministic and
 * quick; validation cases are never synthesized). Throws
 * InputError naming the file. */
PreprocessedCase
PreprocessCase(const TrainingCase & trainingCase, const TrainingConfig & config, const std::string & cacheDir = "");

/** Builds a PreprocessedCase from tensors already in model space (tests, synthetic data). */
PreprocessedCase
MakePreprocessedCase(std::string id, at::Tensor image, at::Tensor label, std::array<double, 3> spacing,
                     int64_t classes);

} // namespace medseg

#endif
