#ifndef medsegPackageSegmenter_h
#define medsegPackageSegmenter_h

#include "medsegImageTypes.h"
#include "medsegModelPackage.h"
#include "medsegSegmentationModel.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace medseg
{

/** What PackageSegmenter::Run produces, on the grid of the first input channel. */
struct PackageSegmentation
{
  LabelImage3::Pointer       labels;        //!< label values from the package's label list
  ProbabilityImage3::Pointer probabilities; //!< class probabilities, or null if not asked for
  unsigned int               classes{ 0 };
};

/** \brief Runs a model package end to end on co-registered scans, geometry-aware.
 *
 * 1. every channel is resampled (linear) onto the first channel's grid if it is not on it;
 * 2. reoriented (axis permutation and flips only) to the package's orientation, unless "any";
 * 3. resampled (linear) to the package's spacing, unless none;
 * 4. each channel normalized as the package says, then the sliding window (2D models slice by
 *    slice across the package's slice axis);
 * 5. the class probabilities resampled (linear) back onto the first channel's original grid;
 * 6. arg-max, and class k written as the package's label value k.
 * The label map has exactly the first input's size, spacing, origin and direction. */
class PackageSegmenter
{
public:
  using ProgressCallback = std::function<void(double)>;

  PackageSegmenter(ModelPackage package, std::shared_ptr<SegmentationModel> model);

  /** Sliding-window settings; start from the package's, override as needed before Run(). */
  SlidingWindowSettings &
  WindowSettings()
  {
    return m_Window;
  }

  PackageSegmentation
  Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
      const ProgressCallback & progress = {}) const;

  /** \brief Streams files too large for memory through the model, `divisions` slabs along z.
   *
   * Needs uncompressed volumes (OpenStreamedImage) already on the model's grid: orientation
   * `any` or the files' own, spacing null or the files' own. A first pass reads the files slab
   * by slab for the normalization statistics (and refuses NaN/Inf voxels); then the label map is
   * pulled through itk::StreamingImageFilter, so only one slab of input (plus the patches'
   * extent) and about one patch depth of class scores are held at a time. The labels are
   * bit-identical to Run()'s for any number of divisions. Percentile normalization needs every
   * voxel at once and is refused. No probabilities. */
  PackageSegmentation
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

  ModelPackage                       m_Package;
  std::shared_ptr<SegmentationModel> m_Model;
  SlidingWindowSettings              m_Window;
};

} // namespace medseg

#endif
