#ifndef medsegNativeNetworks_h
#define medsegNativeNetworks_h

#include "medsegSegmentationModel.h"

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace medseg::nets
{

/** \brief Hyper-parameters of the `unet` plugin (JSON keys in brackets; defaults as initialised).
 *
 * A U-Net (Ronneberger et al., MICCAI 2015; 3D: Cicek et al., MICCAI 2016): per level two
 * 3x3(x3) convolutions, each followed by normalization and ReLU, max-pooling between levels,
 * a mirrored decoder with skip concatenation, and a 1x1(x1) convolution to the class logits. */
struct UNetOptions
{
  int64_t              spatialDims{ 3 };                    //!< [spatial_dims] 2 or 3
  int64_t              inChannels{ 1 };                     //!< [in_channels] (the factory's inputChannels)
  int64_t              outChannels{ 2 };                    //!< [out_channels] classes K (1 = sigmoid output)
  std::vector<int64_t> features{ 16, 32, 64, 128 };         //!< [features] channels per level; or
                                                            //!< [base_features] b and [depth] L: b * 2^i, i < L
  std::string          norm{ "instance" };                  //!< [norm] instance|batch
  bool                 residual{ false };                   //!< [residual] residual blocks (1x1 projection)
  std::string          upsampling{ "transpose" };           //!< [upsampling] transpose|upsample|pixelshuffle

  /** Parses a JSON object; unknown keys, wrong types and bad values throw std::invalid_argument. */
  static UNetOptions
  FromJson(const std::string & json, int64_t inputChannels);
  std::string
  ToJson() const;
};

/** \brief Hyper-parameters of the `fcn` plugin.
 *
 * A fully convolutional network in the FCN-8s style (Long, Shelhamer, Darrell, CVPR 2015):
 * a VGG-style encoder (stages of 3x3(x3) convolution + normalization + ReLU, each stage ending
 * in a 2x max-pool), two "fully connected" convolutions (3x3 then 1x1), class scores from the
 * last three pooling outputs, fused by learned 2x transposed convolutions, and a learned
 * transposed convolution back to full resolution. */
struct FCNOptions
{
  int64_t              spatialDims{ 3 };                  //!< [spatial_dims] 2 or 3
  int64_t              inChannels{ 1 };                   //!< [in_channels]
  int64_t              outChannels{ 2 };                  //!< [out_channels]
  std::vector<int64_t> features{ 16, 32, 64, 128, 128 }; //!< [features] channels per stage (>= 3 stages)
  int64_t              convsPerStage{ 2 };                //!< [convs_per_stage]
  int64_t              fcFeatures{ 256 };                 //!< [fc_features] channels of the fc6/fc7 convolutions
  std::string          norm{ "batch" };                   //!< [norm] batch|instance|none

  static FCNOptions
  FromJson(const std::string & json, int64_t inputChannels);
  std::string
  ToJson() const;
};

/** A network module with a dimension-independent forward. */
class NetworkImpl : public torch::nn::Module
{
public:
  virtual torch::Tensor
  forward(torch::Tensor x) = 0;
  /** Spatial sizes must be multiples of this (the model pads and crops on its own). */
  virtual int64_t
  SizeMultiple() const = 0;
  int64_t
  SpatialDims() const
  {
    return m_SpatialDims;
  }
  /** K, the channels of the logits (out_channels). */
  int64_t
  OutputChannels() const
  {
    return m_OutputChannels;
  }

protected:
  NetworkImpl(int64_t spatialDims, int64_t outputChannels)
    : m_SpatialDims(spatialDims)
    , m_OutputChannels(outputChannels)
  {}

private:
  int64_t m_SpatialDims;
  int64_t m_OutputChannels;
};

/** Builds the networks (randomly initialised, seeded by torch::manual_seed). */
std::shared_ptr<NetworkImpl>
MakeUNet(const UNetOptions & options);
std::shared_ptr<NetworkImpl>
MakeFCN(const FCNOptions & options);

/** \brief Loads parameters and buffers written by torch::save(network, path) into `network`.
 *
 * Every parameter and buffer must be present with the same shape and nothing else may be in the
 * file; otherwise throws std::invalid_argument naming `path`, the entry and both shapes. */
void
LoadWeights(torch::nn::Module & network, const std::string & path);

/** Saves with torch::save (the format LoadWeights reads). */
void
SaveWeights(torch::nn::Module & network, const std::string & path);

/** 3D (or 2D) pixel shuffle: [N, C*2^d, ...] -> [N, C, 2x each spatial size]. Channel c*2^d + k
 * goes to offset k = (a*2 + b)*2 + e for offsets (a, b, e) along (D, H, W). */
torch::Tensor
PixelShuffle2x(const torch::Tensor & x, int64_t spatialDims);

/** \brief A native network as a SegmentationModel: eval mode, c10::InferenceMode, pads the
 * input up to SizeMultiple() (zeros) and crops the logits back. */
class NativeSegmentationModel : public SegmentationModel
{
public:
  NativeSegmentationModel(std::shared_ptr<NetworkImpl> network, c10::Device device, int64_t inputChannels,
                          std::string description);

  at::Tensor
  Forward(const at::Tensor & batch) override;
  c10::Device
  GetDevice() const override
  {
    return m_Device;
  }
  int64_t
  GetNumberOfInputChannels() const override
  {
    return m_InputChannels;
  }
  int
  GetSpatialDimension() const override
  {
    return static_cast<int>(m_Network->SpatialDims());
  }
  unsigned int
  GetNumberOfClasses() const override
  {
    return static_cast<unsigned int>(m_Network->OutputChannels());
  }
  std::string
  GetDescription() const override
  {
    return m_Description;
  }

private:
  std::shared_ptr<NetworkImpl> m_Network;
  c10::Device                  m_Device;
  int64_t                      m_InputChannels;
  std::string                  m_Description;
};

/** Builds the plugin's model: network from options, weights from `weightsPath` ("" = random), device. */
std::unique_ptr<SegmentationModel>
MakeNativeModel(std::shared_ptr<NetworkImpl> network, const std::string & weightsPath, const std::string & device,
                int64_t inputChannels, const std::string & summary);

} // namespace medseg::nets

#endif
