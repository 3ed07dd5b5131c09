#include "medsegNNUNetNetworks.h"

#include "medsegExpectInputError.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <memory>
#include <sstream>

namespace
{

using medseg::BuildNNUNetNetwork;
using medseg::LoadNNUNetWeights;
using medseg::NNUNetArchitecture;
using medseg::NNUNetNetwork;
using medseg::ParseNNUNetArchitecture;
using medseg::test::ExpectInputError;
using Json = nlohmann::json;
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

const std::string Plans = "plans.json";

/** A 3D anisotropic PlainConvUNet "architecture" as nnU-Net's default planner writes it. */
Json
PlainArchitecture3D()
{
  return Json::parse(R"({
    "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
    "arch_kwargs": {
      "n_stages": 4,
      "features_per_stage": [4, 8, 16, 16],
      "conv_op": "torch.nn.modules.conv.Conv3d",
      "kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
      "strides": [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]],
      "n_conv_per_stage": [2, 2, 2, 2],
      "n_conv_per_stage_decoder": [2, 2, 2],
      "conv_bias": true,
      "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d",
      "norm_op_kwargs": {"eps": 1e-05, "affine": true},
      "dropout_op": null,
      "dropout_op_kwargs": null,
      "nonlin": "torch.nn.LeakyReLU",
      "nonlin_kwargs": {"inplace": true}
    },
    "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]
  })");
}

/** A 2D ResidualEncoderUNet with BatchNorm, as a ResEnc planner would write it. */
Json
ResEncArchitecture2D()
{
  return Json::parse(R"({
    "network_class_name": "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet",
    "arch_kwargs": {
      "n_stages": 3,
      "features_per_stage": [4, 8, 16],
      "conv_op": "torch.nn.modules.conv.Conv2d",
      "kernel_sizes": [[3, 3], [3, 3], [3, 3]],
      "strides": [[1, 1], [2, 2], [2, 2]],
      "n_blocks_per_stage": [1, 2, 2],
      "n_conv_per_stage_decoder": [1, 1],
      "conv_bias": true,
      "norm_op": "torch.nn.modules.batchnorm.BatchNorm2d",
      "norm_op_kwargs": {"eps": 1e-05, "affine": true},
      "dropout_op": null,
      "dropout_op_kwargs": null,
      "nonlin": "torch.nn.ReLU",
      "nonlin_kwargs": {"inplace": true}
    },
    "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]
  })");
}

NNUNetArchitecture
Parse(const Json & json, int64_t inputs = 1, int64_t outputs = 3)
{
  return ParseNNUNetArchitecture(json.dump(), inputs, outputs, Plans);
}

/** `json` with arch_kwargs[field] = value (null removes it when `remove`). */
Json
With(Json json, const std::string & field, const Json & value, bool remove = false)
{
  if (remove)
    json["arch_kwargs"].erase(field);
  else
    json["arch_kwargs"][field] = value;
  return json;
}

void
ExpectRefused(const Json & json, const std::string & problem)
{
  ExpectInputError([&] { Parse(json); }, Plans, problem);
}

// --- (1) parsing ------------------------------------------------------------------------------

TEST(NNUNetNetworkParse, PlainConvUNet3DAnisotropic)
{
  const NNUNetArchitecture a = Parse(PlainArchitecture3D(), 2, 3);
  EXPECT_EQ(a.networkClass, medseg::NNUNetNetworkClass::PlainConvUNet);
  EXPECT_EQ(a.spatialDimension, 3);
  EXPECT_EQ(a.inputChannels, 2);
  EXPECT_EQ(a.outputChannels, 3);
  EXPECT_EQ(a.numberOfStages, 4);
  EXPECT_EQ(a.featuresPerStage, (std::vector<int64_t>{ 4, 8, 16, 16 }));
  EXPECT_EQ(a.kernelSizes[0], (std::vector<int64_t>{ 1, 3, 3 }));
  EXPECT_EQ(a.kernelSizes[3], (std::vector<int64_t>{ 3, 3, 3 }));
  EXPECT_EQ(a.strides[1], (std::vector<int64_t>{ 1, 2, 2 }));
  EXPECT_EQ(a.convsPerStage, (std::vector<int64_t>{ 2, 2, 2, 2 }));
  EXPECT_EQ(a.convsPerStageDecoder, (std::vector<int64_t>{ 2, 2, 2 }));
  EXPECT_TRUE(a.convBias);
  EXPECT_EQ(a.norm, medseg::NNUNetNorm::InstanceNorm);
  EXPECT_DOUBLE_EQ(a.normEps, 1e-5);
  EXPECT_TRUE(a.normAffine);
  EXPECT_FALSE(a.normTrackRunningStats);
  EXPECT_FALSE(a.dropout);
  EXPECT_EQ(a.nonlinearity, medseg::NNUNetNonlinearity::LeakyReLU);
  EXPECT_DOUBLE_EQ(a.negativeSlope, 0.01);
  EXPECT_FALSE(a.nonlinFirst);
  EXPECT_EQ(BuildNNUNetNetwork(a)->GetSizeDivisor(), (std::vector<int64_t>{ 4, 8, 8 }));
}

