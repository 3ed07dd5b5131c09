#ifndef medsegTrainingConfig_h
#define medsegTrainingConfig_h

#include "medsegModelPackage.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** \brief One image/label pair of a training manifest.
 *
 * Manifests are JSON (`{"cases": [{"image": ..., "label": ..., "split": ..., "label_threshold": ...}]}`)
 * or CSV with a header naming the columns `image,label[,split][,label_threshold][,id]`. Relative
 * paths are relative to the manifest's folder. `split` is `train` (default), `validation` (or `val`)
 * or `test` (ignored by training). With `label_threshold` t the label file is an intensity image and
 * the label is `voxel > t` (class 1), otherwise its voxels are label values listed in the config. */
struct TrainingCase
{
  std::string           id;
  std::string           image;
  std::string           label;
  std::string           split{ "train" };
  std::optional<double> labelThreshold;
};

/** Reads a manifest (.json or .csv); throws InputError naming the file, the row and the problem. */
std::vector<TrainingCase>
ReadTrainingManifest(const std::string & path);

/** \brief Which augmentations run, how often (probability per patch) and over which ranges.
 *
 * All draws come from generators seeded by (seed, step, sample), so a step's batch is a pure
 * function of the seed and the step number. JSON keys in brackets; ranges are uniform. */
struct AugmentationSettings
{
  bool                  enabled{ true };                       //!< false: patches are cut out as they are
  std::array<double, 3> flipProbability{ { 0.5, 0.0, 0.0 } };   //!< [flip.probability] per axis x, y, z (model space)
  double                rotationProbability{ 0.5 };             //!< [rotation.probability]
  std::array<double, 3> rotationDegrees{ { 15.0, 15.0, 15.0 } }; //!< [rotation.degrees] +- about x, y, z
  double                scaleProbability{ 0.3 };                //!< [scale.probability]
  std::array<double, 2> scaleRange{ { 0.85, 1.25 } };           //!< [scale.range] isotropic zoom (>1 shows more)
  double                elasticProbability{ 0.0 };              //!< [elastic.probability]
  double                elasticMagnitude{ 4.0 };                //!< [elastic.magnitude_mm] sd of control-point shifts
  int64_t               elasticControlPoints{ 4 };              //!< [elastic.control_points] per axis, >= 2
  double                intensityScaleProbability{ 0.3 };       //!< [intensity_scale.probability]
  std::array<double, 2> intensityScaleRange{ { 0.75, 1.25 } };  //!< [intensity_scale.range] multiplier
  double                intensityShiftProbability{ 0.3 };       //!< [intensity_shift.probability]
  double                intensityShift{ 0.1 };                  //!< [intensity_shift.max] +- added (normalized units)
  double                gammaProbability{ 0.3 };                //!< [gamma.probability]
  std::array<double, 2> gammaRange{ { 0.7, 1.5 } };             //!< [gamma.range] exponent on [min, max]-scaled values
  double                noiseProbability{ 0.15 };               //!< [noise.probability]
  double                noiseSigma{ 0.1 };                      //!< [noise.max_sigma] sd drawn from [0, max]
  double                biasFieldProbability{ 0.3 };            //!< [bias_field.probability]
  double                biasFieldMagnitude{ 0.3 };              //!< [bias_field.max_coefficient] of the log field
  double                lowResolutionProbability{ 0.25 };       //!< [low_resolution.probability]
  std::array<double, 2> lowResolutionRange{ { 1.0, 2.0 } };     //!< [low_resolution.range] down-sampling factor
  /** [field_of_view.probability]: the patch is cut by a plane across one axis at 10-90 % of its
   * width; beyond it the image is constant (each channel's minimum, as a zero-filled or cropped
   * field of view gives) and the label background. */
  double fieldOfViewProbability{ 0.0 };
  /** [field_of_view.max_axes]: up to this many planes, across distinct axes (1-3 drawn
   * uniformly), so the patch can hold an edge or a corner of the field of view. */
  int64_t fieldOfViewMaxAxes{ 1 };
  /** [beyond_case.probability]: a patch not centred on the foreground may reach past the case
   * by up to [beyond_case.max_fraction] of its width on every side, seeing there what zero
   * padding becomes (see padding), as the windows at the edge of a larger zero-filled field of
   * view do when inference runs without the crop. */
  double beyondCaseProbability{ 0.0 };
  double beyondCaseFraction{ 0.75 };
  /** [constant_patch.probability]: the whole patch is one constant (each channel's minimum) and
   * background, as a window that sees only zero padding; a network trained with it does not make
   * up anatomy there, with or without inference.crop_to_nonzero. */
  double constantPatchProbability{ 0.0 };
  /** What the constant of constant_patch and field_of_view is; not a JSON key but set from the
   * channel's normalization, to be what zero padding becomes at inference. Zero and CaseMinimum
   * are also what a patch sees where it reaches beyond the case (at its edges, rotated, zoomed
   * out), with background as the label there; PatchMinimum repeats the border voxels there. */
  enum class Padding
  {
    PatchMinimum, //!< the patch's minimum per channel (whole-volume normalizations)
    Zero,         //!< 0 (`@nonzero`: zeros stay 0)
    CaseMinimum   //!< the case's minimum per channel (`@nonzero-statistics`: zeros map below the tissue)
  };
  Padding padding{ Padding::PatchMinimum };
  /** [synthesis]: with this probability a patch's image is replaced by one synthesized from the
   * case's tissue classes (intensity clustering: [synthesis.classes_inside] classes inside the
   * label, [synthesis.classes_outside] outside), each class a random intensity, so the network
   * sees every contrast (SynthSeg-style domain randomization); the other intensity augmentations
   * follow. See medsegIntensitySynthesis.h. */
  double  synthesisProbability{ 0.0 };
  int64_t synthesisClassesInside{ 3 };
  int64_t synthesisClassesOutside{ 4 };
  double  synthesisMaxSd{ 0.1 };                      //!< [synthesis.max_sd] per-class sd, units of the [0, 1] mean range
  double  synthesisMaxBlur{ 1.0 };                    //!< [synthesis.max_blur_voxels] sd of the Gaussian blur
  double  synthesisZeroBackgroundProbability{ 0.3 };  //!< [synthesis.zero_background_probability] class 0 = exact zero

