#ifndef medsegNNUNetFolder_h
#define medsegNNUNetFolder_h

#include "medsegNNUNetPreprocessing.h"
#include "medsegSegmentationModel.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** \brief Parameters of one resample_data_or_seg_to_shape call as plans.json names them
 * (`resampling_fn_data_kwargs`, `resampling_fn_probabilities_kwargs`). */
struct NNUNetResamplingKwargs
{
  int                 order{ 3 };
  int                 orderZ{ 0 };
  std::optional<bool> forceSeparateZ; //!< null in plans.json: decided by the anisotropy threshold
};

/** \brief What an nnU-Net v2 trained-model folder says, in nnU-Net's own terms.
 *
 * The folder is `<Trainer>__<Plans>__<configuration>/` with `plans.json`, `dataset.json` and
 * `fold_N/checkpoint_final.pth` (or `checkpoint_best.pth`). Axes are nnU-Net's: arrays are
 * [k, j, i] (slowest voxel axis first, as SimpleITKIO and NibabelIO give them), and `spacing`,
 * `patchSize` and `mirrorAxes` are in the transposed order (after `transposeForward`). */
struct NNUNetModel
{
  std::string folder;        //!< the trained-model folder
  std::string datasetName;   //!< plans.json `dataset_name`
  std::string plansName;     //!< plans.json `plans_name`
  std::string configuration; //!< from the checkpoint's init_args (as nnUNetPredictor does)
  std::string trainerName;   //!< the checkpoint's `trainer_name`
  std::string readerWriter;  //!< plans.json `image_reader_writer` (SimpleITKIO, NibabelIO, ...)
  bool        reorientToRAS{ false }; //!< NibabelIOWithReorient: images are reoriented to RAS first

  std::array<int, 3> transposeForward{ { 0, 1, 2 } };
  std::array<int, 3> transposeBackward{ { 0, 1, 2 } };

  int                  spatialDims{ 3};  //!< 2 for the `2d` configuration (slices across array axis 0)
  std::vector<int64_t> patchSize;        //!< 3 values, or 2 (in-plane) for 2D
  std::vector<double>  spacing;          //!< target spacing in mm, 3 values, or 2 for 2D
  NNUNetResamplingKwargs dataResampling{ 3, 0, std::nullopt };
  NNUNetResamplingKwargs probabilityResampling{ 1, 0, std::nullopt };

  std::vector<std::string>                              channelNames;  //!< dataset.json channel_names, in order
  std::vector<NNUNetNormalization>                      normalization; //!< one per channel
  std::vector<std::string>                              normalizationNames;
  std::vector<bool>                                     useMaskForNorm;
  std::vector<std::optional<NNUNetIntensityProperties>> intensityProperties;

  /** Label values, one per segmentation head (class index k is written as labelValues[k]);
   * with regions, the value regionsClassOrder[k] is written where region k's sigmoid > 0.5. */
  std::vector<unsigned int> labelValues;
  std::vector<std::string>  labelNames; //!< parallel to labelValues (without regions)
  bool                      hasRegions{ false };
  std::vector<unsigned int> regionsClassOrder;
  int64_t                   numberOfHeads{ 0 }; //!< network outputs

  std::string              architectureJson; //!< plans' architecture object (or an old flat configuration)
  std::string              networkClass;     //!< short name, e.g. PlainConvUNet
  std::vector<int>         mirrorAxes;       //!< checkpoint's inference_allowed_mirroring_axes (transposed axes)
  std::vector<std::string> folds;            //!< "0", "1", ..., or "all"
  std::vector<std::string> checkpoints;      //!< fold_<f>/<checkpoint name>, parallel to folds
};

/** Options of ReadNNUNetFolder: which folds (empty: every `fold_N` holding the checkpoint, as
 * nnUNetPredictor.auto_detect_available_folds; "all" only when asked) and which checkpoint. */
struct NNUNetFolderOptions
{
  std::vector<std::string> folds;
  std::string              checkpoint{ "final" }; //!< "final" | "best" (checkpoint_<name>.pth)
};

/** Does `path` look like an nnU-Net v2 trained-model folder (plans.json and dataset.json)? */
bool
IsNNUNetModelFolder(const std::string & path);

/** \brief Reads plans.json and dataset.json and finds the folds' checkpoints, validating
 * everything inference needs; throws InputError naming the file and the field.
 *
 * The configuration is the folder name's (`<Trainer>__<Plans>__<configuration>`), or, when the
 * folder was renamed, the first checkpoint's `init_args.configuration`. Refused, each in one
 * line: a configuration missing from the plans, cascades (`previous_stage`), resampling functions
 * other than resample_data_or_seg_to_shape, unknown normalization schemes, image readers or
 * network classes, a missing fold or checkpoint. */
NNUNetModel
ReadNNUNetFolder(const std::string & folder, const NNUNetFolderOptions & options = {});

/** \brief Reads every fold's checkpoint once and returns one network per fold, built from the
 * plans and loaded strictly, on `device` ("cpu", "cuda", "auto").
 *
 * Fills `model.trainerName` and `model.mirrorAxes` from the first checkpoint (as
 * nnUNetPredictor.initialize_from_trained_model_folder). Refused in one line naming the
 * checkpoint: no `network_weights`, another configuration than the folder's, weights that do
 * not fit the plans' network. */
std::vector<std::shared_ptr<SegmentationModel>>
LoadNNUNetFolds(NNUNetModel & model, const std::string & device = "cpu");

/** A multi-line description for `medseg model info`. */
std::string
DescribeNNUNetModel(const NNUNetModel & model);

} // namespace medseg

#endif
