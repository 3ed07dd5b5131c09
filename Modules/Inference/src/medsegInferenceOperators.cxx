#include "medsegInferenceOperators.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace medseg
{
namespace
{

/** Input voxels per channel from which the matrix product + shuffle beat LibTorch's transposed
 * convolution (measured with 2 threads on an AMD EPYC: 2x slower at 16^3 inputs, 1.3-1.8x faster
 * at 24^3 and 48^3). */
constexpr int64_t kFastTransposedVoxels = 8192;

bool
AllEqual(at::IntArrayRef values, int64_t expected)
{
  return std::all_of(values.begin(), values.end(), [expected](int64_t v) { return v == expected; });
}

bool
IsDenseFloatOnCpu(const at::Tensor & t)
{
  return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided && t.scalar_type() == at::kFloat;
}

// The hot loops are compiled for AVX-512 and AVX2 too, chosen when the library loads (GCC's
// function multi-versioning). The file is compiled with -ffp-contract=off (no fused multiply-add),
// but the vectorized sums run 16, 8 or 4 lanes wide: the statistics differ between CPUs in the
// last bits of a float, as oneDNN's convolutions do.
#define MEDSEG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

/** One output row of a pixel shuffle: row[w * factor + e] = sources[e][w]. */
MEDSEG_VECTOR_CLONES void
InterleaveRow(const float * const * sources, int64_t factor, int64_t width, float * row)
{
  if (factor == 2)
  {
    const float * s0 = sources[0];
    const float * s1 = sources[1];
#pragma omp simd
    for (int64_t w = 0; w < width; ++w)
    {
      row[2 * w] = s0[w];
      row[2 * w + 1] = s1[w];
    }
    return;
  }
  for (int64_t e = 0; e < factor; ++e)
  {
    const float * source = sources[e];
    for (int64_t w = 0; w < width; ++w)
    {
      row[w * factor + e] = source[w];
    }
  }
}

/** [N, C * f0 * f1 * f2, D, H, W] (contiguous) -> [N, C, f0 D, f1 H, f2 W]: output channel c's
 * offset (a, b, e) within its block is input channel ((c * f0 + a) * f1 + b) * f2 + e, the order
 * of a transposed convolution's kernel. Written row by row, each row from f2 contiguous source rows. */
at::Tensor
PixelShuffle(const at::Tensor & y, int64_t f0, int64_t f1, int64_t f2)
{
  const int64_t n = y.size(0);
  const int64_t c = y.size(1) / (f0 * f1 * f2);
  const int64_t d = y.size(2);
  const int64_t h = y.size(3);
  const int64_t w = y.size(4);
  at::Tensor    out = at::empty({ n, c, f0 * d, f1 * h, f2 * w }, y.options());
  const float * src = y.data_ptr<float>();
  float *       dst = out.data_ptr<float>();
  const int64_t outDepth = f0 * d;
  const int64_t outHeight = f1 * h;
  at::parallel_for(0, n * c * outDepth * outHeight, 64, [&](int64_t begin, int64_t end) {
    std::vector<const float *> sources(f2);
    for (int64_t r = begin; r < end; ++r)
    {
      const int64_t yy = r % outHeight;
      const int64_t z = (r / outHeight) % outDepth;
      const int64_t channel = (r / (outHeight * outDepth)) % c;
      const int64_t sample = r / (outHeight * outDepth * c);
      const int64_t first = ((channel * f0 + z % f0) * f1 + yy % f1) * f2;
      for (int64_t e = 0; e < f2; ++e)
      {
        sources[e] = src + (((sample * c * f0 * f1 * f2 + first + e) * d + z / f0) * h + yy / f1) * w;
      }
      InterleaveRow(sources.data(), f2, w, dst + r * f2 * w);
    }
  });
  return out;
}

/** Mean and biased variance of n floats, in one pass: shifted by an estimate of the mean (so
 * E[(x-k)^2] - E[x-k]^2 does not cancel), chunks summed in float (vectorized), chunks in double. */
MEDSEG_VECTOR_CLONES void
MeanAndVariance(const float * x, int64_t n, double & mean, double & variance)
{
  const int64_t head = std::min<int64_t>(n, 1024);
  double        shift = 0.0;
  for (int64_t i = 0; i < head; ++i)
  {
    shift += x[i];
  }
  const float k = static_cast<float>(shift / static_cast<double>(head));
  double      sum = 0.0;
  double      squares = 0.0;
  for (int64_t start = 0; start < n; start += 4096)
  {
    const int64_t end = std::min<int64_t>(n, start + 4096);
    float         s = 0.0f;
    float         q = 0.0f;
#pragma omp simd reduction(+ : s, q)
    for (int64_t i = start; i < end; ++i)
    {
      const float v = x[i] - k;
      s += v;
      q += v * v;
    }
    sum += s;
    squares += q;
  }
  const double m = sum / static_cast<double>(n);
  mean = k + m;
  variance = std::max(0.0, squares / static_cast<double>(n) - m * m);
}

/** y = leaky_relu((x - mean) * scale + shift, slope) over n floats. */
MEDSEG_VECTOR_CLONES void
NormalizeAndActivate(const float * x, int64_t n, float mean, float scale, float shift, float slope, float * y)
{
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
  {
    const float v = (x[i] - mean) * scale + shift;
    y[i] = v > 0.0f ? v : v * slope;
  }
}

// The operators as TorchScript sees them, for the rewritten graphs.
at::Tensor
TransposedConvolutionOperator(const at::Tensor & input, const at::Tensor & weight, const c10::optional<at::Tensor> & bias,
                              std::vector<int64_t> stride, std::vector<int64_t> padding,
                              std::vector<int64_t> outputPadding, int64_t groups, std::vector<int64_t> dilation)
{
  return TransposedConvolution(input, weight, bias, stride, padding, outputPadding, groups, dilation);
}

TORCH_LIBRARY(medseg, m)
{
  m.def("transposed_convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
        "int[] output_padding, int groups, int[] dilation) -> Tensor",
        &TransposedConvolutionOperator);
  m.def("instance_norm_leaky_relu(Tensor input, Tensor? weight, Tensor? bias, float eps, float slope) -> Tensor",
        &InstanceNormLeakyReLU);
}

std::optional<c10::IValue>
ConstantOf(torch::jit::Value * v)
{
  auto ivalue = torch::jit::toIValue(v);
  return ivalue ? std::optional<c10::IValue>(*ivalue) : std::nullopt;
}

bool
IsConstantBool(torch::jit::Value * v, bool expected)
{
  const auto c = ConstantOf(v);
  return c && c->isBool() && c->toBool() == expected;
}

bool
IsConstantNone(torch::jit::Value * v)
{
  const auto c = ConstantOf(v);
  return c && c->isNone();
}

/** The inputs of a transposed convolution node in transposed_convolution's order, or empty. */
std::vector<torch::jit::Value *>
TransposedConvolutionInputs(torch::jit::Node * node)
{
  const auto kind = node->kind().toQualString();
  const auto in = node->inputs();
  if ((std::string(kind) == "aten::conv_transpose3d" || std::string(kind) == "aten::conv_transpose2d") &&
      in.size() == 8)
  {
    return { in.begin(), in.end() };
  }
  // Traced modules: aten::_convolution / aten::convolution(input, weight, bias, stride, padding,
  // dilation, transposed, output_padding, groups, ...).
  if ((std::string(kind) == "aten::_convolution" || std::string(kind) == "aten::convolution") && in.size() >= 9 &&
      IsConstantBool(in[6], true))
  {
    return { in[0], in[1], in[2], in[3], in[4], in[7], in[8], in[5] };
  }
  return {};
}

/** The activation that is the only use of `norm`'s output, with its slope, or null. */
torch::jit::Node *
OnlyActivationOf(torch::jit::Node * norm, double & slope)
{
  const auto & uses = norm->output()->uses();
  if (uses.size() != 1 || uses[0].user->owningBlock() != norm->owningBlock())
  {
    return nullptr;
  }
  torch::jit::Node * user = uses[0].user;
  const std::string  kind = user->kind().toQualString();
  if ((kind == "aten::relu" || kind == "aten::relu_") && user->inputs().size() == 1)
  {
    slope = 0.0;
    return user;
  }
  if ((kind == "aten::leaky_relu" || kind == "aten::leaky_relu_") && user->inputs().size() == 2 &&
      uses[0].offset == 0)
  {
    const auto c = ConstantOf(user->input(1));
    if (c && (c->isDouble() || c->isInt()))
    {
      slope = c->isDouble() ? c->toDouble() : static_cast<double>(c->toInt());
      return user;
    }
  }
  return nullptr;
}

void
CollectNodes(torch::jit::Block * block, std::vector<torch::jit::Node *> & nodes)
{
  for (torch::jit::Node * node : block->nodes())
  {
    nodes.push_back(node);
    for (torch::jit::Block * inner : node->blocks())
    {
      CollectNodes(inner, nodes);
    }
  }
}

} // namespace

at::Tensor
TransposedConvolution(const at::Tensor & input, const at::Tensor & weight, const c10::optional<at::Tensor> & bias,
                      at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef outputPadding, int64_t groups,
                      at::IntArrayRef dilation)
{
  const int64_t dims = weight.dim() - 2; // the input may lack its batch axis; the weight never does
  const bool    hasBias = bias.has_value() && bias->defined();
  const bool    fast = (dims == 2 || dims == 3) && IsDenseFloatOnCpu(input) && IsDenseFloatOnCpu(weight) &&
                    weight.dim() == input.dim() && weight.size(0) == input.size(1) && groups == 1 &&
                    weight.sizes().slice(2) == stride && AllEqual(padding, 0) && AllEqual(outputPadding, 0) &&
                    AllEqual(dilation, 1) && (!hasBias || IsDenseFloatOnCpu(*bias)) &&
                    input.numel() / std::max<int64_t>(1, input.size(0) * input.size(1)) >= kFastTransposedVoxels;
  if (!fast)
  {
    if (dims == 1)
      return at::conv_transpose1d(input, weight, bias, stride, padding, outputPadding, groups, dilation);
    return dims == 2 ? at::conv_transpose2d(input, weight, bias, stride, padding, outputPadding, groups, dilation)
                     : at::conv_transpose3d(input, weight, bias, stride, padding, outputPadding, groups, dilation);
  }
  // Kernel = stride, no padding: each input voxel writes its own block of the output.
  const int64_t inChannels = weight.size(0);
  const int64_t outChannels = weight.size(1);
  const int64_t blocks = c10::multiply_integers(stride);
  // weight [Cin, Cout, k...] -> [Cout * prod(k), Cin]: row c * prod(k) + offset.
  const at::Tensor rows = dims == 2 ? weight.permute({ 1, 2, 3, 0 }).reshape({ outChannels * blocks, inChannels })
                                    : weight.permute({ 1, 2, 3, 4, 0 }).reshape({ outChannels * blocks, inChannels });
  const at::Tensor flat = input.reshape({ input.size(0), inChannels, -1 });
  at::Tensor       y = at::empty({ input.size(0), outChannels * blocks, flat.size(2) }, input.options());
  for (int64_t n = 0; n < input.size(0); ++n)
  {
    at::Tensor slice = y[n]; // contiguous [Cout * prod(k), S]
    at::mm_out(slice, rows, flat[n]);
  }
  if (hasBias)
  {
    y.add_(bias->repeat_interleave(blocks).view({ 1, outChannels * blocks, 1 }));
  }
  if (dims == 2)
  {
    return PixelShuffle(y.view({ input.size(0), outChannels * blocks, 1, input.size(2), input.size(3) }), 1,
                        stride[0], stride[1])
      .squeeze(2);
  }
  return PixelShuffle(y.view({ input.size(0), outChannels * blocks, input.size(2), input.size(3), input.size(4) }),
                      stride[0], stride[1], stride[2]);
}

at::Tensor
InstanceNormLeakyReLU(const at::Tensor & input, const c10::optional<at::Tensor> & weight,
                      const c10::optional<at::Tensor> & bias, double eps, double slope)
{
  const bool hasWeight = weight.has_value() && weight->defined();
  const bool hasBias = bias.has_value() && bias->defined();
  const bool fast = input.dim() >= 3 && IsDenseFloatOnCpu(input) && input.is_contiguous() &&
                    (!hasWeight || (IsDenseFloatOnCpu(*weight) && weight->numel() == input.size(1))) &&
                    (!hasBias || (IsDenseFloatOnCpu(*bias) && bias->numel() == input.size(1))) && input.numel() > 0;
  if (!fast)
  {
    at::Tensor normalized = at::instance_norm(input, weight, bias, {}, {}, true, 0.1, eps, true);
    return slope == 0.0 ? normalized.relu_() : at::leaky_relu_(normalized, slope); // its own fresh tensor
  }
  const int64_t    channels = input.size(1);
  const int64_t    planes = input.size(0) * channels;
  const int64_t    voxels = input.numel() / planes;
  const at::Tensor w = hasWeight ? weight->contiguous() : at::Tensor();
  const at::Tensor b = hasBias ? bias->contiguous() : at::Tensor();
  const float *    wp = hasWeight ? w.data_ptr<float>() : nullptr;
  const float *    bp = hasBias ? b.data_ptr<float>() : nullptr;
  const float *    src = input.data_ptr<float>();
  at::Tensor       output = at::empty_like(input);
  float *          dst = output.data_ptr<float>();
  const float      negative = static_cast<float>(slope);
  at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
    {
      const float * x = src + p * voxels;
      float *       y = dst + p * voxels;
      double        mean = 0.0;
      double        variance = 0.0;
      MeanAndVariance(x, voxels, mean, variance);
      const int64_t c = p % channels;
      const double  scale = (wp ? wp[c] : 1.0) / std::sqrt(variance + eps);
      const float shift = bp ? bp[c] : 0.0f;
      NormalizeAndActivate(x, voxels, static_cast<float>(mean), static_cast<float>(scale), shift, negative, y);
    }
  });
  return output;
}