  static AugmentationSettings
  FromJson(const nlohmann::json & json, const std::string & subject);
  nlohmann::json
  ToJson() const;
};

/** \brief Everything `medseg train` needs besides the manifest (see Documentation/training.md). */
struct TrainingConfig
{
  std::string name{ "model" };
  std::string version{ "1.0" };
  std::string description;
  std::string plugin{ "unet" };                       //!< unet or fcn
  nlohmann::json hyperParameters = nlohmann::json::object();
  std::vector<ChannelDescription> channels;           //!< exactly one channel for now
  std::string orientation{ "any" };
  std::optional<std::array<double, 3>> spacing;
  int spatialDims{ 3 };
  int sliceAxis{ 2 };
  std::vector<LabelDescription> labels;                //!< background first
  std::array<int64_t, 3> patchSize{ { 64, 64, 64 } }; //!< x, y, z (1 along the slice axis for 2D)
  int64_t batchSize{ 2 };
  double  foregroundRatio{ 0.33 };                     //!< share of patches centred on a foreground voxel
  AugmentationSettings augmentation;
  double  diceWeight{ 1.0 };
  double  crossEntropyWeight{ 1.0 };
  bool    diceIncludeBackground{ false };
  std::string optimizer{ "adamw" };                    //!< adam | adamw | sgd
  double  learningRate{ 1e-3 };
  double  weightDecay{ 1e-4 };
  double  momentum{ 0.99 };                            //!< sgd
  bool    nesterov{ true };                            //!< sgd
  double  gradientClip{ 12.0 };                        //!< max gradient norm, 0 = off
  std::string schedule{ "poly" };                      //!< poly | cosine | constant
  double  polyPower{ 0.9 };
  double  minLearningRate{ 0.0 };
  int64_t warmupSteps{ 0 };
  int64_t steps{ 1000 };
  int64_t validationEvery{ 100 };
  int64_t patience{ 0 };                               //!< validations without improvement before stopping, 0 = never
  int64_t logEvery{ 10 };
  uint64_t seed{ 1 };
  int     threads{ 2 };
  double  validationOverlap{ 0.25 };
  SlidingWindowSettings window;                        //!< what the package says for inference
  bool                  cropToNonzero{ false };             //!< [inference.crop_to_nonzero], written into the package
  bool                  tta{ false };                       //!< [inference.tta], into the package (needs mirror_axes)
  std::string           postprocess;                        //!< [inference.postprocess], into the package (validated)

  /** Parses and validates; unknown keys and bad values throw InputError(subject, "field: ..."). */
  static TrainingConfig
  FromJson(const nlohmann::json & json, const std::string & subject);
  static TrainingConfig
  Load(const std::string & path);
  nlohmann::json
  ToJson() const;

  /** The learning rate at step s (1-based) of `steps`. */
  double
  LearningRateAt(int64_t step) const;
};

} // namespace medseg

#endif
