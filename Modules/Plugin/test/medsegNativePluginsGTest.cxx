// The unet and fcn plugins: output shapes in 2D and 3D for several hyper-parameter sets (made
// through the registry), weights round trips and refusal of mismatched weights. The networks
// themselves are tested in Modules/Networks/test/medsegNativeNetworksGTest.cxx.
#include "medsegExpectInputError.h"
#include "medsegError.h"
#include "medsegNativeNetworks.h"
#include "medsegPluginRegistry.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace
{

using namespace medseg;
using medseg::test::InputErrorOf;

const PluginRegistry &
Registry()
{
  static const PluginRegistry registry;
  return registry;
}

bool
Contains(const std::string & text, const std::string & part)
{
  return text.find(part) != std::string::npos;
}

struct ShapeCase
{
  std::string          plugin;
  std::string          json;
  std::vector<int64_t> inputShape;
  int64_t              classes;
};

std::ostream &
operator<<(std::ostream & os, const ShapeCase & c)
{
  return os << c.plugin << ' ' << c.json;
}

class NativeNetworkShapes : public ::testing::TestWithParam<ShapeCase>
{};

} // namespace

TEST_P(NativeNetworkShapes, LogitsHaveTheInputsSpatialSize)
{
  const ShapeCase & c = GetParam();
  const int64_t     channels = c.inputShape[1];
  torch::manual_seed(3);
  const auto model = Registry().CreateModel(c.plugin, c.json, "", "cpu", channels);
  EXPECT_EQ(model->GetNumberOfClasses(), static_cast<unsigned int>(c.classes)); // known without running
  EXPECT_EQ(model->GetNumberOfInputChannels(), channels);
  EXPECT_EQ(model->GetSpatialDimension(), static_cast<int>(c.inputShape.size()) - 2);
  const auto input = torch::randn(c.inputShape);
  const auto logits = model->Forward(input);
  std::vector<int64_t> expected = c.inputShape;
  expected[1] = c.classes;
  EXPECT_EQ(logits.sizes().vec(), expected);
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  EXPECT_GT(logits.std().item<float>(), 0.0f); // not a constant: the network does something
  EXPECT_TRUE(Contains(model->GetDescription(), c.plugin + " "));
}

INSTANTIATE_TEST_SUITE_P(
  UNetAndFCN, NativeNetworkShapes,
  ::testing::Values(
    ShapeCase{ "unet", R"({"features": [4, 8, 16]})", { 2, 1, 16, 16, 16 }, 2 },
    ShapeCase{ "unet", R"({"base_features": 4, "depth": 3, "norm": "batch", "residual": true, "upsampling": "upsample", "out_channels": 3})",
               { 1, 2, 16, 16, 16 }, 3 },
    ShapeCase{ "unet", R"({"features": [4, 8], "upsampling": "pixelshuffle", "residual": true, "out_channels": 1})",
               { 1, 1, 13, 10, 7 }, 1 }, // odd sizes: padded and cropped
    ShapeCase{ "unet", R"({"spatial_dims": 2, "features": [4, 8, 16], "out_channels": 4})", { 3, 1, 16, 16 }, 4 },
    ShapeCase{ "unet", R"({"spatial_dims": 2, "base_features": 4, "depth": 2, "upsampling": "pixelshuffle", "norm": "batch"})",
               { 1, 3, 15, 16 }, 2 },
    ShapeCase{ "fcn", R"({"features": [4, 8, 8], "fc_features": 16})", { 2, 1, 16, 16, 16 }, 2 },
    ShapeCase{ "fcn", R"({"features": [4, 4, 8, 8], "convs_per_stage": 1, "norm": "instance", "out_channels": 3})",
               { 1, 2, 16, 16, 16 }, 3 },
    ShapeCase{ "fcn", R"({"spatial_dims": 2, "features": [4, 8, 8, 16, 16], "norm": "none", "fc_features": 8})",
               { 2, 1, 16, 20 }, 2 },
    ShapeCase{ "fcn", R"({"features": [4, 8, 8], "fc_features": 8})", { 1, 1, 9, 16, 11 }, 2 }));

TEST(NativeNetworks, WeightsRoundTripThroughThePluginGivesIdenticalOutputs)
{
  test::TemporaryDirectory dir;
  const auto               input = torch::randn({ 1, 1, 16, 16, 16 });
  for (const std::string plugin : { "unet", "fcn" })
  {
    SCOPED_TRACE(plugin);
    torch::manual_seed(11);
    std::shared_ptr<nets::NetworkImpl> network;
    std::string                        json;
    if (plugin == "unet")
    {
      const auto options = nets::UNetOptions::FromJson(R"({"features": [4, 8, 16], "residual": true})", 1);
      network = nets::MakeUNet(options);
      json = options.ToJson();
    }
    else
    {
      const auto options = nets::FCNOptions::FromJson(R"({"features": [4, 8, 8], "fc_features": 8})", 1);
      network = nets::MakeFCN(options);
      json = options.ToJson();
    }
    nets::SaveWeights(*network, dir / (plugin + ".weights"));
    network->eval();
    torch::Tensor reference;
    {
      torch::NoGradGuard noGrad;
      reference = network->forward(input);
    }
    torch::manual_seed(12345); // a different random start: only loading the weights can make it equal
    const auto loaded = Registry().CreateModel(plugin, json, dir / (plugin + ".weights"), "cpu", 1);
    const auto fresh = Registry().CreateModel(plugin, json, "", "cpu", 1);
    EXPECT_TRUE(torch::allclose(loaded->Forward(input), reference, 1e-5, 1e-6));
    EXPECT_FALSE(torch::allclose(fresh->Forward(input), reference, 1e-3, 1e-3));
    EXPECT_TRUE(Contains(loaded->GetDescription(), plugin + ".weights"));
  }
}

