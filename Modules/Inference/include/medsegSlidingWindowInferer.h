#ifndef medsegSlidingWindowInferer_h
#define medsegSlidingWindowInferer_h

#include "medsegSegmentationModel.h"

#include <array>
#include <functional>
#include <string>
#include <vector>

namespace medseg
{

/** How patch predictions are weighted where patches overlap. */
enum class BlendMode
{
  Gaussian, //!< importance weights exp(-d^2 / 2 sigma^2), sigma = SigmaScale * patch size (nnU-Net, MONAI)
  Constant  //!< plain average
};

/** \brief Settings of the sliding window. Sizes and axes are in image order: x, y, z. */
struct SlidingWindowSettings
{
  std::array<int64_t, 3> patchSize{ { 96, 96, 96 } }; //!< voxels along x, y, z
  double                 overlap{ 0.5 };              //!< fraction of a patch shared by neighbours, in [0, 1)
  BlendMode              blend{ BlendMode::Gaussian };
  double                 sigmaScale{ 0.125 };         //!< Gaussian sigma as a fraction of the patch size
  int64_t                batchSize{ 2 };              //!< patches per forward call
  std::vector<int>       mirrorAxes;                  //!< test-time augmentation: flip over these axes (0=x,1=y,2=z), all combinations
  float                  padValue{ 0.0f };            //!< value of voxels added around volumes smaller than a patch
  int                    sliceAxis{ 2 };              //!< 2D models: the axis slices are taken across (patch size 1 there)

  /** Throws std::invalid_argument naming the field when a value is out of range. */
  void
  Validate() const;
};

BlendMode
ParseBlendMode(const std::string & text); //!< "gaussian" | "constant"

/** \brief Patch start positions along one axis: the first at 0, the last at size - patch, evenly
 * spaced with a step of at most patch * (1 - overlap). `size` must be >= `patch`. */
std::vector<int64_t>
ComputeWindowPositions(int64_t size, int64_t patch, double overlap);

/** \brief The importance map of one patch, shape [pz, py, px] (float, CPU), maximum 1.
 *
 * w(i) = exp(-sum_d (i_d - (p_d - 1) / 2)^2 / (2 (sigmaScale p_d)^2)) / max w. */
at::Tensor
ComputeGaussianImportanceMap(const std::array<int64_t, 3> & patchSize, double sigmaScale);

/** \brief Runs a model over a whole volume patch by patch and blends the class probabilities.
 *
 * Input: [C, Z, Y, X] float on the CPU. Output: [K, Z, Y, X] probabilities on the CPU (softmax
 * over K >= 2 classes, or a sigmoid for K == 1), the weighted average of every patch that covers
 * a voxel. Volumes smaller than a patch are padded (centred) with `padValue`, and the padding
 * cropped off again. */
class SlidingWindowInferer
{
public:
  /** Called with the fraction done (0..1) after each batch; may throw to abort. */
  using ProgressCallback = std::function<void(double)>;

  explicit SlidingWindowInferer(SlidingWindowSettings settings);

  at::Tensor
  Run(const at::Tensor & image, SegmentationModel & model, const ProgressCallback & progress = {}) const;

  const SlidingWindowSettings &
  GetSettings() const
  {
    return m_Settings;
  }

private:
  at::Tensor
  PredictBatch(const at::Tensor & batch, SegmentationModel & model) const;

  SlidingWindowSettings m_Settings;
};

} // namespace medseg

#endif
