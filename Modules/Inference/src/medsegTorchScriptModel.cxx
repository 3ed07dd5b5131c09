#include "medsegTorchScriptModel.h"

#include "medsegError.h"
#include "medsegTorchRuntime.h"

#include <torch/csrc/jit/api/module.h>

#include <filesystem>
#include <sstream>

namespace medseg
{

std::shared_ptr<TorchScriptModel>
TorchScriptModel::Load(const std::string & path, const TorchScriptModelOptions & options)
{
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
  {
    throw InputError(path, "no such model file");
  }
  const c10::Device  device = ResolveDevice(options.device);
  torch::jit::Module module;
  try
  {
    module = torch::jit::load(path, device);
  }
  catch (const c10::Error & e)
  {
    throw InputError(path, std::string("is not a TorchScript model: ") + e.what_without_backtrace());
  }
  return std::make_shared<TorchScriptModel>(std::move(module), std::filesystem::path(path).filename().string(),
                                            options);
}

TorchScriptModel::TorchScriptModel(torch::jit::Module module, std::string name, const TorchScriptModelOptions & options)
  : m_Module(std::move(module))
  , m_Name(std::move(name))
  , m_Device(ResolveDevice(options.device))
  , m_InputChannels(options.inputChannels)
  , m_SpatialDims(options.spatialDims)
{
  m_Module.eval();
  m_Module.to(m_Device);
  if (options.optimize)
  {
    try
    {
      m_Module = torch::jit::freeze(m_Module);
      m_Module = torch::jit::optimize_for_inference(m_Module);
      m_Optimized = true;
    }
    catch (const std::exception &)
    {
      // Some scripted modules cannot be frozen (e.g. they mutate attributes); they still run.
      m_Optimized = false;
    }
  }
}

at::Tensor
TorchScriptModel::Forward(const at::Tensor & batch)
{
  c10::InferenceMode guard;
  torch::jit::IValue output;
  try
  {
    output = m_Module.forward({ batch.to(m_Device) });
  }
  catch (const c10::Error & e)
  {
    throw InputError(m_Name, std::string("the model failed on a batch of shape ") + c10::str(batch.sizes()) + ": " +
                               e.what_without_backtrace());
  }
  if (!output.isTensor())
  {
    throw InputError(m_Name, "the model returned " + output.tagKind() + ", expected a tensor of logits [N,K,D,H,W]");
  }
  at::Tensor logits = output.toTensor();
  if (logits.is_mkldnn())
  {
    logits = logits.to_dense();
  }
  const bool sameSpatial = logits.dim() == batch.dim() && logits.size(0) == batch.size(0) &&
                           logits.sizes().slice(2) == batch.sizes().slice(2);
  if (!sameSpatial)
  {
    throw InputError(m_Name, "the model returned shape " + c10::str(logits.sizes()) + " for input " +
                               c10::str(batch.sizes()) + "; expected [N,K] followed by the input's spatial size");
  }
  return logits;
}

std::string
TorchScriptModel::GetDescription() const
{
  std::ostringstream os;
  os << "TorchScript " << m_Name << " on " << m_Device << (m_Optimized ? " (frozen, optimized for inference)" : "");
  return os.str();
}

} // namespace medseg
