#ifndef medsegSegmentationMetrics_h
#define medsegSegmentationMetrics_h

#include "medsegImageTypes.h"

#include <cstddef>
#include <string>
#include <vector>

namespace medseg
{

/** \brief The agreement of one label between a reference and a prediction, in physical units.
 *
 * Volumes in mL, distances in mm. Surfaces are the label's voxels with a face neighbour outside
 * the label (or outside the image; in an image of one slice, a 2D image, only in-plane neighbours
 * count, so the surface is the contour); distances go from each surface voxel's centre to the nearest
 * surface voxel centre of the other image, measured with the image spacing (and therefore
 * independent of the direction matrix).
 *
 * Empty labels have defined values, never NaN:
 * - both images empty: Dice = IoU = surface Dice = 1, every distance 0;
 * - exactly one empty: Dice = IoU = surface Dice = 0, every distance +infinity
 *   (written as "inf" in CSV and null in JSON). */
struct LabelMetrics
{
  unsigned int label{ 0 };
  std::size_t  referenceVoxels{ 0 };
  std::size_t  predictionVoxels{ 0 };
  std::size_t  intersectionVoxels{ 0 };
  double       referenceVolume{ 0.0 };  //!< mL
  double       predictionVolume{ 0.0 }; //!< mL
  double       volumeDifference{ 0.0 }; //!< prediction - reference, mL
  double       dice{ 0.0 };             //!< 2|R n P| / (|R| + |P|)
  double       iou{ 0.0 };              //!< |R n P| / |R u P| (Jaccard)
  double       hausdorff{ 0.0 };        //!< max of both directed maxima, mm
  double       hausdorff95{ 0.0 };      //!< max of both directed 95th percentiles, mm
  double       averageSurfaceDistance{ 0.0 }; //!< ASSD: mean of all surface distances both ways, mm
  double       surfaceDice{ 0.0 };      //!< share of surface voxels (both ways) within the tolerance
};

/** What EvaluateSegmentation computes. */
struct EvaluationOptions
{
  /** Labels to evaluate; empty (default) means every non-zero label present in either image. */
  std::vector<unsigned int> labels;
  /** Tolerance of the surface Dice in mm. Default 1. */
  double surfaceTolerance{ 1.0 };
  /** Percentile of the robust Hausdorff distance. Default 95. */
  double percentile{ 95.0 };
};

/** \brief Per-label metrics of `prediction` against `reference`, ordered by label.
 *
 * The images must share size, spacing, origin and direction; otherwise InputError("prediction",
 * "<field> differs: ...") is thrown. Distances come from Maurer distance maps of the surfaces
 * (itk::SignedMaurerDistanceMapImageFilter) computed in each label's bounding box, so the cost is
 * linear in the number of voxels, not quadratic in the number of surface points. */
std::vector<LabelMetrics>
EvaluateSegmentation(const LabelImage3 * reference, const LabelImage3 * prediction,
                     const EvaluationOptions & options = {});

/** Mean, sample standard deviation and median of the finite values; `count` of them and
 * `nonFinite` of the others (infinite distances of labels missing from one image). */
struct SummaryStatistics
{
  std::size_t count{ 0 };
  std::size_t nonFinite{ 0 };
  double      mean{ 0.0 };
  double      std{ 0.0 };
  double      median{ 0.0 };
};

SummaryStatistics
Summarize(const std::vector<double> & values);

/** Linear-interpolation percentile (as numpy's default) of `values` (sorted in place); 0 when empty. */
double
Percentile(std::vector<double> & values, double percentile);

} // namespace medseg

#endif
