#include "medsegFixtureModels.h"
#include "medsegMixedPrecisionModel.h"
#include "medsegTorchScriptModel.h"

#include <ATen/autocast_mode.h>

#include <gtest/gtest.h>

using namespace medseg;

namespace
{
/** Whether this CPU runs a bf16 convolution at all (oneDNN refuses without AVX-512 BW/VL/DQ when
 * ATen routes bf16 to it, e.g. under ONEDNN_MAX_CPU_ISA=AVX2). */
bool
CpuRunsBf16Convolutions()
{
  try
  {
    c10::InferenceMode guard;
    const at::Tensor x = at::randn({ 1, 1, 4, 4, 4 }).to(at::kBFloat16);
    const at::Tensor w = at::randn({ 1, 1, 3, 3, 3 }).to(at::kBFloat16);
    at::conv3d(x, w);
    return true;
  }
  catch (const std::exception &)
  {
    return false;
  }
}
} // namespace

TEST(MixedPrecision, Bf16AutocastRunsTheConvolutionsInBfloat16AndReturnsFloat)
{
  if (!CpuRunsBf16Convolutions())
  {
    GTEST_SKIP() << "this CPU runs no bf16 convolution (no AVX-512 for oneDNN's bf16 kernels)";
  }
  TorchScriptModelOptions options;
  options.device = "cpu";
  options.optimize = false; // frozen graphs ignore autocast
  auto fp32 = std::make_shared<TorchScriptModel>(test::MakeConvolutionModule(3, 4), "conv", options);
  auto bf16 = WithPrecision(fp32, Precision::BF16);
  EXPECT_EQ(WithPrecision(fp32, Precision::FP32), fp32);
  EXPECT_NE(bf16->GetDescription().find("bf16"), std::string::npos);

  const at::Tensor x = at::randn({ 2, 1, 8, 9, 10 });
  const at::Tensor a = fp32->Forward(x);
  const at::Tensor b = bf16->Forward(x);
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  ASSERT_EQ(a.sizes(), b.sizes());
  const double error = (a - b).abs().max().item<double>();
  const double scale = a.abs().max().item<double>();
  EXPECT_GT(error, 0.0) << "bf16 arithmetic should differ from float somewhere";
  EXPECT_LT(error, 0.03 * scale) << "bf16 has 8 bits of mantissa: about 3 significant digits";
  // Autocast is switched off again afterwards.
  EXPECT_TRUE(at::equal(fp32->Forward(x), a));
  EXPECT_FALSE(at::autocast::is_cpu_enabled());

  EXPECT_EQ(ParsePrecision("bf16"), Precision::BF16);
  EXPECT_THROW(ParsePrecision("fp16"), std::invalid_argument);
}
