#include "medsegInferenceOperators.h"
#include "medsegTorchScriptModel.h"

#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/script.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace
{

using medseg::InstanceNormLeakyReLU;
using medseg::TransposedConvolution;

/** Largest absolute difference relative to the reference's largest magnitude. */
double
RelativeError(const at::Tensor & actual, const at::Tensor & expected)
{
  return (actual - expected).abs().max().item<double>() / std::max(1e-30, expected.abs().max().item<double>());
}

TEST(InferenceOperators, KernelEqualsStrideTransposedConvolutionsEqualLibTorchs)
{
  torch::manual_seed(3);
  for (int dims : { 2, 3 })
  {
    const std::vector<int64_t> spatial = dims == 3 ? std::vector<int64_t>{ 20, 21, 22 } : std::vector<int64_t>{ 96, 90 };
    std::vector<int64_t>       inputShape{ 2, 6 };
    inputShape.insert(inputShape.end(), spatial.begin(), spatial.end());
    std::vector<int64_t> weightShape{ 6, 4 };
    weightShape.insert(weightShape.end(), dims, 2);
    const at::Tensor           x = torch::randn(inputShape);
    const at::Tensor           w = torch::randn(weightShape);
    const at::Tensor           b = torch::randn({ 4 });
    const std::vector<int64_t> two(dims, 2), zero(dims, 0), one(dims, 1);
    const at::Tensor           expected = dims == 3 ? at::conv_transpose3d(x, w, b, two) : at::conv_transpose2d(x, w, b, two);
    const at::Tensor           actual = TransposedConvolution(x, w, b, two, zero, zero, 1, one);
    ASSERT_EQ(actual.sizes(), expected.sizes()) << dims << "D";
    EXPECT_LT(RelativeError(actual, expected), 1e-5) << dims << "D";
    const at::Tensor noBias = TransposedConvolution(x, w, c10::nullopt, two, zero, zero, 1, one);
    const at::Tensor expectedNoBias =
      dims == 3 ? at::conv_transpose3d(x, w, {}, two) : at::conv_transpose2d(x, w, {}, two);
    EXPECT_LT(RelativeError(noBias, expectedNoBias), 1e-5) << dims << "D without bias";
    // nnU-Net's anisotropic kernel = stride (1, 2, 2) / (1, 2).
    std::vector<int64_t> aniso(dims, 2);
    aniso[0] = 1;
    std::vector<int64_t> anisoShape{ 6, 4 };
    anisoShape.insert(anisoShape.end(), aniso.begin(), aniso.end());
    const at::Tensor wa = torch::randn(anisoShape);
    const at::Tensor expectedAniso =
      dims == 3 ? at::conv_transpose3d(x, wa, b, aniso) : at::conv_transpose2d(x, wa, b, aniso);
    const at::Tensor actualAniso = TransposedConvolution(x, wa, b, aniso, zero, zero, 1, one);
    ASSERT_EQ(actualAniso.sizes(), expectedAniso.sizes());
    EXPECT_LT(RelativeError(actualAniso, expectedAniso), 1e-5) << dims << "D, kernel = stride (1, 2...)";
    // A non-contiguous input (a channel slice) takes the same path.
    const at::Tensor wide = torch::randn({ 2, 12, 20, 21, 22 });
    if (dims == 3)
    {
      const at::Tensor slice = wide.slice(1, 3, 9);
      EXPECT_LT(RelativeError(TransposedConvolution(slice, w, b, two, zero, zero, 1, one),
                              at::conv_transpose3d(slice, w, b, two)),
                1e-5);
    }
  }
}

TEST(InferenceOperators, OtherTransposedConvolutionsAreLibTorchsOwn)
{
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({ 1, 4, 5, 5, 5 });
  const at::Tensor b = torch::randn({ 6 });
  // kernel 3, stride 2, padding 1, output padding 1: not the fast form; exactly LibTorch's result.
  const at::Tensor k3 = torch::randn({ 4, 6, 3, 3, 3 });
  EXPECT_TRUE(torch::equal(TransposedConvolution(x, k3, b, { 2, 2, 2 }, { 1, 1, 1 }, { 1, 1, 1 }, 1, { 1, 1, 1 }),
                           at::conv_transpose3d(x, k3, b, { 2, 2, 2 }, { 1, 1, 1 }, { 1, 1, 1 })));
  // Two groups.
  const at::Tensor grouped = torch::randn({ 4, 3, 2, 2, 2 });
  EXPECT_TRUE(torch::equal(TransposedConvolution(x, grouped, b, { 2, 2, 2 }, { 0, 0, 0 }, { 0, 0, 0 }, 2, { 1, 1, 1 }),
                           at::conv_transpose3d(x, grouped, b, { 2, 2, 2 }, { 0, 0, 0 }, { 0, 0, 0 }, 2)));
  // Double precision.
  const at::Tensor w = torch::randn({ 4, 6, 2, 2, 2 }, torch::kDouble);
  const at::Tensor xd = x.to(torch::kDouble);
  EXPECT_TRUE(torch::equal(TransposedConvolution(xd, w, {}, { 2, 2, 2 }, { 0, 0, 0 }, { 0, 0, 0 }, 1, { 1, 1, 1 }),
                           at::conv_transpose3d(xd, w, {}, { 2, 2, 2 })));
}

TEST(InferenceOperators, FusedInstanceNormActivationEqualsNormThenActivation)
{
  torch::manual_seed(5);
  const at::Tensor w = torch::rand({ 3 }) + 0.5;
  const at::Tensor b = torch::randn({ 3 });
  // A large common offset: the variance must not cancel.
  for (double offset : { 0.0, 1000.0 })
  {
    const at::Tensor x = torch::randn({ 2, 3, 17, 9, 11 }) * 2.0 + offset;
    for (double slope : { 0.0, 0.01, 0.2 })
    {
      const at::Tensor normalized = at::instance_norm(x, w, b, {}, {}, true, 0.1, 1e-5, false);
      const at::Tensor expected = at::leaky_relu(normalized, slope);
      EXPECT_LT(RelativeError(InstanceNormLeakyReLU(x, w, b, 1e-5, slope), expected), 2e-5)
        << "offset " << offset << " slope " << slope;
      const at::Tensor plain = at::leaky_relu(at::instance_norm(x, {}, {}, {}, {}, true, 0.1, 1e-5, false), slope);
      EXPECT_LT(RelativeError(InstanceNormLeakyReLU(x, {}, {}, 1e-5, slope), plain), 2e-5) << "no affine";
    }
  }
  // A constant plane normalizes to exactly its channel's bias (LibTorch's float mean leaves about
  // 1e-7 * 1/sqrt(eps) of rounding there).
  const at::Tensor constant = torch::full({ 1, 3, 4, 4 }, 7.0);
  const at::Tensor fusedConstant = InstanceNormLeakyReLU(constant, w, b, 1e-5, 0.01);
  EXPECT_TRUE(torch::equal(fusedConstant, at::leaky_relu(b.view({ 1, 3, 1, 1 }), 0.01).expand_as(constant)));
  EXPECT_LT(RelativeError(fusedConstant,
                          at::leaky_relu(at::instance_norm(constant, w, b, {}, {}, true, 0.1, 1e-5, false), 0.01)),
            1e-4);
  // The input is not written to.
  const at::Tensor x = torch::randn({ 1, 3, 8, 8, 8 });
  const at::Tensor copy = x.clone();
  InstanceNormLeakyReLU(x, w, b, 1e-5, 0.01);
  EXPECT_TRUE(torch::equal(x, copy));
}

/** A small UNet-like module in TorchScript: norm + activation pairs, one norm used twice (not
 * fusable), an in-place ReLU, a k=2 s=2 and a k=3 transposed convolution. */
torch::jit::Module
MakeRewritableModule()
{
  torch::manual_seed(6);
  torch::jit::Module m("RewriteFixture");
  m.register_parameter("c1", torch::randn({ 4, 1, 3, 3, 3 }) * 0.3, false);
  m.register_parameter("n1w", torch::rand({ 4 }) + 0.5, false);
  m.register_parameter("n1b", torch::randn({ 4 }), false);
  m.register_parameter("c2", torch::randn({ 8, 4, 3, 3, 3 }) * 0.2, false);
  m.register_parameter("up", torch::randn({ 8, 4, 2, 2, 2 }) * 0.3, false);
  m.register_parameter("upb", torch::randn({ 4 }), false);
  m.register_parameter("up3", torch::randn({ 4, 2, 3, 3, 3 }) * 0.3, false);
  m.define(R"(
def forward(self, x):
    a = torch.conv3d(x, self.c1, None, [1, 1, 1], [1, 1, 1])
    a = torch.leaky_relu(torch.instance_norm(a, self.n1w, self.n1b, None, None, True, 0.1, 1e-5, False), 0.01)
    d = torch.conv3d(a, self.c2, None, [2, 2, 2], [1, 1, 1])
    n = torch.instance_norm(d, None, None, None, None, True, 0.1, 1e-5, False)
    d = torch.relu(n) + n
    u = torch.conv_transpose3d(d, self.up, self.upb, [2, 2, 2])
    u = torch.relu_(torch.instance_norm(u + a, self.n1w, self.n1b, None, None, True, 0.1, 1e-5, False))
    return torch.conv_transpose3d(u, self.up3, None, [1, 1, 1], [1, 1, 1])
)");
  m.eval();
  return m;
}

TEST(InferenceOperators, RewritesAFrozenGraphWithoutChangingItsOutputs)
{
  torch::jit::Module original = MakeRewritableModule();
  const at::Tensor   x = torch::randn({ 2, 1, 48, 44, 40 }); // the k=2 convolution takes 24 x 22 x 20: its fast form
  c10::InferenceMode guard;
  const at::Tensor   expected = original.forward({ x }).toTensor();

  torch::jit::Module                 frozen = torch::jit::freeze(original.clone());
  const medseg::InferenceRewriteCount count = medseg::RewriteForInference(frozen, { true, true });
  EXPECT_EQ(count.transposedConvolutions, 2); // both; the k=3 one falls back at run time
  EXPECT_EQ(count.normActivations, 2);        // the norm used twice is left alone
  const std::string graph = frozen.get_method("forward").graph()->toString();
  EXPECT_EQ(graph.find("aten::conv_transpose3d"), std::string::npos) << graph;
  EXPECT_EQ(graph.find("aten::leaky_relu"), std::string::npos) << graph;
  EXPECT_NE(graph.find("aten::instance_norm"), std::string::npos) << graph;
  EXPECT_LT(RelativeError(frozen.forward({ x }).toTensor(), expected), 1e-5);

  // optimize_for_inference accepts the rewritten graph, and the result stays the same.
  torch::jit::Module optimized = torch::jit::optimize_for_inference(frozen);
  at::Tensor         result = optimized.forward({ x }).toTensor();
  if (result.is_mkldnn())
  {
    result = result.to_dense();
  }
  EXPECT_LT(RelativeError(result, expected), 1e-5);

  // Each rewrite alone.
  torch::jit::Module onlyNorm = torch::jit::freeze(original.clone());
  const auto         normCount = medseg::RewriteForInference(onlyNorm, { false, true });
  EXPECT_EQ(normCount.transposedConvolutions, 0);
  EXPECT_EQ(normCount.normActivations, 2);
  EXPECT_LT(RelativeError(onlyNorm.forward({ x }).toTensor(), expected), 1e-5);
}

TEST(InferenceOperators, AWriteToTheNormsInputBeforeItsActivationIsNotSeenByTheFusedNorm)
{
  torch::jit::Module m("MutationFixture");
  m.define(R"(
def forward(self, x):
    y = x * 1.0
    n = torch.instance_norm(y, None, None, None, None, True, 0.1, 1e-5, False)
    y.mul_(3.0)
    return torch.leaky_relu(n, 0.01) + y
)");
  m.eval();
  const at::Tensor   x = torch::randn({ 1, 2, 6, 5, 4 }) + 2.0;
  c10::InferenceMode guard;
  const at::Tensor   expected = m.forward({ x }).toTensor();
  torch::jit::Module frozen = torch::jit::freeze(m.clone());
  EXPECT_EQ(medseg::RewriteForInference(frozen).normActivations, 1);
  EXPECT_LT(RelativeError(frozen.forward({ x }).toTensor(), expected), 1e-5);
  // An unbatched input (the weight tells 2D from 3D) goes to LibTorch's own.
  const at::Tensor w = torch::randn({ 3, 2, 2, 2 });
  const at::Tensor unbatched = torch::randn({ 3, 5, 4 });
  EXPECT_TRUE(torch::equal(TransposedConvolution(unbatched, w, {}, { 2, 2 }, { 0, 0 }, { 0, 0 }, 1, { 1, 1 }),
                           at::conv_transpose2d(unbatched, w, {}, { 2, 2 })));
}

TEST(InferenceOperators, TorchScriptModelsGetTheFusedNormByDefaultAndWhatTheEnvironmentSays)
{
  medseg::TorchScriptModelOptions options;
  options.spatialDims = 3;
  const at::Tensor x = torch::randn({ 1, 1, 8, 8, 8 });
  at::Tensor       expected;
  {
    c10::InferenceMode guard;
    expected = MakeRewritableModule().forward({ x }).toTensor();
  }
  medseg::TorchScriptModel byDefault(MakeRewritableModule(), "fixture", options);
  EXPECT_NE(byDefault.GetDescription().find("0 transposed convolution(s) and 2 norm + activation(s) rewritten"),
            std::string::npos)
    << byDefault.GetDescription();
  EXPECT_LT(RelativeError(byDefault.Forward(x), expected), 1e-5);

  setenv("MEDSEG_TORCHSCRIPT_REWRITES", "all", 1);
  medseg::TorchScriptModel rewritten(MakeRewritableModule(), "fixture", options);
  EXPECT_NE(rewritten.GetDescription().find("2 transposed convolution(s) and 2 norm + activation(s) rewritten"),
            std::string::npos)
    << rewritten.GetDescription();
  EXPECT_LT(RelativeError(rewritten.Forward(x), expected), 1e-5);

  setenv("MEDSEG_TORCHSCRIPT_REWRITES", "none", 1);
  medseg::TorchScriptModel plain(MakeRewritableModule(), "fixture", options);
  EXPECT_NE(plain.GetDescription().find("0 transposed convolution(s) and 0 norm"), std::string::npos)
    << plain.GetDescription();
  setenv("MEDSEG_TORCHSCRIPT_REWRITES", "fast", 1);
  EXPECT_THROW(medseg::TorchScriptModel(MakeRewritableModule(), "fixture", options), std::invalid_argument);
  unsetenv("MEDSEG_TORCHSCRIPT_REWRITES");
}

} // namespace
