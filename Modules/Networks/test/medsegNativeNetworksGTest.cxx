// The native networks (unet, fcn) built directly, without a plugin: what they report about
// themselves and the pixel-shuffle decoder's equivalence with a k=2, s=2 transposed convolution.
#include "medsegNativeNetworks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace medseg;

TEST(NativeNetworks, ModelsReportTheirClassesAndDimensionsWithoutRunning)
{
  nets::UNetOptions unet;
  unet.outChannels = 4;
  unet.features = { 4, 8 };
  nets::NativeSegmentationModel model(nets::MakeUNet(unet), c10::Device(c10::kCPU), 1, "unet");
  EXPECT_EQ(model.GetNumberOfClasses(), 4u);
  EXPECT_EQ(model.GetSpatialDimension(), 3);
  EXPECT_EQ(model.Forward(torch::zeros({ 1, 1, 8, 8, 8 })).size(1), 4);

  nets::FCNOptions fcn;
  fcn.spatialDims = 2;
  fcn.outChannels = 1; // one sigmoid output
  const auto network = nets::MakeFCN(fcn);
  EXPECT_EQ(network->OutputChannels(), 1);
  EXPECT_EQ(nets::NativeSegmentationModel(network, c10::Device(c10::kCPU), 1, "fcn").GetNumberOfClasses(), 1u);
}

TEST(NativeNetworks, PixelShuffleEqualsATransposedConvolutionWithRearrangedWeights)
{
  torch::manual_seed(5);
  const int64_t in = 6, out = 3;
  for (const int64_t dims : { 2, 3 })
  {
    SCOPED_TRACE(dims);
    const int64_t        taps = int64_t{ 1 } << dims;
    std::vector<int64_t> shape{ 2, in, 5, 4 };
    if (dims == 3)
      shape.push_back(3);
    const auto x = torch::randn(shape);
    const auto weight = torch::randn(dims == 3 ? std::vector<int64_t>{ in, out, 2, 2, 2 } : std::vector<int64_t>{ in, out, 2, 2 });
    const auto bias = torch::randn({ out });
    const auto transposed = dims == 3 ? torch::conv_transpose3d(x, weight, bias, 2) : torch::conv_transpose2d(x, weight, bias, 2);
    // [Cin, Cout, 2, 2(, 2)] -> [Cout * 2^d, Cin, 1, 1(, 1)]: output channel o*2^d + offset index.
    std::vector<int64_t> permutation{ 1 };
    for (int64_t d = 0; d < dims; ++d)
      permutation.push_back(2 + d);
    permutation.push_back(0);
    std::vector<int64_t> convShape{ out * taps, in };
    for (int64_t d = 0; d < dims; ++d)
      convShape.push_back(1);
    const auto convWeight = weight.permute(permutation).reshape(convShape);
    const auto convBias = bias.repeat_interleave(taps);
    const auto pointwise = dims == 3 ? torch::conv3d(x, convWeight, convBias) : torch::conv2d(x, convWeight, convBias);
    const auto shuffled = nets::PixelShuffle2x(pointwise, dims);
    ASSERT_EQ(shuffled.sizes(), transposed.sizes());
    EXPECT_TRUE(torch::allclose(shuffled, transposed, 1e-5, 1e-5)) << (shuffled - transposed).abs().max().item<float>();
  }
}
