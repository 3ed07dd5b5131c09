#ifndef medsegSegmenter_h
#define medsegSegmenter_h

#include "medsegImageTypes.h"
#include "medsegLabelTable.h"

#include <functional>
#include <string>
#include <vector>

namespace medseg
{

/** What a Segmenter produces, on the grid of the first input channel. */
struct Segmentation
{
  LabelImage3::Pointer       labels;        //!< label values, as they are written
  ProbabilityImage3::Pointer probabilities; //!< component k = class k (activated scores), or null if not asked for
  unsigned int               classes{ 0 };  //!< the model's output channels
  /** Class k is label value labelOfClass[k]; empty when the classes are not labels (nnU-Net regions). */
  std::vector<unsigned int> labelOfClass;
  LabelTable                table; //!< every label value it can write: name and colour
};

/** The class probabilities re-indexed by label value, as edge-aware post-processing takes them:
 * component v is the probability of label value v (0 for values no class maps to). A single
 * sigmoid output p becomes [1 - p, p] at the two label values. The segmentation's own image when
 * class k already is label k; null when there are no probabilities or class -> label map, or a
 * label value is above 255 (one component per value would not be worth holding). */
ProbabilityImage3::Pointer
ProbabilitiesByLabelValue(const Segmentation & segmentation);

/** \brief A model source made runnable: channels in, one label map out, geometry preserved.
 *
 * One interface for every model source MedSeg reads: a MedSeg package or bare TorchScript file
 * (PackageSegmenter), an nnU-Net v2 trained model (NNUNetSegmenter) and a MONAI bundle
 * (MONAISegmenter). Each follows its own framework's conventions inside Run(); what comes out
 * is the same: labels on the first channel's grid, the class -> label map and the label table,
 * so `medseg segment`, `medseg batch`, the Slicer module and library users handle all alike. */
class Segmenter
{
public:
  using ProgressCallback = std::function<void(double)>;

  virtual ~Segmenter() = default;

  /** Segments co-registered channels, in the order the model takes them. Throws for a wrong
   * channel count (std::invalid_argument from PackageSegmenter, InputError from the frameworks'
   * segmenters) and InputError for a model whose outputs disagree with its description. */
  virtual Segmentation
  Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
      const ProgressCallback & progress = {}) const = 0;

  /** One line: what runs (e.g. "package 'brain' 1.0, TorchScript ... on cpu"). */
  virtual std::string
  GetDescription() const = 0;
};

} // namespace medseg

#endif