TEST(NNUNetNetworkParse, ResidualEncoderUNet2DAndScalars)
{
  NNUNetArchitecture a = Parse(ResEncArchitecture2D(), 1, 2);
  EXPECT_EQ(a.networkClass, medseg::NNUNetNetworkClass::ResidualEncoderUNet);
  EXPECT_EQ(a.spatialDimension, 2);
  EXPECT_EQ(a.convsPerStage, (std::vector<int64_t>{ 1, 2, 2 }));
  EXPECT_EQ(a.norm, medseg::NNUNetNorm::BatchNorm);
  EXPECT_TRUE(a.normTrackRunningStats);
  EXPECT_EQ(a.nonlinearity, medseg::NNUNetNonlinearity::ReLU);
  // Scalars expand as upstream's `[x] * n_stages` and maybe_convert_scalar_to_list.
  Json scalars = With(With(With(ResEncArchitecture2D(), "kernel_sizes", 3), "strides", Json::array({ 1, 2, 2 })),
                      "n_blocks_per_stage", 2);
  scalars = With(With(scalars, "features_per_stage", 8), "n_conv_per_stage_decoder", 1);
  a = Parse(scalars);
  EXPECT_EQ(a.kernelSizes, (std::vector<std::vector<int64_t>>(3, { 3, 3 })));
  EXPECT_EQ(a.strides[2], (std::vector<int64_t>{ 2, 2 }));
  EXPECT_EQ(a.featuresPerStage, (std::vector<int64_t>{ 8, 8, 8 }));
  EXPECT_EQ(a.convsPerStageDecoder, (std::vector<int64_t>{ 1, 1 }));
  // norm_op_kwargs null: torch's defaults (InstanceNorm: affine False).
  a = Parse(With(With(PlainArchitecture3D(), "norm_op_kwargs", nullptr), "norm_op", "torch.nn.InstanceNorm3d"));
  EXPECT_FALSE(a.normAffine);
  EXPECT_DOUBLE_EQ(a.normEps, 1e-5);
}

TEST(NNUNetNetworkParse, WholeConfigurationAndOldPlansFormat)
{
  const Json configuration = { { "data_identifier", "nnUNetPlans_3d_fullres" },
                               { "architecture", PlainArchitecture3D() } };
  EXPECT_EQ(Parse(configuration).featuresPerStage, (std::vector<int64_t>{ 4, 8, 16, 16 }));
  // Older plans: ConfigurationManager's conversion (features min(base * 2^i, max), IN + LeakyReLU, bias).
  const Json old = Json::parse(R"({"UNet_class_name": "ResidualEncoderUNet", "UNet_base_num_features": 4,
    "unet_max_num_features": 12, "n_conv_per_stage_encoder": [1, 2, 2, 2], "n_conv_per_stage_decoder": [1, 1, 1],
    "pool_op_kernel_sizes": [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]], "num_pool_per_axis": [2, 3, 3],
    "conv_kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]], "patch_size": [16, 32, 32]})");
  const NNUNetArchitecture a = Parse(old);
  EXPECT_EQ(a.networkClass, medseg::NNUNetNetworkClass::ResidualEncoderUNet);
  EXPECT_EQ(a.networkClassName, "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet");
  EXPECT_EQ(a.featuresPerStage, (std::vector<int64_t>{ 4, 8, 12, 12 }));
  EXPECT_EQ(a.convsPerStage, (std::vector<int64_t>{ 1, 2, 2, 2 }));
  EXPECT_EQ(a.kernelSizes[0], (std::vector<int64_t>{ 1, 3, 3 }));
  EXPECT_EQ(a.norm, medseg::NNUNetNorm::InstanceNorm);
  EXPECT_TRUE(a.normAffine && a.convBias);
  EXPECT_EQ(a.nonlinearity, medseg::NNUNetNonlinearity::LeakyReLU);
  ExpectInputError([&] { Parse(Json{ { "UNet_class_name", "PlainConvUNet" } }); }, Plans,
                   "old-format plans configuration has no 'n_conv_per_stage_encoder'");
  ExpectInputError([&] { Parse(Json{ { "UNet_class_name", "MyUNet" } }); }, Plans,
                   "'UNet_class_name' = \"MyUNet\" is not supported (supported: PlainConvUNet, ResidualEncoderUNet)");
}

