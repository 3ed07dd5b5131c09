#ifndef medsegNNUNetSegmenter_h
#define medsegNNUNetSegmenter_h

#include "medsegImageTypes.h"
#include "medsegNNUNetFolder.h"
#include "medsegSegmenter.h"
#include "medsegSlidingWindowInferer.h"

#include <functional>
#include <memory>
#include <vector>

namespace medseg
{

/** \brief Runs an nnU-Net v2 trained model as nnUNetPredictor does, without Python.
 *
 * The steps, each after the upstream function named:
 * 1. the channels as the plans' reader gives them (NibabelIO / SimpleITKIO: voxel order as
 *    stored, [k, j, i]; the *WithReorient readers: reoriented to RAS first), transposed by
 *    `transpose_forward` (DefaultPreprocessor.run_case_npy);
 * 2. cut to the nonzero box (crop_to_nonzero), each channel normalized (its scheme, with the
 *    nonzero mask when use_mask_for_norm), resampled to the configuration's spacing
 *    (resample_data_or_seg_to_shape, order 3, separate z above the anisotropy threshold);
 * 3. the sliding window (predict_sliding_window_return_logits): tile step 0.5, Gaussian weights
 *    with sigma 1/8 of the patch peaking at p // 2 (compute_gaussian), *logits* blended, averaged
 *    over the mirrorings of the checkpoint's allowed axes and over the folds;
 * 4. the logits resampled back to the cropped box's shape (resampling_fn_probabilities, order 1),
 *    softmax (or sigmoid per region), arg-max (or regions_class_order), the box put back into a
 *    background volume (convert_predicted_logits_to_segmentation_with_correct_shape), transposed
 *    back, reoriented back.
 * The label map has exactly the first input's size, spacing, origin and direction; probability
 * component k is head k (softmax or sigmoid); the label table is dataset.json's. nnU-Net
 * accumulates the blended logits in half precision; MedSeg blends in float (the closer value). */
class NNUNetSegmenter : public Segmenter
{
public:
  NNUNetSegmenter(NNUNetModel model, std::vector<std::shared_ptr<SegmentationModel>> folds);

  /** nnUNetPredictor's tile_step_size (0.5): the overlap is 1 - step. */
  void
  SetTileStepSize(double step);
  /** nnUNetPredictor's use_mirroring (on): test-time mirroring over the checkpoint's axes. */
  void
  SetUseMirroring(bool on)
  {
    m_UseMirroring = on;
  }
  /** Patches per forward call; results do not depend on it (instance norm is per patch). 0, the
   * default, picks as many as fit 2^20 voxels, at most 8: nnU-Net runs one at a time, but each call
   * costs about as much for one small patch as for eight (measured in Documentation/nnunet.md). */
  void
  SetBatchSize(int64_t patches)
  {
    m_BatchSize = patches;
  }

  /** The sliding-window settings in MedSeg's axis terms (x, y, z of the transposed array). */
  SlidingWindowSettings
  GetWindowSettings() const;

  /** Segments co-registered channels, in dataset.json's channel order. Channels on another grid
   * than the first are resampled (linear) onto it. Throws InputError for a wrong channel count. */
  Segmentation
  Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
      const ProgressCallback & progress = {}) const override;

  /** "nnU-Net <dataset> <configuration> (<network>, <n> folds)". */
  std::string
  GetDescription() const override;

  const NNUNetModel &
  GetModel() const
  {
    return m_Model;
  }

private:
  NNUNetModel                                     m_Model;
  std::vector<std::shared_ptr<SegmentationModel>> m_Folds;
  double                                          m_TileStep{ 0.5 };
  bool                                            m_UseMirroring{ true };
  int64_t                                         m_BatchSize{ 0 };
};

} // namespace medseg

#endif
