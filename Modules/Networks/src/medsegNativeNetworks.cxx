#include "medsegNativeNetworks.h"

#include "medsegError.h"
#include "medsegJsonFields.h"

#include "medsegTorchRuntime.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

namespace medseg::nets
{

namespace
{

namespace nn = torch::nn;
using nlohmann::json;

// --- JSON helpers ----------------------------------------------------------------------------

/** `text` parsed ("" is {}); std::invalid_argument when it is not JSON. */
json
ParseHyperParameters(const std::string & text, const char * plugin)
{
  if (text.empty())
    return json::object();
  try
  {
    return json::parse(text);
  }
  catch (const json::exception & e)
  {
    throw std::invalid_argument(std::string(plugin) + " hyper-parameters are not valid JSON: " + e.what());
  }
}

/** Runs `read` on the fields of `object`, refusing unknown keys; a bad value is a bad argument
 * (std::invalid_argument "<plugin> hyper-parameters: field '<key>' ..."), as the factories document. */
template <typename TRead>
void
ReadHyperParameters(const json & object, const char * plugin, const std::set<std::string> & known, TRead read)
{
  try
  {
    const JsonFields fields(object, std::string(plugin) + " hyper-parameters");
    fields.AllowOnly(known);
    read(fields);
  }
  catch (const InputError & e)
  {
    throw std::invalid_argument(e.what());
  }
}

void
Require(bool condition, const std::string & message)
{
  if (!condition)
  {
    throw std::invalid_argument(message);
  }
}

std::string
Shape(const torch::Tensor & t)
{
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

// --- Layers in 2D or 3D ----------------------------------------------------------------------

nn::AnyModule
Conv(int64_t dims, int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias = true)
{
  if (dims == 2)
  {
    return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(padding).bias(bias)));
  }
  return nn::AnyModule(nn::Conv3d(nn::Conv3dOptions(in, out, kernel).padding(padding).bias(bias)));
}

nn::AnyModule
ConvTranspose(int64_t dims, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding)
{
  if (dims == 2)
  {
    return nn::AnyModule(
      nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, kernel).stride(stride).padding(padding)));
  }
  return nn::AnyModule(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(in, out, kernel).stride(stride).padding(padding)));
}

/** Normalization layer, or an empty AnyModule for "none". */
nn::AnyModule
Norm(int64_t dims, const std::string & kind, int64_t channels)
{
  if (kind == "instance")
  {
    if (dims == 2)
      return nn::AnyModule(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(channels).affine(true)));
    return nn::AnyModule(nn::InstanceNorm3d(nn::InstanceNorm3dOptions(channels).affine(true)));
  }
  if (kind == "batch")
  {
    if (dims == 2)
      return nn::AnyModule(nn::BatchNorm2d(channels));
    return nn::AnyModule(nn::BatchNorm3d(channels));
  }
  return {};
}

torch::Tensor
MaxPool2x(const torch::Tensor & x, int64_t dims)
{
  return dims == 2 ? torch::max_pool2d(x, { 2, 2 }) : torch::max_pool3d(x, { 2, 2, 2 });
}

/** conv -> norm -> ReLU, `count` times; with `residual` the input (projected by a 1x1 conv when
 * the channel count changes) is added before the last ReLU. */
class ConvBlockImpl : public nn::Module
{
public:
  ConvBlockImpl(int64_t dims, int64_t in, int64_t out, int64_t count, const std::string & norm, bool residual)
    : m_Residual(residual)
  {
    const bool bias = norm == "none";
    for (int64_t i = 0; i < count; ++i)
    {
      m_Convs.push_back(Conv(dims, i == 0 ? in : out, out, 3, 1, bias));
      register_module("conv" + std::to_string(i), m_Convs.back().ptr());
      m_Norms.push_back(Norm(dims, norm, out));
      if (!m_Norms.back().is_empty())
      {
        register_module("norm" + std::to_string(i), m_Norms.back().ptr());
      }
    }
    if (residual && in != out)
    {
      m_Projection = Conv(dims, in, out, 1, 0, false);
      register_module("projection", m_Projection.ptr());
    }
  }

