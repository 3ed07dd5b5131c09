#include "medsegNNUNetNetworks.h"

#include "medsegError.h"
#include "medsegInferenceOperators.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <map>
#include <sstream>

// The networks nnU-Net v2 builds with nnunetv2.utilities.get_network_from_plans, as
// dynamic_network_architectures.architectures.unet.PlainConvUNet / ResidualEncoderUNet define
// them, written with ATen's functional operators. The weights live in one table under
// upstream's state_dict keys; the layers index that table.

namespace medseg
{

namespace
{

/** A convolution (or transposed convolution) whose weights are entries of the table. */
struct ConvLayer
{
  int                  weight{ -1 };
  int                  bias{ -1 };
  std::vector<int64_t> stride;
  std::vector<int64_t> padding;
};

/** A norm layer's entries (-1 where it has none). */
struct NormLayer
{
  int weight{ -1 };
  int bias{ -1 };
  int runningMean{ -1 };
  int runningVar{ -1 };
  int count{ -1 };
};

/** dynamic_network_architectures.building_blocks.simple_conv_blocks.ConvDropoutNormReLU */
struct ConvBlock
{
  ConvLayer conv;
  NormLayer norm;
  bool      nonlin{ false };
};

/** dynamic_network_architectures.building_blocks.residual.BasicBlockD */
struct ResidualBlock
{
  ConvBlock            conv1;
  ConvBlock            conv2;
  std::vector<int64_t> pool; //!< AvgPool kernel = stride on the skip path; empty: none
  bool                 project{ false };
  ConvBlock            projection; //!< 1x1 conv (no bias) + norm on the skip path
};

struct EncoderStage
{
  std::vector<ConvBlock>     convs;  //!< PlainConvEncoder: StackedConvBlocks
  std::vector<ResidualBlock> blocks; //!< ResidualEncoder: StackedResidualBlocks
};

/** One stage of dynamic_network_architectures.building_blocks.unet_decoder.UNetDecoder. */
struct DecoderStage
{
  ConvLayer              transposed;
  std::vector<ConvBlock> convs;
  ConvLayer              seg;
};

enum class Init
{
  Conv,
  Zero,
  One,
  Count
};

} // namespace

struct NNUNetNetwork::Impl
{
  NNUNetArchitecture                arch;
  std::vector<at::Tensor>           tensors; //!< each weight once
  std::vector<NNUNetStateDictEntry> layout;  //!< upstream's keys, duplicates included
  std::vector<int>                  entryTensor;
  std::map<std::string, size_t>     entryOfKey;
  bool                              hasStem{ false };
  ConvBlock                         stem;
  std::vector<EncoderStage>         encoder;
  std::vector<DecoderStage>         decoder;
  c10::Device                       device{ c10::kCPU };

  int
  Add(const std::string & key, std::vector<int64_t> shape, Init init)
  {
    at::Tensor t;
    if (init == Init::Conv)
    {
      // He initialisation (fan_in), as InitWeights_He; weights are meant to be loaded.
      int64_t fanIn = 1;
      for (size_t i = 1; i < shape.size(); ++i)
        fanIn *= shape[i];
      t = at::randn(shape) * std::sqrt(2.0 / static_cast<double>(fanIn));
    }
    else if (init == Init::Count)
      t = at::zeros(shape, at::kLong);
    else
      t = init == Init::One ? at::ones(shape) : at::zeros(shape);
    tensors.push_back(t);
    Alias(key, static_cast<int>(tensors.size()) - 1, "");
    return static_cast<int>(tensors.size()) - 1;
  }
  void
  Alias(const std::string & key, int tensor, const std::string & twin)
  {
    entryOfKey[key] = layout.size();
    layout.push_back({ key, tensors[tensor].sizes().vec(), twin });
    entryTensor.push_back(tensor);
  }

  std::vector<int64_t>
  Axes(int64_t value) const
  {
    return std::vector<int64_t>(static_cast<size_t>(arch.spatialDimension), value);
  }