TEST(NNUNetNetworkParse, Refusals)
{
  Json unknown = PlainArchitecture3D();
  unknown["network_class_name"] = "dynamic_network_architectures.architectures.primus.Primus";
  ExpectRefused(unknown, "network class 'dynamic_network_architectures.architectures.primus.Primus' is not "
                         "supported (supported: dynamic_network_architectures.architectures.unet.PlainConvUNet, "
                         "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet)");
  unknown["network_class_name"] = "my_package.PlainConvUNet"; // a custom class of that name
  ExpectRefused(unknown, "network class 'my_package.PlainConvUNet' is not supported");
  ExpectRefused(With(PlainArchitecture3D(), "norm_op", "torch.nn.GroupNorm"), "'arch_kwargs.norm_op' = "
                                                                              "'torch.nn.GroupNorm' is not supported");
  ExpectRefused(With(PlainArchitecture3D(), "norm_op", "torch.nn.InstanceNorm2d"), "'arch_kwargs.norm_op'");
  ExpectRefused(With(PlainArchitecture3D(), "nonlin", "torch.nn.GELU"), "'arch_kwargs.nonlin' = 'torch.nn.GELU'");
  ExpectRefused(With(PlainArchitecture3D(), "nonlin_kwargs", Json{ { "alpha", 1 } }),
                "'arch_kwargs.nonlin_kwargs.alpha'");
  ExpectRefused(With(PlainArchitecture3D(), "norm_op_kwargs", Json{ { "eps", 1e-5 }, { "groups", 2 } }),
                "'arch_kwargs.norm_op_kwargs.groups'");
  ExpectRefused(With(PlainArchitecture3D(), "conv_op", "torch.nn.Conv1d"), "'arch_kwargs.conv_op'");
  ExpectRefused(With(PlainArchitecture3D(), "dropout_op", "torch.nn.AlphaDropout"), "'arch_kwargs.dropout_op'");
  ExpectRefused(With(PlainArchitecture3D(), "n_stages", 1), "'arch_kwargs.n_stages' must be an integer >= 2");
  ExpectRefused(With(PlainArchitecture3D(), "n_stages", 5), "'arch_kwargs.features_per_stage' has 4 entries, "
                                                            "expected 5");
  ExpectRefused(With(PlainArchitecture3D(), "n_conv_per_stage_decoder", Json::array({ 2, 2, 2, 2 })),
                "'arch_kwargs.n_conv_per_stage_decoder' has 4 entries, expected 3");
  ExpectRefused(With(PlainArchitecture3D(), "kernel_sizes", Json::array({ { 3, 3 }, { 3, 3 }, { 3, 3 }, { 3, 3 } })),
                "'arch_kwargs.kernel_sizes' has an entry [3,3] for 3 axes");
  ExpectRefused(With(PlainArchitecture3D(), "kernel_sizes", 2), "'arch_kwargs.kernel_sizes' has an even kernel size");
  ExpectRefused(With(PlainArchitecture3D(), "strides", 0), "'arch_kwargs.strides' must be an integer >= 1");
  ExpectRefused(With(PlainArchitecture3D(), "strides", nullptr, true), "'arch_kwargs.strides' is missing");
  ExpectRefused(With(PlainArchitecture3D(), "n_conv_per_stage", nullptr, true),
                "'arch_kwargs.n_conv_per_stage' is missing");
  ExpectRefused(With(PlainArchitecture3D(), "n_blocks_per_stage", 2),
                "'arch_kwargs.n_blocks_per_stage' is not a keyword argument of PlainConvUNet");
  ExpectRefused(With(PlainArchitecture3D(), "pool", "max"), "'arch_kwargs.pool' is not a keyword argument of "
                                                            "PlainConvUNet");
  ExpectRefused(With(ResEncArchitecture2D(), "nonlin_first", true), "'arch_kwargs.nonlin_first' is not a keyword");
  ExpectRefused(With(ResEncArchitecture2D(), "block", "dynamic_network_architectures.building_blocks.residual."
                                                      "BottleneckD"),
                "'arch_kwargs.block' = 'dynamic_network_architectures.building_blocks.residual.BottleneckD' is not "
                "supported");
  ExpectInputError([] { ParseNNUNetArchitecture("{\"network_class_name\": ", 1, 2, Plans); }, Plans,
                   "architecture is not valid JSON");
  ExpectInputError([] { ParseNNUNetArchitecture("{}", 1, 2, Plans); }, Plans, "no 'network_class_name'");
  ExpectInputError([] { ParseNNUNetArchitecture(PlainArchitecture3D().dump(), 0, 2, Plans); }, Plans,
                   "at least one input channel");
}

