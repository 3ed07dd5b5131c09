#ifndef medsegIntensityNormalization_h
#define medsegIntensityNormalization_h

#include "medsegImageTypes.h"

#include <string>

namespace medseg
{

/** \brief How intensities are mapped before they reach a model.
 *
 * Text forms (as on the command line and in model.json):
 * - `none`: unchanged.
 * - `zscore`: (x - mean) / std over the whole volume (std floored at 1e-8).
 * - `minmax`: (x - min) / (max - min), so [0, 1]; a constant image becomes 0.
 * - `ct:LEVEL,WIDTH`: clipped to [LEVEL - WIDTH/2, LEVEL + WIDTH/2], then mapped to [0, 1].
 * - `percentile:LOW,HIGH`: clipped to the LOW and HIGH percentiles (0-100), then `zscore`.
 */
struct NormalizationSpec
{
  enum class Kind
  {
    None,
    ZScore,
    MinMax,
    CTWindow,
    PercentileZScore
  };

  Kind   kind{ Kind::ZScore };
  double level{ 40.0 };  //!< CT window centre (HU)
  double width{ 400.0 }; //!< CT window width (HU), > 0
  double lowerPercentile{ 0.5 };
  double upperPercentile{ 99.5 };

  /** Parses the text form; throws std::invalid_argument with a message saying what is accepted. */
  static NormalizationSpec
  Parse(const std::string & text);

  std::string
  ToString() const;
};

/** Applies `spec` to every voxel of `image`, in place. */
void
NormalizeIntensities(FloatImage3 * image, const NormalizationSpec & spec);

} // namespace medseg

#endif
