// `medseg train` end to end on a phantom, and the shipped demo model against its reported Dice.
#include "medsegImageFileIO.h"
#include "medsegModelPackage.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;

namespace
{
double
Dice(const FloatImage3 * a, const FloatImage3 * b)
{
  const size_t n = a->GetLargestPossibleRegion().GetNumberOfPixels();
  double       both = 0, total = 0;
  for (size_t i = 0; i < n; ++i)
  {
    const bool x = a->GetBufferPointer()[i] > 0.5f;
    const bool y = b->GetBufferPointer()[i] > 0.5f;
    both += (x && y) ? 1 : 0;
    total += (x ? 1 : 0) + (y ? 1 : 0);
  }
  return total == 0 ? 1.0 : 2.0 * both / total;
}

// Two noisy balls to train on and one to validate, written as NIfTI files with labels in LPS
// and RAS directions; then train, check the outputs, and segment the validation ball with the
// package and no other flags.
TEST(TrainCommand, TrainsAPhantomAndItsPackageSegments)
{
  test::TemporaryDirectory dir;
  test::Geometry           g;
  g.size = { 24, 24, 24 };
  g.spacing = { 1.5, 1.5, 1.5 };
  const std::array<std::array<double, 4>, 3> balls{ { { 11, 12, 10, 6 }, { 13, 10, 12, 4.5 }, { 12, 11, 12, 5.5 } } };
  std::string                                manifest = "image,label,split\n";
  for (size_t i = 0; i < balls.size(); ++i)
  {
    const auto & b = balls[i];
    const auto geometry = test::WithDirection(g, i == 1 ? "RAS" : "LPS");
    auto image = test::MakeImage(geometry, [&](long x, long y, long z) {
      const double d2 = (x - b[0]) * (x - b[0]) + (y - b[1]) * (y - b[1]) + (z - b[2]) * (z - b[2]);
      const double noise = std::sin(x * 12.9898 + y * 78.233 + z * 37.719) * 0.3;
      return static_cast<float>((d2 <= b[3] * b[3] ? 100.0 : 20.0) + 30.0 * noise);
    });
    auto label = test::MakeBallPhantom(geometry, { b[0], b[1], b[2] }, b[3], 1.0f, 0.0f);
    const std::string n = std::to_string(i);
    WriteImageFile(image.GetPointer(), dir / ("image" + n + ".nii.gz"));
    WriteImageFile(label.GetPointer(), dir / ("label" + n + ".nii.gz"));
    manifest += "image" + n + ".nii.gz,label" + n + ".nii.gz," + (i == 2 ? "validation" : "train") + "\n";
  }
  test::WriteText(dir / "cases.csv", manifest);
  test::WriteText(dir / "config.json", R"({
    "name": "ball", "architecture": {"plugin": "unet", "hyper_parameters": {"features": [4, 8]}},
    "input": {"channels": [{"name": "image", "normalization": "zscore"}], "orientation": "RAS", "spacing": [1.5, 1.5, 1.5]},
    "labels": [{"value": 0, "name": "background"}, {"value": 1, "name": "ball"}],
    "patch_size": [16, 16, 16], "batch_size": 2,
    "optimizer": {"type": "adam", "learning_rate": 0.01, "weight_decay": 0},
    "training": {"steps": 60, "validation_every": 20, "log_every": 10, "threads": 1}
  })");
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "train", "--config", dir / "config.json", "--manifest", dir / "cases.csv",
                                                 "--output", dir / "ball.medseg", "--quiet" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("best mean validation Dice"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::is_regular_file(dir / "ball.work/log.csv"));
  EXPECT_TRUE(fs::is_regular_file(dir / "ball.work/curves.png"));
  EXPECT_TRUE(fs::is_regular_file(dir / "ball.work/checkpoints/last.optimizer.pt"));
  EXPECT_FALSE(fs::is_empty(dir / "ball.work/cache"));
  const ModelPackage p = ModelPackage::Load(dir / "ball.medseg");
  EXPECT_GT(p.training["validation_mean_dice"].get<double>(), 0.8);

  const auto s = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", dir / "ball.medseg", "--input",
                                                 dir / "image2.nii.gz", "--output", dir / "seg.nii.gz", "--quiet" });
  ASSERT_EQ(s.exitCode, 0) << s.err;
  const auto seg = ReadScalarImage(dir / "seg.nii.gz");
  EXPECT_GT(Dice(seg, ReadScalarImage(dir / "label2.nii.gz")), 0.8);

  // An existing output is refused, a bad config names its field.
  const auto again = RunProcess(MEDSEG_EXECUTABLE, { "train", "--config", dir / "config.json", "--manifest",
                                                     dir / "cases.csv", "--output", dir / "ball.medseg" });
  EXPECT_EQ(again.exitCode, 1);
  test::WriteText(dir / "bad.json", R"({"architecture": {"plugin": "unet"}, "labels": [{"value": 0, "name": "b"},
    {"value": 1, "name": "x"}], "optimizer": {"type": "lion"}})");
  const auto bad = RunProcess(MEDSEG_EXECUTABLE, { "train", "--config", dir / "bad.json", "--manifest",
                                                   dir / "cases.csv", "--output", dir / "bad.medseg" });
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(bad.err.find("optimizer.type"), std::string::npos) << bad.err;
}

