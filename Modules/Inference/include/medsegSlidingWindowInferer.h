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

/** \brief What is blended where patches overlap. */
enum class BlendedScores
{
  Probabilities, //!< each patch's softmax (or sigmoid) output (MedSeg packages)
  Logits         //!< the network's raw outputs, activated by the caller after blending (nnU-Net, MONAI)
};

/** \brief Where the Gaussian importance map peaks along an axis of p voxels. */
enum class GaussianCentre
{
  Middle, //!< (p - 1) / 2: symmetric (MedSeg packages)
  Floor   //!< floor(p / 2), as nnunetv2.inference.sliding_window_prediction.compute_gaussian
};

/** \brief How patch start positions are laid out along an axis, and the importance map's floor. */
enum class WindowPositions
{
  NNUNet, //!< evenly spaced from 0 to size - patch, step at most patch * (1 - overlap) (nnU-Net, MedSeg packages)
  MONAI   //!< fixed step int(patch * (1 - overlap)) from 0, the last window moved back flush with the end;
          //!< the Gaussian map not rescaled and floored at max(its minimum, 1e-3)
          //!< (monai.inferers.sliding_window_inference, dense_patch_slices, compute_importance_map)
};

/** \brief Number format of the blended class scores held while patches overlap. */
enum class ScoreAccumulation
{
  Float32, //!< float sums (default)
  Float16  //!< half the memory per class; each sum rounded to 11 significant bits (slower to add)
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
  ScoreAccumulation      accumulation{ ScoreAccumulation::Float32 }; //!< format of the open slices' blended scores
  BlendedScores          blended{ BlendedScores::Probabilities };     //!< probabilities or logits (then Float32 only)
  GaussianCentre         gaussianCentre{ GaussianCentre::Middle };    //!< peak of the Gaussian weights
  WindowPositions        windowPositions{ WindowPositions::NNUNet };  //!< where patches start
  /** A batch whose every window is constant (each channel one value) with values an earlier window
   * of this run had is not run again: that window's prediction is reused (the network sees the same
   * input). Saves most of the work on zero-filled fields of view without the crop. */
  bool reuseConstantWindows{ true };

  /** Throws std::invalid_argument naming the field when a value is out of range. */
  void
  Validate() const;
};

BlendMode
ParseBlendMode(const std::string & text); //!< "gaussian" | "constant"

ScoreAccumulation
ParseScoreAccumulation(const std::string & text); //!< "fp32" | "fp16"

/** \brief Patch start positions along one axis: the first at 0, the last at size - patch, evenly
 * spaced with a step of at most patch * (1 - overlap). `size` must be >= `patch`. */
std::vector<int64_t>
ComputeWindowPositions(int64_t size, int64_t patch, double overlap);

WindowPositions
ParseWindowPositions(const std::string & text); //!< "nnunet" | "monai"

/** \brief MONAI's patch start positions along one axis (dense_patch_slices): a step of
 * int(patch * (1 - overlap)) (at least 1; `patch` when it equals `size`), windows until one
 * reaches the end, that last one moved back to end flush with `size`. `size` must be >= `patch`. */
std::vector<int64_t>
ComputeMONAIWindowPositions(int64_t size, int64_t patch, double overlap);

/** \brief MONAI's importance map (compute_importance_map, then sliding_window_inference's clamp):
 * Gaussian: the product over axes of exp(-(i - (p - 1) / 2)^2 / (2 (sigmaScale p)^2)), not rescaled
 * (the peak is below 1 for even p), then floored at max(its minimum, 1e-3); constant: ones. */
at::Tensor
ComputeMONAIImportanceMap(const std::array<int64_t, 3> & patchSize, BlendMode blend, double sigmaScale);

/** \brief The importance map of one patch, shape [pz, py, px] (float, CPU), maximum 1.
 *
 * w(i) = exp(-sum_d (i_d - c_d)^2 / (2 (sigmaScale p_d)^2)) / max w, with c_d = (p_d - 1) / 2
 * (GaussianCentre::Middle) or floor(p_d / 2) (GaussianCentre::Floor, nnU-Net's compute_gaussian,
 * whose scipy filter of a unit impulse truncated at 4 sigma = p / 2 reaches every voxel of the patch). */
