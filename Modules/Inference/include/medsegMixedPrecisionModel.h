#ifndef medsegMixedPrecisionModel_h
#define medsegMixedPrecisionModel_h

#include "medsegSegmentationModel.h"

#include <memory>
#include <string>

namespace medseg
{

/** Arithmetic a network runs in. */
enum class Precision
{
  FP32, //!< float everywhere (default)
  BF16  //!< LibTorch autocast to bfloat16: convolutions and matrix products in bf16, reductions in float
};

/** "fp32" | "bf16"; throws std::invalid_argument otherwise. */
Precision
ParsePrecision(const std::string & text);

/** \brief Runs any SegmentationModel under LibTorch's automatic mixed precision (bfloat16).
 *
 * Forward() enables autocast for the model's device (CPU or CUDA) with bfloat16 around the
 * wrapped model's Forward() and returns float logits. Works for native plugin networks and for
 * TorchScript modules that are not frozen: a frozen, optimize_for_inference graph ignores
 * autocast, so TorchScript models are loaded without optimization for bf16. On CPUs the
 * speed-up needs AMX (oneDNN's avx512_core_amx kernels); with AVX-512 BF16 alone bf16
 * convolutions were slower than float ones (88 vs 160 GFLOP/s, Documentation/benchmarks.md). */
class MixedPrecisionModel : public SegmentationModel
{
public:
  explicit MixedPrecisionModel(std::shared_ptr<SegmentationModel> model);

  at::Tensor
  Forward(const at::Tensor & batch) override;

  c10::Device
  GetDevice() const override
  {
    return m_Model->GetDevice();
  }
  int64_t
  GetNumberOfInputChannels() const override
  {
    return m_Model->GetNumberOfInputChannels();
  }
  int
  GetSpatialDimension() const override
  {
    return m_Model->GetSpatialDimension();
  }
  unsigned int
  GetNumberOfClasses() const override
  {
    return m_Model->GetNumberOfClasses();
  }
  std::string
  GetDescription() const override
  {
    return m_Model->GetDescription() + ", bf16 autocast";
  }

private:
  std::shared_ptr<SegmentationModel> m_Model;
};

/** `model` itself for FP32, else wrapped in a MixedPrecisionModel. */
std::shared_ptr<SegmentationModel>
WithPrecision(std::shared_ptr<SegmentationModel> model, Precision precision);

} // namespace medseg

#endif
