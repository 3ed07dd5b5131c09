#include "medsegMixedPrecisionModel.h"

#include <ATen/autocast_mode.h>

#include <stdexcept>

namespace medseg
{

Precision
ParsePrecision(const std::string & text)
{
  if (text == "fp32")
  {
    return Precision::FP32;
  }
  if (text == "bf16")
  {
    return Precision::BF16;
  }
  throw std::invalid_argument("unknown precision '" + text + "'; use fp32 or bf16");
}

MixedPrecisionModel::MixedPrecisionModel(std::shared_ptr<SegmentationModel> model)
  : m_Model(std::move(model))
{
  if (!m_Model)
  {
    throw std::invalid_argument("MixedPrecisionModel needs a model");
  }
}

at::Tensor
MixedPrecisionModel::Forward(const at::Tensor & batch)
{
  const bool cuda = m_Model->GetDevice().is_cuda();
  // Autocast state is thread-local; restore it whatever happens.
  struct Restore
  {
    bool          cuda;
    bool          enabled;
    at::ScalarType dtype;
    ~Restore()
    {
      if (cuda)
      {
        at::autocast::set_enabled(enabled);
        at::autocast::set_autocast_gpu_dtype(dtype);
      }
      else
      {
        at::autocast::set_cpu_enabled(enabled);
        at::autocast::set_autocast_cpu_dtype(dtype);
      }
      at::autocast::clear_cache();
    }
  } restore{ cuda, cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(),
             cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype() };
  if (cuda)
  {
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  }
  else
  {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
  return m_Model->Forward(batch).to(at::kFloat);
}

std::shared_ptr<SegmentationModel>
WithPrecision(std::shared_ptr<SegmentationModel> model, Precision precision)
{
  if (precision == Precision::FP32)
  {
    return model;
  }
  return std::make_shared<MixedPrecisionModel>(std::move(model));
}

} // namespace medseg
