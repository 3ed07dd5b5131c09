// ReadMONAIBundle on bundles written here: what is parsed, and what is refused in one line.
#include "medsegError.h"
#include "medsegMONAIBundle.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

namespace
{

namespace fs = std::filesystem;
using json = nlohmann::json;
using medseg::MONAIBundle;
using medseg::MONAITransform;

/** A bundle folder in the Model Zoo's layout with a spleen-like inference config. */
class Bundle
{
public:
  Bundle()
    : m_Root(fs::temp_directory_path() / ("medseg-monai-bundle-" + std::to_string(std::random_device{}())))
  {
    fs::create_directories(m_Root / "configs");
    fs::create_directories(m_Root / "models");
    std::ofstream(m_Root / "models" / "model.ts") << "not read by ReadMONAIBundle";
    metadata = json::parse(R"js({
      "name": "Spleen-like fixture", "version": "0.1.0", "description": "test",
      "network_data_format": {
        "inputs": { "image": { "type": "image", "num_channels": 1, "spatial_shape": [32, 32, 32] } },
        "outputs": { "pred": { "type": "image", "num_channels": 2,
                               "channel_def": { "0": "background", "1": "spleen" } } } } })js");
    config = json::parse(R"js({
      "imports": ["$import glob"],
      "bundle_root": ".",
      "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
      "image_key": "image",
      "roi": [32, 32, 32],
      "preprocessing": { "_target_": "Compose", "transforms": [
        { "_target_": "LoadImaged", "keys": "@image_key" },
        { "_target_": "EnsureChannelFirstd", "keys": "image" },
        { "_target_": "Orientationd", "keys": "image", "axcodes": "RAS" },
        { "_target_": "Spacingd", "keys": "image", "pixdim": [1.5, 1.5, 2.0], "mode": "bilinear" },
        { "_target_": "ScaleIntensityRanged", "keys": "image", "a_min": -57, "a_max": 164, "b_min": 0.0,
          "b_max": 1.0, "clip": true },
        { "_target_": "CropForegroundd", "keys": "image", "source_key": "image", "margin": 2 },
        { "_target_": "EnsureTyped", "keys": "image" } ] },
      "inferer": { "_target_": "SlidingWindowInferer", "roi_size": "@roi", "sw_batch_size": 4, "overlap": 0.5,
                   "mode": "gaussian" },
      "postprocessing": { "_target_": "Compose", "transforms": [
        { "_target_": "Activationsd", "keys": "pred", "softmax": true },
        { "_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": "image",
          "nearest_interp": false, "to_tensor": true },
        { "_target_": "AsDiscreted", "keys": "pred", "argmax": true },
        { "_target_": "KeepLargestConnectedComponentd", "keys": "pred", "applied_labels": [1] },
        { "_target_": "SaveImaged", "keys": "pred", "output_dir": "$@bundle_root + '/eval'", "resample": false } ] }
    })js");
  }
  ~Bundle()
  {
    std::error_code ec;
    fs::remove_all(m_Root, ec);
  }

  MONAIBundle
  Read() const
  {
    std::ofstream(m_Root / "configs" / "metadata.json") << metadata.dump(2);
    std::ofstream(m_Root / "configs" / "inference.json") << config.dump(2);
    return medseg::ReadMONAIBundle(m_Root.string());
  }

  /** The one-line refusal Read() throws (fails the test when it reads the bundle). */
  std::string
  Refusal() const
  {
    try
    {
      Read();
    }
    catch (const medseg::InputError & e)
    {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      return what;
    }
    ADD_FAILURE() << "the bundle was accepted";
    return "";
  }

  json &
  Transform(const char * compose, size_t index)
  {
    return config[compose]["transforms"][index];
  }

  const fs::path &
  Root() const
  {
    return m_Root;
  }

  json metadata;
  json config;

private:
  fs::path m_Root;
};