TEST(NativeNetworks, MismatchedWeightsAreRefusedNamingTheFile)
{
  test::TemporaryDirectory dir;
  const std::string        weights = dir / "unet.weights";
  auto network = nets::MakeUNet(nets::UNetOptions::FromJson(R"({"features": [4, 8, 16]})", 1));
  nets::SaveWeights(*network, weights);

  const std::string wider = InputErrorOf([&] { Registry().CreateModel("unet", R"({"features": [4, 8, 32]})", weights, "cpu", 1); });
  EXPECT_TRUE(Contains(wider, "plugin 'unet': " + weights + ": 'encoder2.conv0.weight' has shape [16, 8, 3, 3, 3], "
                              "the network expects [32, 8, 3, 3, 3]"))
    << wider;
  const std::string deeper =
    InputErrorOf([&] { Registry().CreateModel("unet", R"({"features": [4, 8, 16, 32]})", weights, "cpu", 1); });
  EXPECT_TRUE(Contains(deeper, weights + ": has no entry for layer 'encoder3'")) << deeper;
  const std::string shallower =
    InputErrorOf([&] { Registry().CreateModel("unet", R"({"features": [4, 8]})", weights, "cpu", 1); });
  EXPECT_TRUE(Contains(shallower, weights + ": has an entry 'encoder2' the network does not have")) << shallower;
  const std::string otherNorm =
    InputErrorOf([&] { Registry().CreateModel("unet", R"({"features": [4, 8, 16], "norm": "batch"})", weights, "cpu", 1); });
  EXPECT_TRUE(Contains(otherNorm, weights + ": has no buffer 'encoder0.norm0.running_mean'")) << otherNorm;
  const std::string fcn = InputErrorOf([&] { Registry().CreateModel("fcn", "", weights, "cpu", 1); });
  EXPECT_TRUE(Contains(fcn, weights + ": ")) << fcn;
  EXPECT_EQ(InputErrorOf([&] { Registry().CreateModel("unet", "", dir / "none.weights", "cpu", 1); }),
            "plugin 'unet': " + (dir / "none.weights") + ": no such weights file");
  test::WriteText(dir / "text.weights", "not a weights file");
  EXPECT_TRUE(Contains(InputErrorOf([&] { Registry().CreateModel("unet", "", dir / "text.weights", "cpu", 1); }),
                       "text.weights: cannot be read as LibTorch weights"));
}

TEST(NativeNetworks, BadHyperParametersAreRefused)
{
  const auto error = [](const std::string & plugin, const std::string & json, int64_t channels = 1) {
    return InputErrorOf([&] { Registry().CreateModel(plugin, json, "", "cpu", channels); });
  };
  EXPECT_TRUE(Contains(error("unet", R"({"featurs": [4]})"), "unet hyper-parameters: field 'featurs' is not a known key (known: "));
  EXPECT_TRUE(Contains(error("unet", R"({"norm": "group"})"), "field 'norm' is 'group'; expected one of batch, instance"));
  EXPECT_TRUE(Contains(error("unet", R"({"spatial_dims": 4})"), "field 'spatial_dims' must be an integer in [2, 3]"));
  EXPECT_TRUE(Contains(error("unet", R"({"in_channels": 2})", 1), "in_channels is 2 but the model is asked for 1"));
  EXPECT_TRUE(Contains(error("unet", R"({"features": "wide"})"), "field 'features' must be a list of 1 to 8 integers in [1, 4096]"));
  EXPECT_TRUE(Contains(error("unet", R"({"features": [4], "depth": 2})"), "either 'features' or 'base_features'"));
  EXPECT_TRUE(Contains(error("unet", "[1, 2]"), "must be a JSON object"));
  EXPECT_TRUE(Contains(error("unet", "{"), "not valid JSON"));
  EXPECT_TRUE(Contains(error("fcn", R"({"features": [4, 8]})"), "field 'features' must be a list of 3 to 7 integers in [1, 4096]"));
  EXPECT_TRUE(Contains(error("fcn", R"({"norm": "layer"})"), "fcn hyper-parameters: field 'norm' is 'layer'; expected one of batch, instance, none"));
}

TEST(NativeNetworks, ForwardRefusesBatchesOfTheWrongShape)
{
  const auto model = Registry().CreateModel("unet", R"({"features": [4, 8]})", "", "cpu", 2);
  EXPECT_THROW(model->Forward(torch::zeros({ 1, 1, 8, 8, 8 })), std::invalid_argument); // one channel, not two
  EXPECT_THROW(model->Forward(torch::zeros({ 1, 2, 8, 8 })), std::invalid_argument);    // 2D batch, 3D network
}
