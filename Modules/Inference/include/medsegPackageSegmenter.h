#ifndef medsegPackageSegmenter_h
#define medsegPackageSegmenter_h

#include "medsegImageTypes.h"
#include "medsegModelPackage.h"
#include "medsegSegmentationModel.h"
#include "medsegSegmenter.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace medseg
{

/** \brief Runs a model package end to end on co-registered scans, geometry-aware.
 *
 * 1. every channel is resampled (linear) onto the first channel's grid if it is not on it;
 * 2. reoriented (axis permutation and flips only) to the package's orientation, unless "any";
 * 3. resampled (linear) to the package's spacing, unless none;
 * 4. with CropToNonzero (the package's `inference.crop_to_nonzero`, nnU-Net's crop_to_nonzero):
 *    cut to the bounding box of the voxels that are nonzero in any channel on this model grid;
 *    the rest of the grid is class 0 (probability 1 for class 0, 0 for the others). When no voxel
 *    is nonzero the label map is all background and the model is not run;
 * 5. each channel normalized as the package says (statistics of the crop when cropping, as in
 *    nnU-Net), then the sliding window (2D models slice by slice across the package's slice axis);
 * 6. the class probabilities resampled (linear) back onto the first channel's original grid;
 * 7. arg-max, and class k written as the package's label value k (a bare TorchScript file's
 *    description has no label list: class k is label k).
 * The label map has exactly the first input's size, spacing, origin and direction, cropped or not. */
class PackageSegmenter : public Segmenter
{
public:
  PackageSegmenter(ModelPackage package, std::shared_ptr<SegmentationModel> model);

  /** Sliding-window settings; start from the package's, override as needed before Run(). */
  SlidingWindowSettings &
  WindowSettings()
  {
    return m_Window;
  }

  /** Segment only the nonzero box (step 4 above). Starts as the package's crop_to_nonzero.
   * RunStreamed() ignores it: streamed runs never crop. */
  void
  SetCropToNonzero(bool crop)
  {
    m_CropToNonzero = crop;
  }
  bool
  GetCropToNonzero() const
  {
    return m_CropToNonzero;
  }

  /** Segments co-registered channels (steps 1-7 above). When cropping finds no nonzero voxel the
   * result has classes = the package's number of labels (and as many probability components). */
  Segmentation
  Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
      const ProgressCallback & progress = {}) const override;

  /** "package '<name>' <version>, <the model's description>" (a bare file: the model's only). */
  std::string
  GetDescription() const override;

  /** \brief Streams files too large for memory through the model, `divisions` slabs along z.
   *
   * Needs uncompressed volumes (OpenStreamedImage) already on the model's grid: orientation
   * `any` or the files' own, spacing null or the files' own. A first pass reads the files slab
   * by slab for the normalization statistics (and refuses NaN/Inf voxels); then the label map is
   * pulled through itk::StreamingImageFilter, so only one slab of input (plus the patches'
   * extent) and about one patch depth of class scores are held at a time. The labels are
   * bit-identical to Run()'s without cropping for any number of divisions. Percentile
   * normalization needs every voxel at once and is refused. No probabilities. Never crops to the
   * nonzero box (the box is known only after reading every slab); GetCropToNonzero() is ignored. */
  Segmentation
  RunStreamed(const std::vector<std::string> & files, unsigned int divisions,
              const ProgressCallback & progress = {}) const;

  const ModelPackage &
  GetPackage() const
  {
    return m_Package;
  }

private:
  /** Throws InputError unless the model's outputs match the package's labels. */
  void
  CheckNumberOfClasses(unsigned int classes) const;
  /** Class index k -> the package's labels[k].value, in place. */
  void
  ClassIndicesToLabelValues(LabelImage3 * labels) const;
  /** `result` with the package's class -> label map and label table. */
  Segmentation
  Described(Segmentation result) const;
  /** All background on `reference`'s grid, without running the model. */
  Segmentation
  Background(const FloatImage3 * reference, bool wantProbabilities, const ProgressCallback & progress) const;

  ModelPackage                       m_Package;
  std::shared_ptr<SegmentationModel> m_Model;
  SlidingWindowSettings              m_Window;
  bool                               m_CropToNonzero{ false };
};

} // namespace medseg

#endif
