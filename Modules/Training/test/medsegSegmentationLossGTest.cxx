#include "medsegError.h"
#include "medsegSegmentationLoss.h"
#include "medsegTrainingConfig.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>

namespace
{
using namespace medseg;

TEST(SegmentationLoss, PerfectPredictionHasNoLoss)
{
  const at::Tensor target = at::tensor({ 0, 1, 1, 0, 1, 0, 0, 1 }, at::kLong).reshape({ 1, 2, 2, 2 });
  const at::Tensor logits = (at::one_hot(target, 2).permute({ 0, 4, 1, 2, 3 }).to(at::kFloat) * 2 - 1) * 30;
  EXPECT_LT(SoftDiceLoss(logits, target).item<double>(), 1e-5);
  EXPECT_LT(DiceCrossEntropyLoss(logits, target).item<double>(), 1e-5);
}

TEST(SegmentationLoss, UniformLogitsGiveKnownValues)
{
  // Half the 8 voxels are foreground; p = 0.5 everywhere: CE = ln 2; Dice_1 = 2*0.5*4 / (4 + 4) = 0.5.
  const at::Tensor target = at::tensor({ 0, 1, 1, 0, 1, 0, 0, 1 }, at::kLong).reshape({ 1, 2, 2, 2 });
  const at::Tensor logits = at::zeros({ 1, 2, 2, 2, 2 });
  EXPECT_NEAR(SoftDiceLoss(logits, target).item<double>(), 0.5, 1e-6);
  // With background: Dice_0 = 0.5 too.
  EXPECT_NEAR(SoftDiceLoss(logits, target, true).item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(DiceCrossEntropyLoss(logits, target, 0.0, 1.0).item<double>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(DiceCrossEntropyLoss(logits, target, 2.0, 0.5).item<double>(), 2.0 * 0.5 + 0.5 * std::log(2.0), 1e-5);
}

TEST(SegmentationLoss, DiceOfAKnownOverlapAnd2D)
{
  // Foreground probability 0.8 on 2 of the 4 foreground pixels, 0.2 elsewhere (2D, 3 x 3 x... [1, 2, 2, 4]).
  const at::Tensor target = at::tensor({ 1, 1, 1, 1, 0, 0, 0, 0 }, at::kLong).reshape({ 1, 2, 4 });
  const at::Tensor p1 = at::tensor({ 0.8f, 0.8f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f }).reshape({ 1, 2, 4 });
  const at::Tensor logits = at::stack({ at::zeros_like(p1), (p1 / (1 - p1)).log() }, 1);
  // I = 0.8 + 0.8 + 0.2 + 0.2 = 2.0; sum p = 2.8; |G| = 4: Dice = 4 / 6.8.
  EXPECT_NEAR(SoftDiceLoss(logits, target).item<double>(), 1.0 - 4.0 / 6.8, 1e-5);
}

TEST(SegmentationLoss, HardDice)
{
  const at::Tensor a = at::tensor({ 0, 1, 1, 2, 2, 0 }, at::kLong);
  const at::Tensor b = at::tensor({ 0, 1, 0, 2, 0, 0 }, at::kLong);
  const auto       d = HardDice(a, b, 4);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NEAR(d[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(d[1], 2.0 / 3.0, 1e-12);
  EXPECT_EQ(d[2], 1.0); // in neither
}

TEST(TrainingConfig, ParsesFillsInAndRefuses)
{
  const nlohmann::json j = nlohmann::json::parse(R"({
    "architecture": {"plugin": "unet", "hyper_parameters": {"features": [4, 8]}},
    "input": {"spacing": [2, 2, 2], "orientation": "RAS"},
    "labels": [{"value": 0, "name": "background"}, {"value": 3, "name": "organ"}],
    "patch_size": [16, 16, 8],
    "optimizer": {"type": "sgd", "learning_rate": 0.01},
    "schedule": {"type": "cosine", "min_learning_rate": 0.001},
    "training": {"steps": 11}
  })");
  const TrainingConfig c = TrainingConfig::FromJson(j, "config.json");
  EXPECT_EQ(c.hyperParameters["out_channels"], 2);
  EXPECT_EQ(c.hyperParameters["spatial_dims"], 3);
  EXPECT_EQ(c.window.patchSize[2], 8);
  EXPECT_NEAR(c.LearningRateAt(1), 0.01, 1e-12);
  // t = (s - 1) / S: step 11 of 11 is at t = 10/11, step 6 at 5/11.
  EXPECT_NEAR(c.LearningRateAt(11), 0.001 + 0.5 * 0.009 * (1 + std::cos(M_PI * 10.0 / 11.0)), 1e-12);
  EXPECT_NEAR(c.LearningRateAt(6), 0.001 + 0.5 * 0.009 * (1 + std::cos(M_PI * 5.0 / 11.0)), 1e-12);
  EXPECT_LT(c.LearningRateAt(11), 0.0012);
  EXPECT_FALSE(c.cropToNonzero); // training normalizes whole images: the package crops only when asked
  // Round trip through ToJson.
  EXPECT_EQ(TrainingConfig::FromJson(c.ToJson(), "again").ToJson(), c.ToJson());
  nlohmann::json cropping = j;
  cropping["inference"] = { { "crop_to_nonzero", true } };
  EXPECT_TRUE(TrainingConfig::FromJson(cropping, "c").cropToNonzero);
  EXPECT_TRUE(TrainingConfig::FromJson(TrainingConfig::FromJson(cropping, "c").ToJson(), "again").cropToNonzero);
  // What the package says at inference beyond the window: TTA and post-processing.
  nlohmann::json shipping = j;
  shipping["inference"] = { { "mirror_axes", { 0 } }, { "tta", true }, { "postprocess", "largest-component;fill-holes" } };
  const TrainingConfig s = TrainingConfig::FromJson(TrainingConfig::FromJson(shipping, "c").ToJson(), "again");
  EXPECT_TRUE(s.tta);
  EXPECT_EQ(s.postprocess, "largest-component;fill-holes");
  EXPECT_FALSE(c.tta);
  EXPECT_EQ(c.postprocess, "");

  nlohmann::json bad = j;
  bad["optimizer"]["typo"] = 1;
  EXPECT_THROW(TrainingConfig::FromJson(bad, "c"), InputError);
  bad = j;
  bad["architecture"]["hyper_parameters"]["out_channels"] = 3;
  EXPECT_THROW(TrainingConfig::FromJson(bad, "c"), InputError);
  bad = j;
  bad["augmentation"] = { { "rotation", { { "degrees", { 10, 10 } } } } };
  EXPECT_THROW(TrainingConfig::FromJson(bad, "c"), InputError);
  bad = j;
  bad["inference"] = { { "crop_to_nonzero", "yes" } };
  EXPECT_THROW(TrainingConfig::FromJson(bad, "c"), InputError);
  bad["inference"] = { { "tta", true } }; // no mirror axis to flip
  EXPECT_THROW(TrainingConfig::FromJson(bad, "c"), InputError);
  bad["inference"] = { { "postprocess", "largest-component;no-such-step" } };
  try
  {
    TrainingConfig::FromJson(bad, "c");
    ADD_FAILURE() << "a malformed post-processing spec was accepted";
  }
  catch (const InputError & e)
  {
    EXPECT_NE(std::string(e.what()).find("inference.postprocess"), std::string::npos) << e.what();
  }
}

TEST(TrainingManifest, CsvAndJson)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "m.csv", "image,label,split,label_threshold\na.nii.gz,b.nii.gz,,\n\"c d.nii.gz\",e.nii.gz,val,0.5\n");
  const auto csv = ReadTrainingManifest(dir / "m.csv");
  ASSERT_EQ(csv.size(), 2u);
  EXPECT_EQ(csv[0].image, dir / "a.nii.gz");
  EXPECT_EQ(csv[0].split, "train");
  EXPECT_FALSE(csv[0].labelThreshold);
  EXPECT_EQ(csv[1].image, dir / "c d.nii.gz");
  EXPECT_EQ(csv[1].split, "validation");
  EXPECT_DOUBLE_EQ(*csv[1].labelThreshold, 0.5);
  test::WriteText(dir / "m.json", R"({"cases": [{"image": "/x/i.nii", "label": "l.nii", "split": "test"}]})");
  const auto js = ReadTrainingManifest(dir / "m.json");
  ASSERT_EQ(js.size(), 1u);
  EXPECT_EQ(js[0].image, "/x/i.nii");
  EXPECT_EQ(js[0].split, "test");
  test::WriteText(dir / "bad.csv", "image,mask\na,b\n");
  EXPECT_THROW(ReadTrainingManifest(dir / "bad.csv"), InputError);
}

} // namespace