// --- (3) build, forward, strict loading (no upstream needed) ----------------------------------

TEST(NNUNetNetworkBuild, ForwardShapesAndKeys)
{
  const auto plain = BuildNNUNetNetwork(Parse(PlainArchitecture3D(), 2, 3));
  EXPECT_EQ(plain->GetSpatialDimension(), 3);
  EXPECT_EQ(plain->GetNumberOfInputChannels(), 2);
  EXPECT_EQ(plain->GetNumberOfOutputs(), 3);
  const at::Tensor y = plain->Forward(at::randn({ 2, 2, 8, 16, 24 }));
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{ 2, 3, 8, 16, 24 }));
  EXPECT_TRUE(y.isfinite().all().item<bool>());
  // 4 stages x 2 convs x (conv w, b, norm w, b) x 2 names, twice (decoder.encoder) + decoder.
  const auto layout = plain->GetStateDictLayout();
  EXPECT_EQ(layout.size(), 4u * 2 * 4 * 2 * 2 + 3 * 2 * 4 * 2 + 3 * 2 + 3 * 2);
  EXPECT_EQ(layout.front().key, "encoder.stages.0.0.convs.0.conv.weight");
  EXPECT_EQ(layout.front().shape, (std::vector<int64_t>{ 4, 2, 1, 3, 3 }));
  EXPECT_EQ(layout.back().key, "decoder.seg_layers.2.bias");
  size_t duplicates = 0;
  for (const auto & entry : layout)
    duplicates += entry.twin.empty() ? 0 : 1;
  EXPECT_EQ(duplicates, 32u + 64 + 24); // encoder all_modules.*, decoder.encoder.*, decoder all_modules.*

  const auto resenc = BuildNNUNetNetwork(Parse(ResEncArchitecture2D(), 1, 2));
  EXPECT_EQ(resenc->Forward(at::randn({ 1, 1, 32, 20 })).sizes(), (at::IntArrayRef{ 1, 2, 32, 20 }));
  bool stem = false, skip = false, count = false;
  for (const auto & e : resenc->GetStateDictLayout())
  {
    stem |= e.key == "encoder.stem.convs.0.all_modules.1.running_var";
    skip |= e.key == "encoder.stages.1.blocks.0.skip.1.conv.weight" && e.shape == std::vector<int64_t>{ 8, 4, 1, 1 };
    count |= e.key == "decoder.encoder.stages.2.blocks.1.conv2.norm.num_batches_tracked" && e.shape.empty();
  }
  EXPECT_TRUE(stem && skip && count);

  ExpectInputError([&] { plain->Forward(at::randn({ 1, 2, 8, 16, 20 })); }, Plans,
                   "is not a multiple of the network's [4, 8, 8]");
  ExpectInputError([&] { plain->Forward(at::randn({ 1, 1, 8, 16, 16 })); }, Plans,
                   "the network takes [N, 2, Z, Y, X] input, not [1, 1, 8, 16, 16]");
}

