#ifndef medsegIntensitySynthesis_h
#define medsegIntensitySynthesis_h

#include "medsegTrainingConfig.h"

#include <ATen/ATen.h>

#include <random>
#include <vector>

namespace medseg
{

/** \brief Tissue classes of one case, for synthesizing images of any contrast from it.
 *
 * The classes come from intensity clustering (1D k-means, seeded at quantiles, so the result is
 * deterministic): `outside` classes among the voxels of label 0 and `inside` classes among the
 * voxels of every other label, each group ordered by mean intensity. Class 0 is the darkest
 * outside the label (air in a head scan), classes `outside` .. `outside + inside - 1` lie inside. */
struct TissueClasses
{
  at::Tensor          map;       //!< [Z, Y, X] float: the class of each voxel (0, 1, ...), ready to resample
  std::vector<double> fractions; //!< share of the case's voxels in each class (sums to 1)
  std::vector<double> means;     //!< mean intensity of each class in the case's own image
};

/** Clusters channel 0 of `image` [C, Z, Y, X] inside and outside `label` [Z, Y, X] > 0. A group
 * with fewer distinct values than classes gets empty classes (fraction 0). Throws
 * std::invalid_argument for zero classes or mismatched sizes. */
TissueClasses
ClusterTissueClasses(const at::Tensor & image, const at::Tensor & label, int64_t inside, int64_t outside);

/** \brief One synthetic image patch [1, Pz, Py, Px] drawn from a tissue-class patch, in the spirit
 * of SynthSeg (Billot et al., 2023): each class gets a random mean (uniform in [0, 1]) and standard
 * deviation (uniform in [0, max_sd]), so every contrast is possible; class 0 becomes exactly zero
 * with `zero_background_probability`; a Gaussian blur of random width (partial volume) follows. The
 * result is standardized with the whole case's statistics under the same draw (the class fractions),
 * as the case's normalization does for a real image, so a patch of background stays dark.
 * `sliceAxis` (2D models) is never blurred across. */
at::Tensor
SynthesizePatch(const at::Tensor & tissuePatch, const std::vector<double> & fractions, const AugmentationSettings & settings,
                std::mt19937_64 & rng, at::Generator & generator, int sliceAxis = -1);

} // namespace medseg

#endif
