#include "medsegError.h"
#include "medsegModelPackage.h"
#include "medsegTestHelpers.h"
#include "medsegTrainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace
{
using namespace medseg;

/** A noisy ball (label 1) in a 24^3 volume, centre and radius in voxels. */
PreprocessedCase
Ball(const std::string & id, std::array<double, 3> centre, double radius, uint64_t seed)
{
  const at::Tensor z = at::arange(24, at::kFloat).reshape({ 24, 1, 1 }) - centre[2];
  const at::Tensor y = at::arange(24, at::kFloat).reshape({ 1, 24, 1 }) - centre[1];
  const at::Tensor x = at::arange(24, at::kFloat).reshape({ 1, 1, 24 }) - centre[0];
  const at::Tensor inside = (x * x + y * y + z * z) <= radius * radius;
  at::Generator    g = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor image = inside.to(at::kFloat) * 2.0 - 1.0 + 0.3 * at::randn({ 24, 24, 24 }, g, at::kFloat);
  return MakePreprocessedCase(id, image, inside.to(at::kLong), { { 1, 1, 1 } }, 2);
}

TrainingConfig
TinyConfig(int64_t steps, int64_t validationEvery)
{
  nlohmann::json j = nlohmann::json::parse(R"({
    "name": "ball", "architecture": {"plugin": "unet", "hyper_parameters": {"features": [4, 8], "norm": "instance"}},
    "input": {"channels": [{"name": "image", "normalization": "none"}]},
    "labels": [{"value": 0, "name": "background"}, {"value": 1, "name": "ball"}],
    "patch_size": [16, 16, 16], "batch_size": 2,
    "optimizer": {"type": "adam", "learning_rate": 0.01, "weight_decay": 0},
    "augmentation": {"rotation": {"probability": 0.3}, "scale": {"probability": 0.3}},
    "training": {"log_every": 5, "threads": 1}
  })");
  j["training"]["steps"] = steps;
  j["training"]["validation_every"] = validationEvery;
  return TrainingConfig::FromJson(j, "tiny");
}

std::vector<PreprocessedCase>
TrainingBalls()
{
  return { Ball("a", { { 11, 12, 10 } }, 6.0, 1), Ball("b", { { 13, 10, 12 } }, 4.5, 2) };
}

// The CI smoke test: loss falls and validation Dice rises above 0.8 within a few seconds.
TEST(Trainer, SmokeLossFallsAndDiceRises)
{
  test::TemporaryDirectory dir;
  TrainingOptions          o;
  o.workDirectory = dir / "work";
  o.outputPackage = dir / "ball.medseg";
  o.commandLine = "test";
  o.log = [](const std::string &) {};
  Trainer trainer(TinyConfig(80, 20), o);
  trainer.SetCases(TrainingBalls(), { Ball("v", { { 12, 11, 12 } }, 5.5, 3) });
  const TrainingResult r = trainer.Run();
  ASSERT_TRUE(r.finished);
  ASSERT_GE(r.history.size(), 4u);
  const double firstLoss = r.history.front().loss;
  const double lastLoss = r.history.back().loss;
  EXPECT_LT(lastLoss, 0.6 * firstLoss) << firstLoss << " -> " << lastLoss;
  EXPECT_GT(r.bestDice, 0.8);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "work/log.csv"));
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "work/curves.png"));
  const ModelPackage p = ModelPackage::Load(dir / "ball.medseg");
  EXPECT_EQ(p.plugin, "unet");
  EXPECT_EQ(p.labels.size(), 2u);
  EXPECT_EQ(p.window.patchSize[0], 16);
  EXPECT_FALSE(p.cropToNonzero); // the config's inference.crop_to_nonzero, off unless it says so
  EXPECT_FALSE(p.tta);
  EXPECT_EQ(p.postprocess, "");
  EXPECT_NEAR(p.training["validation_dice"]["ball"].get<double>(), r.bestDicePerLabel[0], 1e-12);
}

// Stopping after N steps and resuming gives exactly the weights of an uninterrupted N + M run.
TEST(Trainer, ResumeContinuesExactly)
{
  test::TemporaryDirectory dir;
  auto options = [&](const std::string & name) {
    TrainingOptions o;
    o.workDirectory = dir / name;
    o.log = [](const std::string &) {};
    o.progressLine = false;
    return o;
  };
  Trainer whole(TinyConfig(6, 3), options("whole"));
  whole.SetCases(TrainingBalls(), {});
  whole.Run();

  TrainingOptions first = options("parts");
  first.stopAtStep = 4;
  Trainer part1(TinyConfig(6, 3), first);
  part1.SetCases(TrainingBalls(), {});
  const auto r1 = part1.Run();
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(r1.lastStep, 4);

  // A work folder an older MedSeg wrote has no augmentation.synthesis: it still resumes, exactly.
  {
    const std::filesystem::path statePath = dir / "parts/checkpoints/last.json";
    std::ifstream               in(statePath);
    auto                        state = nlohmann::json::parse(in);
    in.close();
    ASSERT_TRUE(state["config"]["augmentation"].contains("synthesis"));
    state["config"]["augmentation"].erase("synthesis");
    std::ofstream(statePath) << state.dump();
  }
  TrainingOptions second = options("parts");
  second.resume = true;
  Trainer part2(TinyConfig(6, 3), second);
  part2.SetCases(TrainingBalls(), {});
  const auto r2 = part2.Run();
  EXPECT_TRUE(r2.finished);
  EXPECT_EQ(r2.lastStep, 6);

  const auto a = whole.GetState();
  const auto b = part2.GetState();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(at::allclose(a[i], b[i], 1e-6, 1e-7)) << "tensor " << i;

  // A different configuration is refused.
  TrainingOptions third = options("parts");
  third.resume = true;
  TrainingConfig changed = TinyConfig(6, 3);
  changed.learningRate = 0.5;
  Trainer refused(changed, third);
  refused.SetCases(TrainingBalls(), {});
  EXPECT_THROW(refused.Run(), InputError);

  // Turning synthesis on is a different configuration.
  TrainingConfig synthesizing = TinyConfig(6, 3);
  synthesizing.augmentation.synthesisProbability = 0.5;
  Trainer refusedToo(synthesizing, third);
  refusedToo.SetCases(TrainingBalls(), {});
  EXPECT_THROW(refusedToo.Run(), InputError);
}

} // namespace