TEST(NNUNetNetworkLoad, RoundTripAndStrictRefusals)
{
  const NNUNetArchitecture a = Parse(ResEncArchitecture2D(), 1, 2);
  const auto               source = BuildNNUNetNetwork(a);
  const auto               target = BuildNNUNetNetwork(a);
  const at::Tensor         x = at::randn({ 2, 1, 16, 16 });
  const StateDict          weights = source->GetStateDict();
  // Clones, so that duplicates are separate tensors as in a file.
  StateDict file;
  for (const auto & [key, tensor] : weights)
    file.emplace_back(key, tensor.clone());
  ASSERT_FALSE(at::allclose(source->Forward(x), target->Forward(x)));
  const at::Tensor before = target->Forward(x);

  const auto refused = [&](StateDict broken, const std::string & problem) {
    ExpectInputError([&] { LoadNNUNetWeights(*target, broken, "model.pth"); }, "model.pth", problem);
    EXPECT_TRUE(at::equal(target->Forward(x), before)) << "a refused load changed the network";
  };
  StateDict missing = file;
  missing.erase(missing.begin() + 5);
  refused(missing, "missing key '" + file[5].first + "'");
  StateDict shape = file;
  shape[0].second = at::zeros({ 4, 1, 3, 5 });
  refused(shape, "'encoder.stem.convs.0.conv.weight' has shape [4, 1, 3, 5], the network expects [4, 1, 3, 3]");
  StateDict extra = file;
  extra.insert(extra.begin() + 3, { "decoder.seg_layers.7.weight", at::zeros({ 2, 4, 1, 1 }) });
  extra.emplace_back("module.encoder.stem.convs.0.conv.weight", at::zeros({ 1 }));
  refused(extra, "unexpected key 'decoder.seg_layers.7.weight'");
  StateDict twice = file;
  twice.push_back(file[0]);
  refused(twice, "key 'encoder.stem.convs.0.conv.weight' appears twice");
  StateDict twin = file;
  for (auto & [key, tensor] : twin)
    if (key == "decoder.encoder.stages.1.blocks.0.conv1.all_modules.0.weight")
      tensor = tensor + 1.0;
  refused(twin, "'decoder.encoder.stages.1.blocks.0.conv1.all_modules.0.weight' differs from "
                "'encoder.stages.1.blocks.0.conv1.conv.weight'");
  StateDict integer = file;
  integer[0].second = integer[0].second.to(at::kInt);
  refused(integer, "'encoder.stem.convs.0.conv.weight' has dtype Int, the network expects a floating-point tensor");

  // Double weights convert; the result matches the source network.
  StateDict converted = file;
  for (auto & [key, tensor] : converted)
    if (tensor.is_floating_point())
      tensor = tensor.to(at::kDouble);
  LoadNNUNetWeights(*target, converted, "model.pth");
  EXPECT_TRUE(at::allclose(target->Forward(x), source->Forward(x), 1e-5, 1e-6));
}

// --- (2) against upstream dynamic_network_architectures ---------------------------------------

/** The source tree (this file is Modules/Networks/test/...) and ../shared/reference beside it. */
std::filesystem::path
SourceRoot()
{
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
}

/** Extracts the upstream archive once, runs Testing/NNUNet/make_network_samples.py with it. */
class NNUNetNetworkUpstream : public ::testing::Test
{
protected:
  static void
  SetUpTestSuite()
  {
    const auto archive = SourceRoot().parent_path() / "shared" / "reference" / "nnunet-upstream.tar.gz";
    if (!std::filesystem::is_regular_file(archive))
    {
      s_Skip = "no upstream reference (" + archive.string() + ")";
      return;
    }
    s_Dir = std::make_unique<medseg::test::TemporaryDirectory>();
    const std::string reference = *s_Dir / "reference", samples = *s_Dir / "samples";
    std::filesystem::create_directories(reference);
    auto r = medseg::test::RunProcess("/bin/tar", { "-xzf", archive.string(), "-C", reference });
    if (r.exitCode != 0)
    {
      s_Failure = "tar: " + r.err;
      return;
    }
    medseg::test::ProcessOptions options;
    options.environment.push_back({ "PYTHONPATH", reference + ":" + reference + "/stubs" });
    r = medseg::test::RunProcess(
      "/usr/bin/python3", { (SourceRoot() / "Testing" / "NNUNet" / "make_network_samples.py").string(), samples },
      options);
    if (r.exitCode != 0)
      s_Failure = "make_network_samples.py: " + r.err;
  }
  static void
  TearDownTestSuite()
  {
    s_Dir.reset();
  }
  void
  SetUp() override
  {
    if (!s_Skip.empty())
      GTEST_SKIP() << s_Skip;
    ASSERT_TRUE(s_Failure.empty()) << s_Failure;
  }