const std::string kDemoPackage = std::string(MEDSEG_SOURCE_DIR) + "/Data/models/brain-extraction.medseg";

/** The shipped package on `input` (no flags but `extra`) against `reference` > 0; NaN (and a
 * failure) when the segmentation fails. */
double
DemoModelDice(const std::string & input, const std::string & reference, const std::vector<std::string> & extra = {})
{
  test::TemporaryDirectory dir;
  std::vector<std::string> arguments{ "segment", "--model", kDemoPackage, "--input", input, "--output",
                                      dir / "brain.nii.gz", "--quiet" };
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  const auto r = RunProcess(MEDSEG_EXECUTABLE, arguments);
  if (r.exitCode != 0)
  {
    ADD_FAILURE() << "medseg segment failed on " << input << ": " << r.err;
    return std::nan("");
  }
  const auto prediction = ReadScalarImage(dir / "brain.nii.gz");
  auto       mask = ReadScalarImage(reference);
  for (size_t i = 0; i < mask->GetLargestPossibleRegion().GetNumberOfPixels(); ++i)
    mask->GetBufferPointer()[i] = mask->GetBufferPointer()[i] > 0.0f ? 1.0f : 0.0f;
  return Dice(prediction, mask);
}

/** What the package's model.json reports under training.evaluation.KEY. */
double
ReportedDice(const std::string & key)
{
  const ModelPackage p = ModelPackage::Load(kDemoPackage);
  return p.training.contains("evaluation") ? p.training["evaluation"].value(key, 0.0) : 0.0;
}

// The shipped brain-extraction package reproduces the Dice on ch2 that its model.json reports.
TEST(DemoModel, ReproducesReportedCh2Dice)
{
  const std::string templates = MEDSEG_MRICRON_DIR;
  ASSERT_TRUE(fs::exists(kDemoPackage)) << "the shipped package is missing: " << kDemoPackage;
  if (!fs::exists(templates + "/ch2.nii.gz"))
    GTEST_SKIP() << "needs Debian's mricron-data (Utilities/setup.sh installs it)";
  const double dice = DemoModelDice(templates + "/ch2.nii.gz", templates + "/ch2bet.nii.gz");
  EXPECT_NEAR(dice, ReportedDice("ch2_dice"), 0.005) << "model.json's training.evaluation.ch2_dice";
  EXPECT_GE(dice, 0.95);
}

// Another person's T1 (Debian's ITK examples: 2 x 2 x 3 mm, stored LSA, background exactly zero),
// never trained on: the reference is the skull-stripped copy shipped beside it (> 0).
TEST(DemoModel, SegmentsAnUnseenSubjectsT1)
{
  const std::string examples = MEDSEG_ITK_EXAMPLES_DIR;
  if (!fs::exists(examples + "/KmeansTest_T1UCharRaw.nii.gz"))
    GTEST_SKIP() << "needs Debian's insighttoolkit5-examples (Utilities/setup.sh installs it)";
  const double dice =
    DemoModelDice(examples + "/KmeansTest_T1UCharRaw.nii.gz", examples + "/KmeansTest_T1RawSkullStrip.nii.gz");
  EXPECT_GE(dice, 0.90) << "issue 16's target on an unseen subject";
  EXPECT_NEAR(dice, ReportedDice("unseen_t1_dice"), 0.005) << "model.json's training.evaluation.unseen_t1_dice";
  // Without the crop to the nonzero box (most of this scan is exact zeros) the model does not
  // depend on the crop here (the model before issue 16 labelled 9.3 L, Dice 0.26; demo model 2.0
  // gave 0.89): trained with patches beyond the case and corner cuts of the field of view.
  const double uncropped = DemoModelDice(examples + "/KmeansTest_T1UCharRaw.nii.gz",
                                         examples + "/KmeansTest_T1RawSkullStrip.nii.gz", { "--no-crop-to-nonzero" });
  EXPECT_GE(uncropped, 0.90) << "issue 16's unseen-subject target, without inference.crop_to_nonzero";
  EXPECT_NEAR(uncropped, ReportedDice("unseen_t1_dice_without_crop"), 0.005)
    << "model.json's training.evaluation.unseen_t1_dice_without_crop";
}

} // namespace