  /** ConvDropoutNormReLU under `prefix`: conv, norm, then the same under all_modules.<index>. */
  ConvBlock
  AddConvBlock(const std::string & prefix, int64_t in, int64_t out, const std::vector<int64_t> & kernel,
               const std::vector<int64_t> & stride, bool bias, bool dropout, bool nonlin)
  {
    ConvBlock b;
    b.nonlin = nonlin && arch.nonlinearity != NNUNetNonlinearity::None;
    std::vector<int64_t> shape{ out, in };
    shape.insert(shape.end(), kernel.begin(), kernel.end());
    b.conv.weight = Add(prefix + ".conv.weight", shape, Init::Conv);
    if (bias)
      b.conv.bias = Add(prefix + ".conv.bias", { out }, Init::Zero);
    b.conv.stride = stride;
    for (int64_t k : kernel)
      b.conv.padding.push_back((k - 1) / 2);
    if (arch.norm != NNUNetNorm::None)
    {
      if (arch.normAffine)
      {
        b.norm.weight = Add(prefix + ".norm.weight", { out }, Init::One);
        b.norm.bias = Add(prefix + ".norm.bias", { out }, Init::Zero);
      }
      if (arch.normTrackRunningStats)
      {
        b.norm.runningMean = Add(prefix + ".norm.running_mean", { out }, Init::Zero);
        b.norm.runningVar = Add(prefix + ".norm.running_var", { out }, Init::One);
        b.norm.count = Add(prefix + ".norm.num_batches_tracked", {}, Init::Count);
      }
    }
    // all_modules = Sequential(conv, [dropout], norm, nonlin), norm and nonlin swapped if nonlin_first.
    const std::string modules = prefix + ".all_modules.";
    Alias(modules + "0.weight", b.conv.weight, prefix + ".conv.weight");
    if (bias)
      Alias(modules + "0.bias", b.conv.bias, prefix + ".conv.bias");
    const int         normIndex = 1 + (dropout ? 1 : 0) + (arch.nonlinFirst && b.nonlin ? 1 : 0);
    const std::string norm = modules + std::to_string(normIndex) + ".";
    const std::pair<int, const char *> normEntries[] = { { b.norm.weight, "weight" },
                                                         { b.norm.bias, "bias" },
                                                         { b.norm.runningMean, "running_mean" },
                                                         { b.norm.runningVar, "running_var" },
                                                         { b.norm.count, "num_batches_tracked" } };
    for (const auto & [tensor, name] : normEntries)
      if (tensor >= 0)
        Alias(norm + name, tensor, prefix + ".norm." + name);
    return b;
  }

  ResidualBlock
  AddResidualBlock(const std::string & prefix, int64_t in, int64_t out, const std::vector<int64_t> & kernel,
                   const std::vector<int64_t> & stride)
  {
    ResidualBlock r;
    r.conv1 = AddConvBlock(prefix + ".conv1", in, out, kernel, stride, arch.convBias, arch.dropout, true);
    r.conv2 = AddConvBlock(prefix + ".conv2", out, out, kernel, Axes(1), arch.convBias, false, false);
    const bool hasStride = stride != Axes(1);
    r.project = in != out;
    if (hasStride)
      r.pool = stride;
    if (r.project)
      r.projection =
        AddConvBlock(prefix + ".skip." + (hasStride ? "1" : "0"), in, out, Axes(1), Axes(1), false, false, false);
    return r;
  }

