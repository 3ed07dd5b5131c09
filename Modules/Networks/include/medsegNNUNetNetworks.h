#ifndef medsegNNUNetNetworks_h
#define medsegNNUNetNetworks_h

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace medseg
{

/** The network classes of dynamic_network_architectures that nnU-Net v2 plans name. */
enum class NNUNetNetworkClass
{
  PlainConvUNet,      //!< dynamic_network_architectures.architectures.unet.PlainConvUNet
  ResidualEncoderUNet //!< dynamic_network_architectures.architectures.unet.ResidualEncoderUNet (BasicBlockD)
};

/** arch_kwargs.norm_op */
enum class NNUNetNorm
{
  None,
  InstanceNorm, //!< torch.nn.InstanceNorm{2,3}d: statistics of each sample (unless trackRunningStats)
  BatchNorm     //!< torch.nn.BatchNorm{2,3}d: running statistics (eval mode)
};

/** arch_kwargs.nonlin */
enum class NNUNetNonlinearity
{
  None,
  ReLU,
  LeakyReLU
};

/** \brief Everything a plans.json configuration says about its network, typed.
 *
 * Per-stage lists are expanded as upstream expands scalars (an int kernel size 3 becomes [3, 3, 3]). */
struct NNUNetArchitecture
{
  NNUNetNetworkClass networkClass{ NNUNetNetworkClass::PlainConvUNet };
  std::string        networkClassName; //!< as the plans spell it
  int                spatialDimension{ 3 };
  int64_t            inputChannels{ 1 };
  int64_t            outputChannels{ 2 }; //!< segmentation heads (num_classes)
  int64_t            numberOfStages{ 0 };
  std::vector<int64_t>              featuresPerStage;
  std::vector<std::vector<int64_t>> kernelSizes; //!< [stage][axis]
  std::vector<std::vector<int64_t>> strides;     //!< [stage][axis]; stage 0 is usually all 1
  std::vector<int64_t> convsPerStage;            //!< n_conv_per_stage (Plain) or n_blocks_per_stage (ResEnc)
  std::vector<int64_t> convsPerStageDecoder;     //!< n_conv_per_stage_decoder, numberOfStages - 1 entries
  bool                 convBias{ false };
  NNUNetNorm           norm{ NNUNetNorm::None };
  double               normEps{ 1e-5 };
  bool                 normAffine{ true };
  bool                 normTrackRunningStats{ false }; //!< default: false for InstanceNorm, true for BatchNorm
  bool                 dropout{ false }; //!< dropout_op set: identity in eval, but it shifts `all_modules` indices
  NNUNetNonlinearity   nonlinearity{ NNUNetNonlinearity::None };
  double               negativeSlope{ 0.01 };
  bool                 nonlinFirst{ false };   //!< PlainConvUNet's conv -> nonlin -> norm order
  int64_t              stemChannels{ 0 };      //!< ResidualEncoderUNet stem width (0: featuresPerStage[0])
  std::string          subject;                //!< names the plans file in errors
};

/** \brief Reads plans.json's configuration "architecture" object (network_class_name + arch_kwargs,
 * as a JSON text), as nnunetv2.utilities.get_network_from_plans.get_network_from_plans does.
 *
 * Also accepts a whole configuration object: one holding "architecture", or one in the older
 * plans format (UNet_class_name, UNet_base_num_features, n_conv_per_stage_encoder, ...), converted
 * as nnunetv2.utilities.plans_handling.plans_handler.ConfigurationManager does. Unknown network
 * classes, options and keyword arguments are refused in one line naming the field. */
NNUNetArchitecture
ParseNNUNetArchitecture(const std::string & architectureJson, int64_t inputChannels, int64_t outputChannels,
                        const std::string & subject);

/** One entry of a network's state dict: the key upstream's `state_dict()` uses and its shape. */
struct NNUNetStateDictEntry
{
  std::string          key;
  std::vector<int64_t> shape;
  std::string          twin; //!< "" for the first name of a tensor; else the key it duplicates
};

/** \brief nnU-Net's PlainConvUNet / ResidualEncoderUNet in LibTorch, always in eval mode,
 * with deep_supervision False (only the highest-resolution segmentation output).
 *
 * The weights are held under upstream's state_dict keys, including the names upstream registers
 * twice (`...all_modules.N...` for the conv/norm of each ConvDropoutNormReLU and `decoder.encoder.*`). */
class NNUNetNetwork
{
public:
  explicit NNUNetNetwork(const NNUNetArchitecture & architecture);
  ~NNUNetNetwork();
  NNUNetNetwork(const NNUNetNetwork &) = delete;
  NNUNetNetwork &
  operator=(const NNUNetNetwork &) = delete;

  /** x [N, C, (Z,) Y, X] float on GetDevice(), each spatial size divisible by the product of the
   * strides along that axis; returns logits [N, outputs, (Z,) Y, X]. Runs under InferenceMode. */
  at::Tensor
  Forward(const at::Tensor & x) const;

  int
  GetSpatialDimension() const;
  int64_t
  GetNumberOfInputChannels() const;
  int64_t
  GetNumberOfOutputs() const;
  /** Per axis, the product of the stage strides: what every input size must be a multiple of. */
  std::vector<int64_t>
  GetSizeDivisor() const;
  const NNUNetArchitecture &
  GetArchitecture() const;

  /** Moves every weight (eval mode always). */
  void
  To(c10::Device device);
  c10::Device
  GetDevice() const;

  /** Upstream's state_dict keys and shapes, in upstream's order (duplicates included). */
  std::vector<NNUNetStateDictEntry>
  GetStateDictLayout() const;
  /** The weights under upstream's keys, in upstream's order (duplicates share the tensor). */
  std::vector<std::pair<std::string, at::Tensor>>
  GetStateDict() const;

private:
  friend void
  LoadNNUNetWeights(NNUNetNetwork &, const std::vector<std::pair<std::string, at::Tensor>> &, const std::string &);
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

/** Builds the network of `architecture` (weights He-initialised until LoadNNUNetWeights). */
std::shared_ptr<NNUNetNetwork>
BuildNNUNetNetwork(const NNUNetArchitecture & architecture);

/** Strict, as torch.nn.Module.load_state_dict(strict=True): every parameter and buffer the network
 * has must be present with the same shape and a convertible dtype (floating for weights); a key
 * the network does not have is refused, naming it; a duplicate name (`all_modules.*`,
 * `decoder.encoder.*`) must equal its twin. Nothing is changed when anything is refused. */
void
LoadNNUNetWeights(NNUNetNetwork & network, const std::vector<std::pair<std::string, at::Tensor>> & stateDict,
                  const std::string & subject);

} // namespace medseg

#endif
