#ifndef medsegInferenceOperators_h
#define medsegInferenceOperators_h

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>

namespace medseg
{

/** \brief A transposed convolution; one whose kernel equals its stride done as a matrix product and a pixel shuffle.
 *
 * With kernel = stride (e.g. k=2, s=2, or nnU-Net's (1, 2, 2)), no padding, no output padding, no
 * dilation and one group, every input voxel writes its own block of the output: the operation is
 * a 1x1(x1) convolution to prod(kernel) times the output channels followed by a pixel shuffle.
 * LibTorch 1.13 runs the general form through im2col + col2im instead. Small inputs (under 8192
 * voxels per channel, where LibTorch's is faster), anything else, and anything that is not a dense
 * float CPU tensor go to at::conv_transpose2d / 3d. The same function within float rounding. */
at::Tensor
TransposedConvolution(const at::Tensor & input, const at::Tensor & weight, const c10::optional<at::Tensor> & bias,
                      at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef outputPadding, int64_t groups,
                      at::IntArrayRef dilation);

/** \brief Instance norm with the input's own statistics, then leaky ReLU (slope 0: ReLU), in one pass.
 *
 * at::instance_norm followed by at::leaky_relu reads and writes the activation twice and holds
 * both results; this computes the per-(sample, channel) mean and variance, then writes
 * `leaky_relu((x - mean) / sqrt(var + eps) * weight + bias)` once into a new tensor. `weight`
 * and `bias` may be undefined (affine=False). Other than dense float CPU tensors go to the two
 * ATen operators. */
at::Tensor
InstanceNormLeakyReLU(const at::Tensor & input, const c10::optional<at::Tensor> & weight,
                      const c10::optional<at::Tensor> & bias, double eps, double slope);

/** Which rewrites RewriteForInference applies. The defaults are what paid end to end on the
 * benchmark's 3D UNet (Documentation/benchmarks.md): the fused norm + activation; the transposed
 * convolutions, faster alone at large sizes, did not make the whole run faster and raised its peak
 * memory, so they are rewritten only when asked. */
struct InferenceRewrites
{
  bool transposedConvolutions{ false }; //!< aten::conv_transpose{2,3}d -> TransposedConvolution
  bool normActivation{ true };          //!< aten::instance_norm + (leaky_)relu -> InstanceNormLeakyReLU

  /** From MEDSEG_TORCHSCRIPT_REWRITES: unset = the defaults, "all", "none", "transpose", "norm"
   * (for benchmarks that measure each rewrite). Throws std::invalid_argument for other values. */
  static InferenceRewrites
  FromEnvironment();
};

/** What RewriteForInference changed. */
struct InferenceRewriteCount
{
  int transposedConvolutions{ 0 };
  int normActivations{ 0 };
};

/** \brief Rewrites a frozen module's forward graph to MedSeg's operators (above), in place.
 *
 * Matches instance norms that use input statistics and whose only use is a ReLU or leaky ReLU,
 * and every 2D/3D transposed convolution (TransposedConvolution decides at run time whether its
 * fast form applies). Run it between torch::jit::freeze and torch::jit::optimize_for_inference.
 * The module must not be saved afterwards: the operators exist only in a MedSeg process. */
InferenceRewriteCount
RewriteForInference(torch::jit::Module & module, const InferenceRewrites & rewrites = {});

} // namespace medseg

#endif
