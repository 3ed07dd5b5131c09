#include "medsegTorchScriptModel.h"

#include "medsegInferenceOperators.h"

#include "medsegError.h"
#include "medsegTorchRuntime.h"

#include <torch/csrc/jit/api/module.h>

#include <filesystem>
#include <sstream>
#include <utility>

namespace medseg
{

namespace
{

/** The error itself from a TorchScript failure: the last "SomethingError: ..." line of what LibTorch
 * reports (after the interpreter's traceback of serialized and original code), else its last line. */
std::string
CoreOfTorchError(const std::string & text)
{
  std::istringstream lines(text);
  std::string        line, last, error;
  while (std::getline(lines, line))
  {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos)
      continue;
    line = line.substr(start);
    last = line;
    const auto colon = line.find(": ");
    if (colon != std::string::npos && colon > 5 && line.compare(colon - 5, 5, "Error") == 0 &&
        line.find(' ') >= colon)
    {
      error = line;
    }
  }
  return error.empty() ? last : error;
}

/** The first convolution-like (4D/5D) weight of `module`, or an undefined tensor and "" when
 * there is none (a hint, never a check: a model may start with something else). */
std::pair<std::string, at::Tensor>
FindFirstConvolution(const torch::jit::Module & module)
{
  const auto isConvolution = [](const std::string & name, const at::Tensor & w) {
    return (w.dim() == 4 || w.dim() == 5) && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
  };
  for (const auto & parameter : module.named_parameters(/*recurse=*/true))
  {
    if (isConvolution(parameter.name, parameter.value))
      return { parameter.name, parameter.value };
  }
  for (const auto & buffer : module.named_buffers(/*recurse=*/true)) // modules built in C++ keep weights here
  {
    if (isConvolution(buffer.name, buffer.value))
      return { buffer.name, buffer.value };
  }
  return {};
}

} // namespace

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
  , m_Classes(options.classes)
{
  m_Module.eval();
  m_Module.to(m_Device);
  // Before freezing folds the parameters away.
  if (const auto [name, w] = FindFirstConvolution(m_Module); w.defined())
  {
    m_FirstConvolutionChannels = w.size(1);
    m_FirstConvolution = "its first convolution (" + name + ", " + c10::str(w.sizes()) + ") takes " +
                         std::to_string(w.size(1)) + " channel(s) of " + std::to_string(w.dim() - 2) + "D patches";
  }
  if (options.optimize)
  {
    const InferenceRewrites rewrites = InferenceRewrites::FromEnvironment(); // a bad value is not swallowed below
    try
    {
      m_Module = torch::jit::freeze(m_Module);
      // Before optimize_for_inference, so that its oneDNN conversion sees the new operators.
      m_Rewrites = RewriteForInference(m_Module, rewrites);
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
  catch (const std::exception & e) // c10::Error, or torch::jit::JITException from the interpreter
  {
    // One line: LibTorch's own error, not the interpreter's traceback, and what the model expects.
    const auto * error = dynamic_cast<const c10::Error *>(&e);
    std::string  message = "the network refused a batch of shape " + c10::str(batch.sizes()) + " (" +
                          std::to_string(batch.size(1)) + " channel(s) of " + std::to_string(batch.dim() - 2) +
                          "D patches): " + CoreOfTorchError(error ? error->what_without_backtrace() : e.what());
    if (!m_FirstConvolution.empty())
    {
      message += "; " + m_FirstConvolution;
    }
    throw InputError(m_Name, OneLine(message));
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
  if (m_Classes > 0 && logits.size(1) != static_cast<int64_t>(m_Classes))
  {
    throw InputError(m_Name, "the model returned " + std::to_string(logits.size(1)) + " output channel(s), but " +
                               std::to_string(m_Classes) + " classes were declared for it");
  }
  return logits;
}

std::string
TorchScriptModel::GetDescription() const
{
  std::ostringstream os;
  os << "TorchScript " << m_Name << " on " << m_Device;
  if (m_Optimized)
  {
    os << " (frozen, optimized for inference; " << m_Rewrites.transposedConvolutions
       << " transposed convolution(s) and " << m_Rewrites.normActivations << " norm + activation(s) rewritten)";
  }
  return os.str();
}

} // namespace medseg
