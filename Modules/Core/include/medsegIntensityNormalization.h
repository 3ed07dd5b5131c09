#ifndef medsegIntensityNormalization_h
#define medsegIntensityNormalization_h

#include "medsegImageTypes.h"

#include <cstddef>
#include <limits>
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
 *
 * `zscore`, `minmax` and `percentile` take a suffix that takes their statistics (mean, std, min,
 * max, percentiles) from the nonzero voxels only, so zero padding around a scan does not change
 * the mapping of the rest:
 * - `@nonzero` (e.g. `zscore@nonzero`): and a voxel that is exactly 0 stays 0, as nnU-Net's
 *   `use_mask_for_norm` and MONAI's `NormalizeIntensity(nonzero=True)` do (0 is then the mean of
 *   the normalized tissue);
 * - `@nonzero-statistics`: and zeros are mapped as any other voxel (below the tissue: with
 *   `percentile`, to the lower clip), so a zero background still looks dark to the model.
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
  bool   nonzero{ false };  //!< `@nonzero...`: statistics over the nonzero voxels only
  bool   keepZero{ false }; //!< `@nonzero`: an exact 0 stays 0 (not with `@nonzero-statistics`)

  /** Parses the text form; throws std::invalid_argument with a message saying what is accepted. */
  static NormalizationSpec
  Parse(const std::string & text);

  std::string
  ToString() const;
};

/** \brief A normalization with its statistics resolved: a fixed voxel-wise map.
 *
 * y = clamp((clip(x) - shift) / divisor, outLow, outHigh), where clip(x) clamps x to
 * [clipLow, clipHigh] and rounds to float first. Every NormalizationSpec resolves to one (from
 * the whole volume's statistics), so a volume can be normalized chunk by chunk with the same
 * result, voxel for voxel, as in one piece. */
struct IntensityMapping
{
  static constexpr double Infinity = std::numeric_limits<double>::infinity();

  double clipLow{ -Infinity };
  double clipHigh{ Infinity };
  double shift{ 0.0 };
  double divisor{ 1.0 };
  double outLow{ -Infinity };
  double outHigh{ Infinity };
  bool   identity{ true };  //!< `none`: values pass unchanged
  bool   keepZero{ false }; //!< `@nonzero`: an exact 0 maps to 0

  float
  Apply(float x) const
  {
    if (identity)
    {
      return x;
    }
    if (keepZero && x == 0.0f)
    {
      return 0.0f;
    }
    const float clipped = (x < clipLow || x > clipHigh) ? static_cast<float>(x < clipLow ? clipLow : clipHigh) : x;
    const double y = (static_cast<double>(clipped) - shift) / divisor;
    return static_cast<float>(y < outLow ? outLow : (y > outHigh ? outHigh : y));
  }

  void
  Apply(float * data, size_t n) const;
};

/** True for the normalizations whose mapping depends on the volume (zscore, minmax, percentile). */
bool
NeedsStatistics(const NormalizationSpec & spec);

/** \brief Statistics gathered chunk by chunk (streaming), for `none`, `zscore`, `minmax` and
 * `ct`. Chunks added in voxel order give exactly the mapping ComputeIntensityMapping gives for
 * the whole buffer. Percentiles need every value at once: Finish() refuses them. */
class IntensityStatistics
{
public:
  void
  Add(const float * data, size_t n);

  /** Throws std::invalid_argument for `percentile` (not computable chunk by chunk). */
  IntensityMapping
  Finish(const NormalizationSpec & spec) const;

  size_t
  GetCount() const
  {
    return m_Count;
  }

private:
  double m_Sum{ 0.0 };
  double m_SumOfSquares{ 0.0 };
  float  m_Min{ std::numeric_limits<float>::infinity() };
  float  m_Max{ -std::numeric_limits<float>::infinity() };
  size_t m_Count{ 0 };
  // The nonzero voxels alone (`@nonzero`); their sums are m_Sum and m_SumOfSquares, since zeros add 0.
  float  m_NonzeroMin{ std::numeric_limits<float>::infinity() };
  float  m_NonzeroMax{ -std::numeric_limits<float>::infinity() };
  size_t m_NonzeroCount{ 0 };
};

/** The mapping `spec` gives for these voxels (the whole volume). */
IntensityMapping
ComputeIntensityMapping(const float * data, size_t n, const NormalizationSpec & spec);

/** Applies `spec` to every voxel of `image`, in place (ComputeIntensityMapping + Apply). */
void
NormalizeIntensities(FloatImage3 * image, const NormalizationSpec & spec);

} // namespace medseg

#endif