  torch::Tensor
  forward(torch::Tensor x)
  {
    const torch::Tensor input = x;
    for (size_t i = 0; i < m_Convs.size(); ++i)
    {
      x = m_Convs[i].forward(x);
      if (!m_Norms[i].is_empty())
      {
        x = m_Norms[i].forward(x);
      }
      if (i + 1 < m_Convs.size() || !m_Residual)
      {
        x = torch::relu(x);
      }
    }
    if (m_Residual)
    {
      x = torch::relu(x + (m_Projection.is_empty() ? input : m_Projection.forward(input)));
    }
    return x;
  }

private:
  std::vector<nn::AnyModule> m_Convs;
  std::vector<nn::AnyModule> m_Norms;
  nn::AnyModule              m_Projection;
  bool                       m_Residual;
};
TORCH_MODULE(ConvBlock);

// --- U-Net -----------------------------------------------------------------------------------

class UNetImpl : public NetworkImpl
{
public:
  explicit UNetImpl(const UNetOptions & o)
    : NetworkImpl(o.spatialDims, o.outChannels)
    , m_Options(o)
  {
    const int64_t dims = o.spatialDims;
    const auto &  f = o.features;
    for (size_t i = 0; i < f.size(); ++i)
    {
      m_Encoders.push_back(ConvBlock(dims, i == 0 ? o.inChannels : f[i - 1], f[i], 2, o.norm, o.residual));
      register_module("encoder" + std::to_string(i), m_Encoders.back());
    }
    for (size_t i = 0; i + 1 < f.size(); ++i)
    {
      const int64_t in = f[i + 1];
      const int64_t out = f[i];
      if (o.upsampling == "transpose")
      {
        m_Ups.push_back(ConvTranspose(dims, in, out, 2, 2, 0));
      }
      else if (o.upsampling == "pixelshuffle")
      {
        m_Ups.push_back(Conv(dims, in, out * (int64_t{ 1 } << dims), 1, 0));
      }
      else
      {
        m_Ups.push_back(Conv(dims, in, out, 3, 1));
      }
      register_module("up" + std::to_string(i), m_Ups.back().ptr());
      m_Decoders.push_back(ConvBlock(dims, 2 * out, out, 2, o.norm, o.residual));
      register_module("decoder" + std::to_string(i), m_Decoders.back());
    }
    m_Head = Conv(dims, f.front(), o.outChannels, 1, 0);
    register_module("head", m_Head.ptr());
  }

  torch::Tensor
  forward(torch::Tensor x) override
  {
    const int64_t              dims = m_Options.spatialDims;
    std::vector<torch::Tensor> skips;
    for (size_t i = 0; i < m_Encoders.size(); ++i)
    {
      if (i > 0)
      {
        x = MaxPool2x(x, dims);
      }
      x = m_Encoders[i]->forward(x);
      skips.push_back(x);
    }
    for (size_t i = m_Decoders.size(); i-- > 0;)
    {
      x = Up(i, x);
      x = m_Decoders[i]->forward(torch::cat({ skips[i], x }, 1));
    }
    return m_Head.forward(x);
  }

  int64_t
  SizeMultiple() const override
  {
    return int64_t{ 1 } << (m_Options.features.size() - 1);
  }

private:
  torch::Tensor
  Up(size_t level, const torch::Tensor & x)
  {
    const int64_t dims = m_Options.spatialDims;
    if (m_Options.upsampling == "transpose")
    {
      return m_Ups[level].forward(x);
    }
    if (m_Options.upsampling == "pixelshuffle")
    {
      return PixelShuffle2x(m_Ups[level].forward(x), dims);
    }
    namespace F = torch::nn::functional;
    auto options = F::InterpolateFuncOptions().scale_factor(std::vector<double>(dims, 2.0)).align_corners(false);
    if (dims == 2)
    {
      options.mode(torch::kBilinear);
    }
    else
    {
      options.mode(torch::kTrilinear);
    }
    return m_Ups[level].forward(F::interpolate(x, options));
  }

  UNetOptions                m_Options;
  std::vector<ConvBlock>     m_Encoders;
  std::vector<nn::AnyModule> m_Ups;
  std::vector<ConvBlock>     m_Decoders;
  nn::AnyModule              m_Head;
};

// --- FCN-8s style ----------------------------------------------------------------------------