at::Tensor
ComputeGaussianImportanceMap(const std::array<int64_t, 3> & patchSize, double sigmaScale,
                             GaussianCentre centre = GaussianCentre::Middle);

/** \brief A box of voxels in tensor order [z, y, x]: first index and size along each axis. */
struct VoxelBox
{
  std::array<int64_t, 3> start{};
  std::array<int64_t, 3> size{};

  int64_t
  End(int d) const
  {
    return start[d] + size[d];
  }
  int64_t
  NumberOfVoxels() const
  {
    return size[0] * size[1] * size[2];
  }
  bool
  Contains(const VoxelBox & other) const;
  bool
  operator==(const VoxelBox & other) const
  {
    return start == other.start && size == other.size;
  }
};

/** \brief Runs a model over a volume patch by patch and blends the class probabilities.
 *
 * Input: [C, Z, Y, X] float on the CPU. Output: [K, Z, Y, X] probabilities (softmax over K >= 2
 * classes, or a sigmoid for K == 1), the weighted average of every patch that covers a voxel; with
 * BlendedScores::Logits the weighted average of the raw network outputs instead (mirrored
 * predictions averaged as logits too, as nnU-Net does).
 * Volumes smaller than a patch are padded (centred) with `padValue`, and the padding cropped off.
 *
 * Patches are visited z-major and blended slice by slice: a z slice is finalized (handed to the
 * caller and its slot reused) as soon as no later patch touches it. The scores live in a ring of
 * OpenSlicesFor() slices (at most patch_z + step_z) allocated once, whatever the volume's depth, in
 * float or (ScoreAccumulation::Float16) half precision; a batch's class scores are activated in place.
 *
 * A sub-region can be computed on its own (ITK streaming): only the batches of patches that
 * touch it are run, over the input box InputBoxFor() names. Batches are always the same groups
 * of the volume-wide patch list and every voxel adds up its patches in the same order, so a
 * region's probabilities are bit-identical to the same voxels of a whole-volume run. */
class SlidingWindowInferer
{
public:
  /** Called with the fraction done (0..1) after each batch; may throw to abort. */
  using ProgressCallback = std::function<void(double)>;
  /** Receives one finalized z slice: its z index in the image and its probabilities
   * [K, region Y, region X] (valid during the call only). Slices come in increasing z. */
  using SliceCallback = std::function<void(int64_t z, const at::Tensor & probabilities)>;

  explicit SlidingWindowInferer(SlidingWindowSettings settings);

  /** The whole volume: returns [K, Z, Y, X]. */
  at::Tensor
  Run(const at::Tensor & image, SegmentationModel & model, const ProgressCallback & progress = {}) const;

  /** The voxels (clipped to the image) the patches needed for `region` read. */
  VoxelBox
  InputBoxFor(const std::array<int64_t, 3> & imageSize, const VoxelBox & region) const;

  /** How many z slices of class scores blending `region` holds at once (the ring RunRegion
   * allocates): at most patch_z + step_z, and patch_z with one patch per batch. */
  int64_t
  OpenSlicesFor(const std::array<int64_t, 3> & imageSize, const VoxelBox & region) const;

  /** One region of an image of size `imageSize` ([z, y, x]). `input` is [C, ...] holding the
   * voxels of `inputBox`, which must contain InputBoxFor(imageSize, region). */
  void
  RunRegion(const at::Tensor & input, const VoxelBox & inputBox, const std::array<int64_t, 3> & imageSize,
            const VoxelBox & region, SegmentationModel & model, const SliceCallback & sink,
            const ProgressCallback & progress = {}) const;

  const SlidingWindowSettings &
  GetSettings() const
  {
    return m_Settings;
  }

private:
  struct Plan;

  Plan
  MakePlan(const std::array<int64_t, 3> & imageSize, const VoxelBox & region) const;

  at::Tensor
  PredictBatch(const at::Tensor & batch, SegmentationModel & model) const;

  SlidingWindowSettings m_Settings;
};

} // namespace medseg

#endif