  void
  Build()
  {
    const NNUNetArchitecture & a = arch;
    const size_t               n = static_cast<size_t>(a.numberOfStages);
    int64_t                    channels = a.inputChannels;
    encoder.resize(n);
    if (a.networkClass == NNUNetNetworkClass::PlainConvUNet)
    {
      for (size_t s = 0; s < n; ++s) // PlainConvEncoder: stages.<s> = Sequential(StackedConvBlocks)
        for (int64_t i = 0; i < a.convsPerStage[s]; ++i)
        {
          encoder[s].convs.push_back(AddConvBlock("encoder.stages." + std::to_string(s) + ".0.convs." +
                                                    std::to_string(i),
                                                  i == 0 ? channels : a.featuresPerStage[s], a.featuresPerStage[s],
                                                  a.kernelSizes[s], i == 0 ? a.strides[s] : Axes(1), a.convBias,
                                                  a.dropout, true));
          channels = a.featuresPerStage[s];
        }
    }
    else
    {
      // ResidualEncoder: a stride-1 stem (one ConvDropoutNormReLU), then StackedResidualBlocks.
      hasStem = true;
      const int64_t stemChannels = a.stemChannels > 0 ? a.stemChannels : a.featuresPerStage[0];
      stem = AddConvBlock("encoder.stem.convs.0", channels, stemChannels, a.kernelSizes[0], Axes(1), a.convBias,
                          a.dropout, true);
      channels = stemChannels;
      for (size_t s = 0; s < n; ++s)
        for (int64_t b = 0; b < a.convsPerStage[s]; ++b)
        {
          encoder[s].blocks.push_back(AddResidualBlock("encoder.stages." + std::to_string(s) + ".blocks." +
                                                         std::to_string(b),
                                                       b == 0 ? channels : a.featuresPerStage[s],
                                                       a.featuresPerStage[s], a.kernelSizes[s],
                                                       b == 0 ? a.strides[s] : Axes(1)));
          channels = a.featuresPerStage[s];
        }
    }
    // UNetDecoder keeps a reference to the encoder: its state_dict repeats it under decoder.encoder.
    const size_t encoderEntries = layout.size();
    for (size_t e = 0; e < encoderEntries; ++e)
    {
      const NNUNetStateDictEntry entry = layout[e];
      Alias("decoder." + entry.key, entryTensor[e], entry.twin.empty() ? entry.key : entry.twin);
    }
    decoder.resize(n - 1);
    for (size_t s = 1; s < n; ++s) // from the bottleneck up, as UNetDecoder.__init__
    {
      DecoderStage & d = decoder[s - 1];
      const int64_t  skip = a.featuresPerStage[n - s - 1];
      for (int64_t i = 0; i < a.convsPerStageDecoder[s - 1]; ++i)
        d.convs.push_back(AddConvBlock("decoder.stages." + std::to_string(s - 1) + ".convs." + std::to_string(i),
                                       i == 0 ? 2 * skip : skip, skip, a.kernelSizes[n - s - 1], Axes(1), a.convBias,
                                       a.dropout, true));
    }
    for (size_t s = 1; s < n; ++s) // ConvTranspose with kernel = stride, bias = conv_bias
    {
      DecoderStage & d = decoder[s - 1];
      const int64_t  below = a.featuresPerStage[n - s], skip = a.featuresPerStage[n - s - 1];
      std::vector<int64_t> shape{ below, skip };
      shape.insert(shape.end(), a.strides[n - s].begin(), a.strides[n - s].end());
      const std::string key = "decoder.transpconvs." + std::to_string(s - 1);
      d.transposed.weight = Add(key + ".weight", shape, Init::Conv);
      if (a.convBias)
        d.transposed.bias = Add(key + ".bias", { skip }, Init::Zero);
      d.transposed.stride = a.strides[n - s];
      d.transposed.padding = Axes(0);
    }
    for (size_t s = 1; s < n; ++s) // 1x1 segmentation heads, always with bias
    {
      DecoderStage &       d = decoder[s - 1];
      const int64_t        skip = a.featuresPerStage[n - s - 1];
      std::vector<int64_t> shape{ a.outputChannels, skip };
      shape.resize(2 + a.spatialDimension, 1);
      const std::string key = "decoder.seg_layers." + std::to_string(s - 1);
      d.seg.weight = Add(key + ".weight", shape, Init::Conv);
      d.seg.bias = Add(key + ".bias", { a.outputChannels }, Init::Zero);
      d.seg.stride = Axes(1);
      d.seg.padding = Axes(0);
    }
  }

  // --- forward -------------------------------------------------------------------------------