bool
Contains(const std::string & text, const std::string & part)
{
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(MONAIBundle, ReadsMetadataTransformsAndInfererInTheConfigsOrder)
{
  Bundle           b;
  const MONAIBundle bundle = b.Read();
  EXPECT_TRUE(medseg::IsMONAIBundle(b.Root().string()));
  EXPECT_EQ(bundle.name, "Spleen-like fixture");
  EXPECT_EQ(bundle.inputChannels, 1);
  EXPECT_EQ(bundle.outputChannels, 2);
  EXPECT_EQ(bundle.channelDef.at(1), "spleen");
  using K = MONAITransform::Kind;
  std::vector<K> pre;
  for (const auto & t : bundle.preprocessing)
    pre.push_back(t.kind);
  EXPECT_EQ(pre, (std::vector<K>{ K::LoadImage, K::EnsureChannelFirst, K::Orientation, K::Spacing,
                                  K::ScaleIntensityRange, K::CropForeground, K::EnsureType }));
  EXPECT_EQ(bundle.preprocessing[2].axcodes, "RAS");
  EXPECT_EQ(bundle.preprocessing[3].pixdim, (std::vector<double>{ 1.5, 1.5, 2.0 }));
  EXPECT_EQ(bundle.preprocessing[3].paddingMode, "border");
  EXPECT_DOUBLE_EQ(bundle.preprocessing[4].aMin, -57.0);
  EXPECT_EQ(bundle.preprocessing[4].bMax, 1.0);
  EXPECT_TRUE(bundle.preprocessing[4].clip);
  EXPECT_EQ(bundle.preprocessing[5].margin, (std::array<int64_t, 3>{ { 2, 2, 2 } }));
  ASSERT_EQ(bundle.postprocessing.size(), 5u);
  EXPECT_TRUE(bundle.postprocessing[0].softmax);
  EXPECT_FALSE(bundle.postprocessing[1].nearestInterp);
  EXPECT_TRUE(bundle.postprocessing[2].argmax);
  EXPECT_EQ(bundle.postprocessing[3].appliedLabels, (std::vector<int64_t>{ 1 }));
  // The inferer through a reference; MONAI's window placement, logits blended.
  EXPECT_EQ(bundle.roiSize, (std::array<int64_t, 3>{ { 32, 32, 32 } }));
  EXPECT_EQ(bundle.window.batchSize, 4);
  EXPECT_DOUBLE_EQ(bundle.window.overlap, 0.5);
  EXPECT_EQ(bundle.window.blend, medseg::BlendMode::Gaussian);
  EXPECT_EQ(bundle.window.windowPositions, medseg::WindowPositions::MONAI);
  EXPECT_EQ(bundle.window.blended, medseg::BlendedScores::Logits);
}

TEST(MONAIBundle, RoiSizeIsReversedIntoMedSegsXYZ)
{
  Bundle b;
  b.config["roi"] = { 48, 40, 16 };
  const MONAIBundle bundle = b.Read();
  // MONAI's array axes I, J, K run as MedSeg's z, y, x.
  EXPECT_EQ(bundle.window.patchSize, (std::array<int64_t, 3>{ { 16, 40, 48 } }));
}

TEST(MONAIBundle, RefusesAnUnsupportedTransformNamingItAndWhereItIs)
{
  Bundle b;
  b.config["preprocessing"]["transforms"].push_back({ { "_target_", "RandGaussianNoised" }, { "keys", "image" } });
  const std::string why = b.Refusal();
  EXPECT_TRUE(Contains(why, "inference.json")) << why;
  EXPECT_TRUE(Contains(why, "preprocessing::transforms::7")) << why;
  EXPECT_TRUE(Contains(why, "'RandGaussianNoised' is not supported")) << why;
}

TEST(MONAIBundle, RefusesAMissingNetworkNamingModelTs)
{
  Bundle b;
  fs::remove(b.Root() / "models" / "model.ts");
  const std::string why = b.Refusal();
  EXPECT_TRUE(Contains(why, "model.ts")) << why;
  EXPECT_TRUE(Contains(why, "is missing")) << why;
}

TEST(MONAIBundle, RefusesPythonCodeWhereAValueIsNeededButNotElsewhere)
{
  Bundle b; // the config's `device` item is Python code, and nothing MedSeg needs refers to it
  EXPECT_NO_THROW(b.Read());
  b.Transform("preprocessing", 4)["a_min"] = "$np.float32(-57)";
  const std::string why = b.Refusal();
  EXPECT_TRUE(Contains(why, "Python code")) << why;
  EXPECT_TRUE(Contains(why, "np.float32")) << why;

  Bundle lambda;
  lambda.Transform("postprocessing", 0) = { { "_target_", "$lambda x: x" }, { "keys", "pred" } };
  EXPECT_TRUE(Contains(lambda.Refusal(), "Python code")) << lambda.Refusal();
}

TEST(MONAIBundle, RefusesArgumentsItDoesNotFollow)
{
  Bundle b;
  b.Transform("preprocessing", 3)["align_corners"] = true;
  EXPECT_TRUE(Contains(b.Refusal(), "align_corners")) << b.Refusal();
  Bundle unknown;
  unknown.Transform("preprocessing", 2)["spin"] = 1;
  EXPECT_TRUE(Contains(unknown.Refusal(), "spin is an argument MedSeg does not support")) << unknown.Refusal();
  Bundle slices;
  slices.config["inferer"] = { { "_target_", "SliceInferer" }, { "roi_size", { 64, 64 } } };
  EXPECT_TRUE(Contains(slices.Refusal(), "'SliceInferer' is not supported")) << slices.Refusal();
  Bundle simple; // the whole image at once
  simple.config["inferer"] = { { "_target_", "SimpleInferer" } };
  EXPECT_TRUE(simple.Read().wholeImage);
}

TEST(MONAIBundle, RefusesMetadataThatContradictThemselvesOrLackALabelMap)
{
  Bundle b;
  b.metadata["network_data_format"]["outputs"]["pred"]["channel_def"]["2"] = "liver";
  const std::string why = b.Refusal();
  EXPECT_TRUE(Contains(why, "metadata.json")) << why;
  EXPECT_TRUE(Contains(why, "channel_def names 3 classes")) << why;

  Bundle noArgmax;
  noArgmax.config["postprocessing"]["transforms"].erase(2);
  EXPECT_TRUE(Contains(noArgmax.Refusal(), "has no AsDiscreted")) << noArgmax.Refusal();
}

TEST(MONAIBundle, SkipsDisabledTransformsAndOtherKeysTransforms)
{
  Bundle b;
  b.Transform("preprocessing", 5)["_disabled_"] = true;
  b.config["preprocessing"]["transforms"].push_back(
    { { "_target_", "Orientationd" }, { "keys", "label" }, { "axcodes", "LPS" } });
  const MONAIBundle bundle = b.Read();
  EXPECT_EQ(bundle.preprocessing.size(), 6u); // the crop disabled, the label's transform not for the image
  for (const auto & t : bundle.preprocessing)
    EXPECT_NE(t.kind, MONAITransform::Kind::CropForeground);
}

TEST(MONAIBundle, ReadsYAMLConfigs)
{
  Bundle b;
  std::ofstream(b.Root() / "configs" / "metadata.json") << b.metadata.dump(2);
  std::ofstream(b.Root() / "configs" / "inference.yaml") << R"(
bundle_root: .
preprocessing:
  _target_: Compose
  transforms:
  - {_target_: LoadImaged, keys: image}
  - {_target_: EnsureChannelFirstd, keys: image}
  - {_target_: NormalizeIntensityd, keys: image, nonzero: yes, channel_wise: true}
inferer: {_target_: SlidingWindowInferer, roi_size: [16, 16, 16], sw_batch_size: 2, overlap: 0.25}
postprocessing:
  _target_: Compose
  transforms:
  - {_target_: AsDiscreted, keys: pred, argmax: true}
)";
  const MONAIBundle bundle = medseg::ReadMONAIBundle(b.Root().string());
  ASSERT_EQ(bundle.preprocessing.size(), 3u);
  EXPECT_TRUE(bundle.preprocessing[2].nonzero); // YAML 1.1: yes is true
  EXPECT_TRUE(bundle.preprocessing[2].channelWise);
  EXPECT_EQ(bundle.window.blend, medseg::BlendMode::Constant); // MONAI's default mode
  EXPECT_DOUBLE_EQ(bundle.window.overlap, 0.25);
}