class FCNImpl : public NetworkImpl
{
public:
  explicit FCNImpl(const FCNOptions & o)
    : NetworkImpl(o.spatialDims, o.outChannels)
    , m_Options(o)
  {
    const int64_t dims = o.spatialDims;
    const auto &  f = o.features;
    const size_t  S = f.size();
    for (size_t i = 0; i < S; ++i)
    {
      m_Stages.push_back(ConvBlock(dims, i == 0 ? o.inChannels : f[i - 1], f[i], o.convsPerStage, o.norm, false));
      register_module("stage" + std::to_string(i), m_Stages.back());
    }
    m_Fc6 = Conv(dims, f[S - 1], o.fcFeatures, 3, 1);
    register_module("fc6", m_Fc6.ptr());
    m_Fc7 = Conv(dims, o.fcFeatures, o.fcFeatures, 1, 0);
    register_module("fc7", m_Fc7.ptr());
    m_ScoreFinal = Conv(dims, o.fcFeatures, o.outChannels, 1, 0);
    register_module("score_final", m_ScoreFinal.ptr());
    m_ScorePoolA = Conv(dims, f[S - 2], o.outChannels, 1, 0); // FCN-8s "score_pool4"
    register_module("score_pool_a", m_ScorePoolA.ptr());
    m_ScorePoolB = Conv(dims, f[S - 3], o.outChannels, 1, 0); // FCN-8s "score_pool3"
    register_module("score_pool_b", m_ScorePoolB.ptr());
    m_Up2a = ConvTranspose(dims, o.outChannels, o.outChannels, 4, 2, 1);
    register_module("upscore2", m_Up2a.ptr());
    m_Up2b = ConvTranspose(dims, o.outChannels, o.outChannels, 4, 2, 1);
    register_module("upscore_pool_a", m_Up2b.ptr());
    const int64_t factor = int64_t{ 1 } << (S - 2);
    m_UpFinal = ConvTranspose(dims, o.outChannels, o.outChannels, 2 * factor, factor, factor / 2);
    register_module("upscore_final", m_UpFinal.ptr());
  }

  torch::Tensor
  forward(torch::Tensor x) override
  {
    const int64_t              dims = m_Options.spatialDims;
    std::vector<torch::Tensor> pools;
    for (auto & stage : m_Stages)
    {
      x = MaxPool2x(stage->forward(x), dims);
      pools.push_back(x);
    }
    const size_t S = pools.size();
    x = torch::relu(m_Fc6.forward(x));
    x = torch::relu(m_Fc7.forward(x));
    x = m_ScoreFinal.forward(x);
    x = m_Up2a.forward(x) + m_ScorePoolA.forward(pools[S - 2]);
    x = m_Up2b.forward(x) + m_ScorePoolB.forward(pools[S - 3]);
    return m_UpFinal.forward(x);
  }

  int64_t
  SizeMultiple() const override
  {
    return int64_t{ 1 } << m_Options.features.size();
  }

private:
  FCNOptions             m_Options;
  std::vector<ConvBlock> m_Stages;
  nn::AnyModule          m_Fc6, m_Fc7, m_ScoreFinal, m_ScorePoolA, m_ScorePoolB, m_Up2a, m_Up2b, m_UpFinal;
};

// --- Weights ---------------------------------------------------------------------------------

void
LoadInto(nn::Module & module, torch::serialize::InputArchive & archive, const std::string & prefix,
         const std::string & path)
{
  std::set<std::string> expected;
  const auto            fail = [&](const std::string & what) {
    throw std::invalid_argument(path + ": " + what +
                                " (were the weights saved from a network with the same hyper-parameters?)");
  };
  torch::NoGradGuard noGrad;
  const auto         readInto = [&](const std::string & name, torch::Tensor & target, bool isBuffer) {
    expected.insert(name);
    torch::Tensor value;
    if (!archive.try_read(name, value, isBuffer))
    {
      fail("has no " + std::string(isBuffer ? "buffer" : "parameter") + " '" + prefix + name + "'");
    }
    if (value.sizes() != target.sizes())
    {
      fail("'" + prefix + name + "' has shape " + Shape(value) + ", the network expects " + Shape(target));
    }
    target.copy_(value);
  };
  for (auto & p : module.named_parameters(/*recurse=*/false))
  {
    readInto(p.key(), p.value(), false);
  }
  for (auto & b : module.named_buffers(/*recurse=*/false))
  {
    readInto(b.key(), b.value(), true);
  }
  for (auto & child : module.named_children())
  {
    expected.insert(child.key());
    torch::serialize::InputArchive childArchive;
    if (!archive.try_read(child.key(), childArchive))
    {
      fail("has no entry for layer '" + prefix + child.key() + "'");
    }
    LoadInto(*child.value(), childArchive, prefix + child.key() + ".", path);
  }
  for (const std::string & key : archive.keys())
  {
    if (expected.count(key) == 0)
    {
      fail("has an entry '" + prefix + key + "' the network does not have");
    }
  }
}

} // namespace