  at::Tensor
  T(int index) const
  {
    return index >= 0 ? tensors[index] : at::Tensor();
  }

  at::Tensor
  Conv(const ConvLayer & c, const at::Tensor & x, bool transposed) const
  {
    if (transposed)
      return arch.spatialDimension == 3 ? at::conv_transpose3d(x, T(c.weight), T(c.bias), c.stride)
                                        : at::conv_transpose2d(x, T(c.weight), T(c.bias), c.stride);
    return arch.spatialDimension == 3 ? at::conv3d(x, T(c.weight), T(c.bias), c.stride, c.padding)
                                      : at::conv2d(x, T(c.weight), T(c.bias), c.stride, c.padding);
  }

  at::Tensor
  Norm(const NormLayer & n, const at::Tensor & x) const
  {
    const bool tracked = n.runningMean >= 0;
    if (arch.norm == NNUNetNorm::InstanceNorm) // eval: input statistics unless tracking running ones
      return at::instance_norm(x, T(n.weight), T(n.bias), T(n.runningMean), T(n.runningVar), !tracked, 0.1,
                               arch.normEps, true);
    return at::batch_norm(x, T(n.weight), T(n.bias), T(n.runningMean), T(n.runningVar), !tracked, 0.1, arch.normEps,
                          true);
  }

  void
  Nonlin(at::Tensor & x) const
  {
    if (arch.nonlinearity == NNUNetNonlinearity::LeakyReLU)
      at::leaky_relu_(x, arch.negativeSlope);
    else if (arch.nonlinearity == NNUNetNonlinearity::ReLU)
      at::relu_(x);
  }

  at::Tensor
  Block(const ConvBlock & b, const at::Tensor & x) const
  {
    at::Tensor y = Conv(b.conv, x, false);
    const bool norm = arch.norm != NNUNetNorm::None;
    const bool activation = arch.nonlinearity == NNUNetNonlinearity::LeakyReLU ||
                            arch.nonlinearity == NNUNetNonlinearity::ReLU;
    if (arch.norm == NNUNetNorm::InstanceNorm && b.norm.runningMean < 0 && b.nonlin && !arch.nonlinFirst && activation)
    {
      // nnU-Net's usual conv -> instance norm -> leaky ReLU, in one pass (Documentation/benchmarks.md).
      const double slope = arch.nonlinearity == NNUNetNonlinearity::LeakyReLU ? arch.negativeSlope : 0.0;
      return InstanceNormLeakyReLU(y, T(b.norm.weight), T(b.norm.bias), arch.normEps, slope);
    }
    if (b.nonlin && arch.nonlinFirst)
      Nonlin(y);
    if (norm)
      y = Norm(b.norm, y);
    if (b.nonlin && !arch.nonlinFirst)
      Nonlin(y);
    return y;
  }

  at::Tensor
  Residual(const ResidualBlock & r, const at::Tensor & x) const
  {
    at::Tensor skip = x;
    if (!r.pool.empty())
      skip = arch.spatialDimension == 3 ? at::avg_pool3d(skip, r.pool, r.pool) : at::avg_pool2d(skip, r.pool, r.pool);
    if (r.project)
      skip = Block(r.projection, skip);
    at::Tensor out = Block(r.conv2, Block(r.conv1, x));
    out.add_(skip);
    Nonlin(out);
    return out;
  }