InferenceRewrites
InferenceRewrites::FromEnvironment()
{
  const char * value = std::getenv("MEDSEG_TORCHSCRIPT_REWRITES");
  const std::string text = value ? value : "";
  if (text.empty())
  {
    return {};
  }
  if (text == "all")
  {
    return { true, true };
  }
  if (text == "none")
  {
    return { false, false };
  }
  if (text == "transpose")
  {
    return { true, false };
  }
  if (text == "norm")
  {
    return { false, true };
  }
  throw std::invalid_argument("MEDSEG_TORCHSCRIPT_REWRITES='" + text + "' is not one of all, none, transpose, norm");
}

InferenceRewriteCount
RewriteForInference(torch::jit::Module & module, const InferenceRewrites & rewrites)
{
  InferenceRewriteCount count;
  if (!module.find_method("forward"))
  {
    return count;
  }
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph();
  std::vector<torch::jit::Node *>    nodes;
  CollectNodes(graph->block(), nodes);
  const auto transposed = c10::Symbol::fromQualString("medseg::transposed_convolution");
  const auto fused = c10::Symbol::fromQualString("medseg::instance_norm_leaky_relu");
  std::unordered_set<torch::jit::Node *> destroyed; // activations destroyed before the loop reached them
  for (torch::jit::Node * node : nodes)
  {
    if (destroyed.count(node))
    {
      continue;
    }
    if (rewrites.transposedConvolutions)
    {
      const std::vector<torch::jit::Value *> inputs = TransposedConvolutionInputs(node);
      if (!inputs.empty())
      {
        torch::jit::WithInsertPoint here(node);
        std::vector<torch::jit::NamedValue> args(inputs.begin(), inputs.end());
        torch::jit::Value *                 out = graph->insert(transposed, args);
        out->setType(node->output()->type());
        node->output()->replaceAllUsesWith(out);
        node->destroy();
        ++count.transposedConvolutions;
        continue;
      }
    }
    if (rewrites.normActivation && std::string(node->kind().toQualString()) == "aten::instance_norm" &&
        node->inputs().size() == 9)
    {
      // instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn)
      const bool inputStatistics = IsConstantBool(node->input(5), true) ||
                                   (IsConstantNone(node->input(3)) && IsConstantNone(node->input(4)));
      double     slope = 0.0;
      torch::jit::Node * activation = inputStatistics ? OnlyActivationOf(node, slope) : nullptr;
      if (activation)
      {
        // At the norm, not the activation: an in-place write to its input in between must not be seen.
        torch::jit::WithInsertPoint here(node);
        torch::jit::Value * slopeValue = graph->insertConstant(slope);
        torch::jit::Value * out = graph->insert(
          fused, { node->input(0), node->input(1), node->input(2), node->input(7), slopeValue });
        out->setType(activation->output()->type());
        activation->output()->replaceAllUsesWith(out);
        destroyed.insert(activation);
        activation->destroy();
        node->destroy();
        ++count.normActivations;
      }
    }
  }
  torch::jit::EliminateDeadCode(graph);
  return count;
}

} // namespace medseg
