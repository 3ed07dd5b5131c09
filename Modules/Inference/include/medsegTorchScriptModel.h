#ifndef medsegTorchScriptModel_h
#define medsegTorchScriptModel_h

#include "medsegInferenceOperators.h"
#include "medsegSegmentationModel.h"

#include <torch/script.h>

#include <memory>
#include <string>

namespace medseg
{

/** Settings for loading a TorchScript file. */
struct TorchScriptModelOptions
{
  std::string device{ "auto" }; //!< auto|cpu|cuda[:N]
  /** torch::jit::freeze + torch::jit::optimize_for_inference after loading (2.8-4x on a CPU UNet). */
  bool    optimize{ true };
  int64_t inputChannels{ 1 };
  int     spatialDims{ 3 }; //!< 2 for slice-wise models taking [N, C, H, W]
  /** K, the logits' channels, when known from elsewhere (a package's label list); 0 = shown by
   * running. When set, Forward() refuses logits with another number of channels. */
  unsigned int classes{ 0 };
};

/** \brief A TorchScript module (`torch.jit.script`/`trace` output, or made in C++) as a SegmentationModel.
 *
 * Loaded with torch::jit::load onto the chosen device, switched to eval mode, frozen and
 * optimized for inference, and run under c10::InferenceMode. */
class TorchScriptModel : public SegmentationModel
{
public:
  /** Throws InputError(path, ...) if the file cannot be read as TorchScript. */
  static std::shared_ptr<TorchScriptModel>
  Load(const std::string & path, const TorchScriptModelOptions & options = {});

  /** Wraps an already loaded module (e.g. one built with torch::jit::Module::define). */
  TorchScriptModel(torch::jit::Module module, std::string name, const TorchScriptModelOptions & options);

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
    return m_SpatialDims;
  }
  unsigned int
  GetNumberOfClasses() const override
  {
    return m_Classes;
  }
  std::string
  GetDescription() const override;

  /** The input channels of the module's first convolution weight (the first 4D/5D parameter
   * named "...weight"), or -1 when it has none: a hint for checks before a run, not a guarantee. */
  int64_t
  GetFirstConvolutionInputChannels() const
  {
    return m_FirstConvolutionChannels;
  }

private:
  torch::jit::Module    m_Module;
  std::string           m_Name;
  c10::Device           m_Device;
  int64_t               m_InputChannels;
  int                   m_SpatialDims;
  unsigned int          m_Classes;
  bool                  m_Optimized{ false };
  InferenceRewriteCount m_Rewrites;
  std::string           m_FirstConvolution; //!< for error messages: what the first conv weight takes
  int64_t               m_FirstConvolutionChannels{ -1 };
};

} // namespace medseg

#endif