// --- Options from JSON -----------------------------------------------------------------------

UNetOptions
UNetOptions::FromJson(const std::string & text, int64_t inputChannels)
{
  UNetOptions o;
  o.inChannels = inputChannels;
  ReadHyperParameters(ParseHyperParameters(text, "unet"), "unet",
                      { "spatial_dims", "in_channels", "out_channels", "features", "base_features", "depth", "norm",
                        "residual", "upsampling" },
                      [&](const JsonFields & f) {
                        f.Integer("spatial_dims", o.spatialDims, 2, 3);
                        f.Integer("in_channels", o.inChannels, 1, 4096);
                        f.Integer("out_channels", o.outChannels, 1, 4096);
                        f.String("norm", o.norm, { "instance", "batch" });
                        f.Boolean("residual", o.residual);
                        f.String("upsampling", o.upsampling, { "transpose", "upsample", "pixelshuffle" });
                        if (f.Has("features") && (f.Has("base_features") || f.Has("depth")))
                          f.Fail("features", "conflicts: give either 'features' or 'base_features' and 'depth', not both");
                        f.Integers("features", o.features, 1, 8, 1, 4096);
                        if (f.Has("base_features") || f.Has("depth"))
                        {
                          int64_t base = 16;
                          int64_t depth = 4;
                          f.Integer("base_features", base, 1, 4096);
                          f.Integer("depth", depth, 1, 8);
                          o.features.clear();
                          for (int64_t i = 0; i < depth; ++i)
                            o.features.push_back(base << i);
                        }
                      });
  Require(o.inChannels == inputChannels, "unet: in_channels is " + std::to_string(o.inChannels) +
                                           " but the model is asked for " + std::to_string(inputChannels) +
                                           " input channels");
  for (const int64_t f : o.features)
  {
    Require(f >= 1 && f <= 4096, "unet: every entry of features must be in 1..4096");
  }
  return o;
}

std::string
UNetOptions::ToJson() const
{
  return json{ { "spatial_dims", spatialDims }, { "in_channels", inChannels }, { "out_channels", outChannels },
               { "features", features },        { "norm", norm },               { "residual", residual },
               { "upsampling", upsampling } }
    .dump();
}

FCNOptions
FCNOptions::FromJson(const std::string & text, int64_t inputChannels)
{
  FCNOptions o;
  o.inChannels = inputChannels;
  ReadHyperParameters(ParseHyperParameters(text, "fcn"), "fcn",
                      { "spatial_dims", "in_channels", "out_channels", "features", "convs_per_stage", "fc_features",
                        "norm" },
                      [&](const JsonFields & f) {
                        f.Integer("spatial_dims", o.spatialDims, 2, 3);
                        f.Integer("in_channels", o.inChannels, 1, 4096);
                        f.Integer("out_channels", o.outChannels, 1, 4096);
                        f.Integers("features", o.features, 3, 7, 1, 4096);
                        f.Integer("convs_per_stage", o.convsPerStage, 1, 4);
                        f.Integer("fc_features", o.fcFeatures, 1, 8192);
                        f.String("norm", o.norm, { "batch", "instance", "none" });
                      });
  Require(o.inChannels == inputChannels, "fcn: in_channels is " + std::to_string(o.inChannels) +
                                           " but the model is asked for " + std::to_string(inputChannels) +
                                           " input channels");
  return o;
}

std::string
FCNOptions::ToJson() const
{
  return json{ { "spatial_dims", spatialDims }, { "in_channels", inChannels },         { "out_channels", outChannels },
               { "features", features },        { "convs_per_stage", convsPerStage }, { "fc_features", fcFeatures },
               { "norm", norm } }
    .dump();
}

// --- Public functions ------------------------------------------------------------------------