  at::Tensor
  Forward(const at::Tensor & input) const
  {
    std::vector<at::Tensor> skips;
    at::Tensor              x = hasStem ? Block(stem, input) : input;
    for (const EncoderStage & stage : encoder)
    {
      for (const ConvBlock & b : stage.convs)
        x = Block(b, x);
      for (const ResidualBlock & r : stage.blocks)
        x = Residual(r, x);
      skips.push_back(x);
    }
    at::Tensor lowRes = skips.back();
    skips.back() = at::Tensor();
    for (size_t s = 0; s < decoder.size(); ++s)
    {
      at::Tensor & skip = skips[skips.size() - 2 - s];
      x = at::cat({ Conv(decoder[s].transposed, lowRes, true), skip }, 1); // (upsampled, skip)
      skip = at::Tensor();
      lowRes = at::Tensor();
      for (const ConvBlock & b : decoder[s].convs)
        x = Block(b, x);
      lowRes = x;
    }
    return Conv(decoder.back().seg, lowRes, false); // deep_supervision False: seg_layers[-1] only
  }
};

namespace
{

std::string
ShapeText(at::IntArrayRef shape)
{
  std::ostringstream text;
  text << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    text << (i ? ", " : "") << shape[i];
  text << ']';
  return text.str();
}

} // namespace

NNUNetNetwork::NNUNetNetwork(const NNUNetArchitecture & architecture)
  : m_Impl(std::make_unique<Impl>())
{
  const NNUNetArchitecture & a = architecture;
  const size_t               n = static_cast<size_t>(a.numberOfStages);
  const auto                 ok = [&](const auto & list, size_t count) { return list.size() == count; };
  if (a.numberOfStages < 2 || (a.spatialDimension != 2 && a.spatialDimension != 3) || a.inputChannels < 1 ||
      a.outputChannels < 1 || !ok(a.featuresPerStage, n) || !ok(a.kernelSizes, n) || !ok(a.strides, n) ||
      !ok(a.convsPerStage, n) || !ok(a.convsPerStageDecoder, n - 1))
    throw InputError(a.subject, "inconsistent nnU-Net architecture (stage lists do not match n_stages)");
  for (size_t s = 0; s < n; ++s)
    if (!ok(a.kernelSizes[s], static_cast<size_t>(a.spatialDimension)) ||
        !ok(a.strides[s], static_cast<size_t>(a.spatialDimension)))
      throw InputError(a.subject, "inconsistent nnU-Net architecture (kernel or stride of the wrong dimension)");
  m_Impl->arch = architecture;
  c10::NoGradGuard noGrad;
  m_Impl->Build();
}

NNUNetNetwork::~NNUNetNetwork() = default;

at::Tensor
NNUNetNetwork::Forward(const at::Tensor & x) const
{
  const NNUNetArchitecture & a = m_Impl->arch;
  if (!x.defined() || x.dim() != a.spatialDimension + 2 || x.size(1) != a.inputChannels)
    throw InputError(a.subject, "the network takes [N, " + std::to_string(a.inputChannels) + ", " +
                                  (a.spatialDimension == 3 ? "Z, Y, X" : "Y, X") + "] input, not " +
                                  (x.defined() ? ShapeText(x.sizes()) : std::string("nothing")));
  const std::vector<int64_t> divisor = GetSizeDivisor();
  for (int axis = 0; axis < a.spatialDimension; ++axis)
    if (x.size(2 + axis) % divisor[axis] != 0)
      throw InputError(a.subject, "input size " + ShapeText(x.sizes()) + " is not a multiple of the network's " +
                                    ShapeText(divisor) + " on every spatial axis");
  if (x.device() != m_Impl->device)
    throw InputError(a.subject, "input on " + x.device().str() + ", the network is on " + m_Impl->device.str());
  c10::NoGradGuard noGrad;
  return m_Impl->Forward(x);
}

int
NNUNetNetwork::GetSpatialDimension() const
{
  return m_Impl->arch.spatialDimension;
}

int64_t
NNUNetNetwork::GetNumberOfInputChannels() const
{
  return m_Impl->arch.inputChannels;
}

int64_t
NNUNetNetwork::GetNumberOfOutputs() const
{
  return m_Impl->arch.outputChannels;
}

std::vector<int64_t>
NNUNetNetwork::GetSizeDivisor() const
{
  std::vector<int64_t> divisor(static_cast<size_t>(m_Impl->arch.spatialDimension), 1);
  for (const auto & stride : m_Impl->arch.strides)
    for (size_t axis = 0; axis < divisor.size(); ++axis)
      divisor[axis] *= stride[axis];
  return divisor;
}

const NNUNetArchitecture &
NNUNetNetwork::GetArchitecture() const
{
  return m_Impl->arch;
}

void
NNUNetNetwork::To(c10::Device device)
{
  c10::NoGradGuard noGrad;
  for (at::Tensor & t : m_Impl->tensors)
    t = t.to(device);
  m_Impl->device = device;
}

c10::Device
NNUNetNetwork::GetDevice() const
{
  return m_Impl->device;
}

std::vector<NNUNetStateDictEntry>
NNUNetNetwork::GetStateDictLayout() const
{
  return m_Impl->layout;
}

std::vector<std::pair<std::string, at::Tensor>>
NNUNetNetwork::GetStateDict() const
{
  std::vector<std::pair<std::string, at::Tensor>> result;
  for (size_t e = 0; e < m_Impl->layout.size(); ++e)
    result.emplace_back(m_Impl->layout[e].key, m_Impl->tensors[m_Impl->entryTensor[e]]);
  return result;
}

std::shared_ptr<NNUNetNetwork>
BuildNNUNetNetwork(const NNUNetArchitecture & architecture)
{
  return std::make_shared<NNUNetNetwork>(architecture);
}

void
LoadNNUNetWeights(NNUNetNetwork & network, const std::vector<std::pair<std::string, at::Tensor>> & stateDict,
                  const std::string & subject)
{
  NNUNetNetwork::Impl &                   impl = *network.m_Impl;
  std::map<std::string, const at::Tensor *> given;
  for (const auto & [key, tensor] : stateDict)
  {
    if (impl.entryOfKey.count(key) == 0)
      throw InputError(subject, "unexpected key '" + key + "' in the state dict (the " +
                                  impl.arch.networkClassName.substr(impl.arch.networkClassName.rfind('.') + 1) +
                                  " of the plans has no such parameter or buffer)");
    if (!given.emplace(key, &tensor).second)
      throw InputError(subject, "key '" + key + "' appears twice in the state dict");
  }
  // Check everything before changing anything (load_state_dict(strict=True) semantics).
  for (size_t e = 0; e < impl.layout.size(); ++e)
  {
    const NNUNetStateDictEntry & entry = impl.layout[e];
    const auto                   it = given.find(entry.key);
    if (it == given.end())
      throw InputError(subject, "missing key '" + entry.key + "' in the state dict");
    const at::Tensor & t = *it->second;
    if (!t.defined())
      throw InputError(subject, "'" + entry.key + "' holds no tensor");
    if (t.sizes() != at::IntArrayRef(entry.shape))
      throw InputError(subject, "'" + entry.key + "' has shape " + ShapeText(t.sizes()) + ", the network expects " +
                                  ShapeText(entry.shape));
    const bool integral = impl.tensors[impl.entryTensor[e]].scalar_type() == at::kLong;
    const bool convertible = integral ? (at::isIntegralType(t.scalar_type(), false) || t.is_floating_point())
                                      : t.is_floating_point();
    if (!convertible)
      throw InputError(subject, "'" + entry.key + "' has dtype " + std::string(c10::toString(t.scalar_type())) +
                                  ", the network expects " + (integral ? "an integer" : "a floating-point") +
                                  " tensor");
    if (!entry.twin.empty())
    {
      const at::Tensor & twin = *given.at(entry.twin);
      const bool same = t.is_same(twin) || (t.scalar_type() == twin.scalar_type() && t.device() == twin.device()
                                              ? t.equal(twin)
                                              : t.to(at::kCPU, at::kDouble).equal(twin.to(at::kCPU, at::kDouble)));
      if (!same)
        throw InputError(subject, "'" + entry.key + "' differs from '" + entry.twin +
                                    "', the module upstream registers under both names");
    }
  }
  c10::NoGradGuard noGrad;
  for (size_t e = 0; e < impl.layout.size(); ++e)
    if (impl.layout[e].twin.empty())
    {
      at::Tensor & target = impl.tensors[impl.entryTensor[e]];
      target.copy_(*given.at(impl.layout[e].key));
    }
}

} // namespace medseg