  /** Builds the case's network from its plans JSON, checks its state_dict layout against
   * upstream's, loads upstream's weights and returns max|ours - upstream| / max|upstream|. */
  static double
  Compare(const std::string & name)
  {
    const std::string folder = *s_Dir / ("samples/" + name);
    const Json        meta = Json::parse(medseg::test::ReadText(folder + "/meta.json"));
    const std::string plans = folder + "/architecture.json";
    const auto        architecture = ParseNNUNetArchitecture(medseg::test::ReadText(plans),
                                                      meta["input_channels"].get<int64_t>(),
                                                      meta["output_channels"].get<int64_t>(), plans);
    const auto network = BuildNNUNetNetwork(architecture);
    const auto layout = network->GetStateDictLayout();
    const auto & upstream = meta["state_dict"];
    EXPECT_EQ(layout.size(), upstream.size());
    for (size_t i = 0; i < std::min(layout.size(), upstream.size()); ++i)
    {
      EXPECT_EQ(layout[i].key, upstream[i][0].get<std::string>()) << "entry " << i;
      EXPECT_EQ(layout[i].shape, upstream[i][1].get<std::vector<int64_t>>()) << layout[i].key;
      if (layout[i].key != upstream[i][0].get<std::string>())
        break;
    }
    std::ifstream     in(folder + "/sample.pt", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const c10::IValue sample = torch::pickle_load(bytes);
    const auto        dict = sample.toGenericDict();
    StateDict         weights;
    for (const auto & item : dict.at("state_dict").toGenericDict())
      weights.emplace_back(item.key().toStringRef(), item.value().toTensor());
    LoadNNUNetWeights(*network, weights, folder + "/sample.pt");
    const at::Tensor expected = dict.at("output").toTensor();
    const at::Tensor actual = network->Forward(dict.at("input").toTensor());
    EXPECT_EQ(actual.sizes(), expected.sizes());
    if (actual.sizes() != expected.sizes())
      return 1.0;
    const double scale = expected.abs().max().item<double>();
    EXPECT_GT(scale, 0.1) << "an output this small checks little";
    const double error = (actual - expected).abs().max().item<double>() / scale;
    std::ostringstream text;
    text << std::scientific << std::setprecision(2) << error << " of " << scale;
    RecordProperty("relative_max_abs_diff", text.str());
    // The comparison must see the encoder: noise on the first convolution (shared by all its names)
    // has to move the output well beyond the tolerance.
    at::Tensor first = network->GetStateDict().front().second;
    first.add_(at::randn_like(first) * first.std());
    const double perturbed = (network->Forward(dict.at("input").toTensor()) - expected).abs().max().item<double>();
    EXPECT_GT(perturbed / scale, 1e-2) << "the output hardly depends on the first convolution";
    return error;
  }

  static inline std::unique_ptr<medseg::test::TemporaryDirectory> s_Dir;
  static inline std::string                                       s_Skip;
  static inline std::string                                       s_Failure;
};

TEST_F(NNUNetNetworkUpstream, PlainConvUNet3DAnisotropic)
{
  EXPECT_LT(Compare("plain3d_aniso"), 1e-4);
}

TEST_F(NNUNetNetworkUpstream, PlainConvUNet2DBatchNorm)
{
  EXPECT_LT(Compare("plain2d_bn"), 1e-4);
}

TEST_F(NNUNetNetworkUpstream, PlainConvUNet3DDropoutNonlinFirstScalars)
{
  EXPECT_LT(Compare("plain3d_dropout"), 1e-4);
}

TEST_F(NNUNetNetworkUpstream, ResidualEncoderUNet3D)
{
  EXPECT_LT(Compare("resenc3d"), 1e-4);
}

TEST_F(NNUNetNetworkUpstream, ResidualEncoderUNet2DBatchNormStem)
{
  EXPECT_LT(Compare("resenc2d_bn"), 1e-4);
}

TEST_F(NNUNetNetworkUpstream, OldPlansFormat)
{
  EXPECT_LT(Compare("old_plain3d"), 1e-4);
  EXPECT_LT(Compare("old_resenc2d"), 1e-4);
}

} // namespace