std::shared_ptr<NetworkImpl>
MakeUNet(const UNetOptions & options)
{
  return std::make_shared<UNetImpl>(options);
}

std::shared_ptr<NetworkImpl>
MakeFCN(const FCNOptions & options)
{
  return std::make_shared<FCNImpl>(options);
}

torch::Tensor
PixelShuffle2x(const torch::Tensor & x, int64_t spatialDims)
{
  const auto    s = x.sizes();
  const int64_t groups = int64_t{ 1 } << spatialDims;
  const int64_t c = s[1] / groups;
  if (spatialDims == 2)
  {
    return x.reshape({ s[0], c, 2, 2, s[2], s[3] }).permute({ 0, 1, 4, 2, 5, 3 }).reshape({ s[0], c, 2 * s[2], 2 * s[3] });
  }
  return x.reshape({ s[0], c, 2, 2, 2, s[2], s[3], s[4] })
    .permute({ 0, 1, 5, 2, 6, 3, 7, 4 })
    .reshape({ s[0], c, 2 * s[2], 2 * s[3], 2 * s[4] });
}

void
LoadWeights(torch::nn::Module & network, const std::string & path)
{
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
  {
    throw std::invalid_argument(path + ": no such weights file");
  }
  torch::serialize::InputArchive archive;
  try
  {
    archive.load_from(path, torch::Device(torch::kCPU));
  }
  catch (const c10::Error & e)
  {
    throw std::invalid_argument(path + ": cannot be read as LibTorch weights (torch::save of the network): " +
                                e.what_without_backtrace());
  }
  LoadInto(network, archive, "", path);
}

void
SaveWeights(torch::nn::Module & network, const std::string & path)
{
  torch::serialize::OutputArchive archive;
  network.save(archive);
  archive.save_to(path);
}

NativeSegmentationModel::NativeSegmentationModel(std::shared_ptr<NetworkImpl> network, c10::Device device,
                                                 int64_t inputChannels, std::string description)
  : m_Network(std::move(network))
  , m_Device(device)
  , m_InputChannels(inputChannels)
  , m_Description(std::move(description))
{
  m_Network->eval();
  m_Network->to(m_Device);
}

at::Tensor
NativeSegmentationModel::Forward(const at::Tensor & batch)
{
  c10::InferenceMode guard;
  const int64_t      dims = m_Network->SpatialDims();
  if (batch.dim() != dims + 2 || batch.size(1) != m_InputChannels)
  {
    std::ostringstream os;
    os << "expects a batch [N, " << m_InputChannels << (dims == 3 ? ", D, H, W]" : ", H, W]") << ", got "
       << batch.sizes();
    throw std::invalid_argument(m_Description + ": " + os.str());
  }
  torch::Tensor x = batch.to(m_Device, torch::kFloat);
  // Pad every spatial size up to the network's multiple (zeros after the data), crop after.
  const int64_t        multiple = m_Network->SizeMultiple();
  std::vector<int64_t> pad; // last dimension first, as torch::constant_pad_nd wants
  bool                 padded = false;
  for (int64_t d = x.dim() - 1; d >= 2; --d)
  {
    const int64_t extra = (multiple - x.size(d) % multiple) % multiple;
    pad.push_back(0);
    pad.push_back(extra);
    padded = padded || extra > 0;
  }
  if (padded)
  {
    x = torch::constant_pad_nd(x, pad, 0.0);
  }
  torch::Tensor logits = m_Network->forward(x);
  if (padded)
  {
    for (int64_t d = 2; d < batch.dim(); ++d)
    {
      logits = logits.narrow(d, 0, batch.size(d));
    }
    logits = logits.contiguous();
  }
  return logits;
}

std::unique_ptr<SegmentationModel>
MakeNativeModel(std::shared_ptr<NetworkImpl> network, const std::string & weightsPath, const std::string & device,
                int64_t inputChannels, const std::string & summary)
{
  if (!weightsPath.empty())
  {
    LoadWeights(*network, weightsPath);
  }
  const c10::Device where = ResolveDevice(device);
  std::ostringstream description;
  description << summary << " on " << where << " ("
              << (weightsPath.empty() ? std::string("random weights") : "weights " + weightsPath) << ")";
  return std::make_unique<NativeSegmentationModel>(std::move(network), where, inputChannels, description.str());
}

} // namespace medseg::nets
