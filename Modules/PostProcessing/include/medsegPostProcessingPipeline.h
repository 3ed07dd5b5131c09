#ifndef medsegPostProcessingPipeline_h
#define medsegPostProcessingPipeline_h

#include "medsegImageTypes.h"

#include <string>
#include <vector>

namespace medseg
{

/** \brief One step of a post-processing spec, with every value in physical units (mm, mm^3).
 *
 * The spec is a ';'-separated list of steps, each `name` or `name:arguments`, the arguments a
 * ','-separated list of `key=value` or one bare value (the step's main parameter):
 *
 * | step                | arguments (default)                                             |
 * |---------------------|-----------------------------------------------------------------|
 * | `largest-component` | `keep=N` (1), `connectivity=face\|full` (face)                    |
 * | `islands`           | `min=VOLUME` (mm3, mL or cc; 0), `keep=N` (0 = all); one needed  |
 * | `fill-holes`        | `axis=3d\|x\|y\|z\|0\|1\|2` (3d): 3D holes or 2D holes per slice     |
 * | `smooth`            | `radius=LENGTH` (1mm), `mode=majority\|median` (majority)         |
 * | `margin`            | `distance=LENGTH` (required; negative shrinks), `label=N` (0 = all) |
 * | `refine-edges`      | `band=LENGTH` (2mm), `sigma=LENGTH` (1mm), `confidence=P` (0.9), `probabilities=auto\|off` (auto) |
 *
 * Lengths need the unit mm ("1mm", "0.5 mm"); volumes mm3 (or mm^3), mL or cc. */
struct PostProcessingStep
{
  enum class Kind
  {
    LargestComponent,
    Islands,
    FillHoles,
    Smooth,
    Margin,
    RefineEdges
  };
  Kind          kind{ Kind::LargestComponent };
  std::string   text;                     //!< the step as written, for messages
  unsigned long keep{ 1 };                //!< largest-component / islands: components kept per label (0 = all)
  double        minimumVolume{ 0.0 };     //!< islands: mm^3
  bool          fullyConnected{ false };  //!< component and hole connectivity
  int           axis{ -1 };               //!< fill-holes: -1 = 3D, else the slice-normal index axis
  double        radius{ 1.0 };            //!< smooth: mm
  bool          median{ false };          //!< smooth: median instead of majority
  double        distance{ 0.0 };          //!< margin: mm, negative shrinks
  unsigned long label{ 0 };               //!< margin: 0 = all labels
  double        band{ 2.0 };              //!< refine-edges: mm
  double        sigma{ 1.0 };             //!< refine-edges: mm
  double        confidence{ 0.9 };        //!< refine-edges: probability threshold for markers
  bool          useProbabilities{ true }; //!< refine-edges: use the probability map when one is given
};

/** Parses a spec; throws std::invalid_argument("post-processing step '<step>': <problem>") when malformed.
 * An empty spec (or only separators) gives no steps. */
std::vector<PostProcessingStep>
ParsePostProcessingSpec(const std::string & spec);

/** \brief A post-processing spec, parsed and validated once, then handed on as a value.
 *
 * The text form is "step;step;...", e.g. "largest-component;fill-holes;smooth:1mm" (see
 * Documentation/postprocessing.md); "" (or only separators) is no post-processing. */
class PostProcessingSpec
{
public:
  PostProcessingSpec() = default; //!< no steps

  /** Throws std::invalid_argument("post-processing step '<step>': <problem>") when malformed. */
  static PostProcessingSpec
  Parse(const std::string & text);

  bool
  IsEmpty() const
  {
    return m_Steps.empty();
  }
  /** True when some step needs the intensity image (refine-edges). */
  bool
  NeedsIntensity() const;
  const std::vector<PostProcessingStep> &
  GetSteps() const
  {
    return m_Steps;
  }
  /** The text it was parsed from, for messages. */
  const std::string &
  GetText() const
  {
    return m_Text;
  }

private:
  std::vector<PostProcessingStep> m_Steps;
  std::string                     m_Text;
};

/** \brief Runs the steps of `spec` in order on `labels` and returns a new label map with exactly
 * the input's geometry (the input is not modified).
 *
 * `intensity` may be nullptr unless the spec has refine-edges (then std::invalid_argument). `probabilities`
 * (optional, one component per label value) is used by refine-edges. Images given must share the
 * label map's grid, else InputError("intensity image"/"probability image", "<field> differs ..."). */
LabelImage3::Pointer
ApplyPostProcessing(const LabelImage3 * labels, const PostProcessingSpec & spec, const FloatImage3 * intensity,
                    const ProbabilityImage3 * probabilities = nullptr);

} // namespace medseg

#endif