TEST(MONAIBundle, ReadsTheModelZoosOtherSpellings)
{
  // As the Zoo's templates and prostate/whole-body bundles write them: transforms joined from
  // lists, boolean strings, no_channel, ScaleIntensityd, a replicate-padded inferer, AsDiscreted
  // and KeepLargestConnectedComponentd before Invertd.
  Bundle b;
  b.config["load"] = json::array({ b.Transform("preprocessing", 0),
                                   { { "_target_", "EnsureChannelFirstd" }, { "keys", "image" }, { "channel_dim", "no_channel" } } });
  b.config["intensity"] = json::array({ { { "_target_", "ScaleIntensityd" }, { "keys", "image" }, { "minv", -1.0 } },
                                        { { "_target_", "NormalizeIntensityd" }, { "keys", "image" }, { "nonzero", "True" } } });
  b.config["preprocessing"]["transforms"] = "$@load + @intensity";
  b.config["inferer"]["padding_mode"] = "replicate";
  auto & post = b.config["postprocessing"]["transforms"];
  post = json::array({ post[2], post[3], post[1], post[4] }); // AsDiscreted, KeepLargest..., Invertd, SaveImaged
  const MONAIBundle bundle = b.Read();
  using K = MONAITransform::Kind;
  ASSERT_EQ(bundle.preprocessing.size(), 4u);
  EXPECT_EQ(bundle.preprocessing[0].id, "load::0");
  EXPECT_EQ(bundle.preprocessing[1].kind, K::EnsureChannelFirst);
  EXPECT_EQ(bundle.preprocessing[2].kind, K::ScaleIntensity);
  EXPECT_EQ(bundle.preprocessing[2].bMin, -1.0);
  EXPECT_EQ(bundle.preprocessing[2].bMax, 1.0); // maxv's default
  EXPECT_EQ(bundle.preprocessing[3].id, "intensity::1");
  EXPECT_TRUE(bundle.preprocessing[3].nonzero) << "a non-empty string is true, as Python's `if nonzero:`";
  EXPECT_EQ(bundle.paddingMode, "replicate");
  EXPECT_EQ(bundle.postprocessing[0].kind, K::AsDiscrete);
  EXPECT_EQ(bundle.postprocessing[2].kind, K::Invert);

  Bundle code;
  code.config["preprocessing"]["transforms"] = "$[t for t in @load]";
  EXPECT_TRUE(Contains(code.Refusal(), "preprocessing::transforms: is Python code")) << code.Refusal();
  Bundle circular;
  circular.config["inferer"]["padding_mode"] = "circular";
  EXPECT_TRUE(Contains(circular.Refusal(), "padding_mode = \"circular\" is not supported")) << circular.Refusal();
}
