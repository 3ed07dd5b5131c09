#include "medsegFixtureModels.h"
#include "medsegSlidingWindowInferer.h"
#include "medsegTorchScriptModel.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace medseg;

namespace
{
std::shared_ptr<SegmentationModel>
Wrap(torch::jit::Module module, bool optimize = true)
{
  TorchScriptModelOptions options;
  options.device = "cpu";
  options.optimize = optimize;
  return std::make_shared<TorchScriptModel>(std::move(module), "fixture", options);
}

/** A test model on the CPU: subclasses give Forward only. */
class CpuTestModel : public SegmentationModel
{
public:
  c10::Device
  GetDevice() const override
  {
    return c10::kCPU;
  }
  std::string
  GetDescription() const override
  {
    return "test model";
  }
};

/** Counts model calls and the batch sizes it saw. */
class CountingModel : public CpuTestModel
{
public:
  at::Tensor
  Forward(const at::Tensor & batch) override
  {
    ++calls;
    batchSizes.push_back(batch.size(0));
    return at::cat({ at::zeros_like(batch), batch }, 1);
  }
  int                  calls{ 0 };
  std::vector<int64_t> batchSizes;
};

/** Its logits depend on the whole batch (through the batch mean), as a network's floating-point
 * results may depend on the batch size: only identical batches give identical results. */
class BatchMixingModel : public CpuTestModel
{
public:
  at::Tensor
  Forward(const at::Tensor & batch) override
  {
    const at::Tensor x = batch.sum(1, true);
    return at::cat({ at::zeros_like(x), x + 0.3 * batch.mean() }, 1);
  }
};

/** RunRegion over `region`, assembled into [K, region Z, Y, X]. */
at::Tensor
RunOnRegion(const SlidingWindowInferer & inferer, const at::Tensor & image, const VoxelBox & region,
            SegmentationModel & model, std::vector<int64_t> * order = nullptr)
{
  using at::indexing::Slice;
  const std::array<int64_t, 3> size{ { image.size(1), image.size(2), image.size(3) } };
  const VoxelBox               box = inferer.InputBoxFor(size, region);
  const at::Tensor             input = image.index(
    { Slice(), Slice(box.start[0], box.End(0)), Slice(box.start[1], box.End(1)), Slice(box.start[2], box.End(2)) });
  std::vector<at::Tensor> slices;
  inferer.RunRegion(input, box, size, region, model, [&](int64_t z, const at::Tensor & slice) {
    if (order)
      order->push_back(z);
    slices.push_back(slice.clone());
  });
  return at::stack(slices, 1);
}
} // namespace

TEST(SlidingWindow, RegionsAreBitIdenticalToTheWholeVolume)
{
  BatchMixingModel      model;
  SlidingWindowSettings settings;
  settings.patchSize = { { 6, 4, 5 } }; // x, y, z
  settings.overlap = 0.5;
  settings.batchSize = 3;
  const SlidingWindowInferer inferer(settings);
  for (const auto & shape : { std::array<int64_t, 3>{ { 23, 9, 11 } }, std::array<int64_t, 3>{ { 3, 2, 4 } } })
  {
    const at::Tensor image = at::randn({ 1, shape[0], shape[1], shape[2] });
    const at::Tensor whole = inferer.Run(image, model);
    for (const int64_t divisions : std::vector<int64_t>{ 1, 2, 3, 7, shape[0] })
    {
      std::vector<at::Tensor> parts;
      for (int64_t i = 0; i < divisions; ++i)
      {
        const int64_t z0 = shape[0] * i / divisions, z1 = shape[0] * (i + 1) / divisions;
        if (z1 > z0)
        {
          VoxelBox region;
          region.start = { { z0, 0, 0 } };
          region.size = { { z1 - z0, shape[1], shape[2] } };
          parts.push_back(RunOnRegion(inferer, image, region, model));
        }
      }
      EXPECT_TRUE(at::equal(at::cat(parts, 1), whole)) << shape[0] << " slices in " << divisions << " divisions";
    }
    // An interior box too, and the input it needs is smaller than the image.
    VoxelBox region;
    region.start = { { shape[0] / 3, shape[1] / 3, shape[2] / 2 } };
    region.size = { { std::max<int64_t>(1, shape[0] / 3), std::max<int64_t>(1, shape[1] / 2), 1 } };
    const at::Tensor part = RunOnRegion(inferer, image, region, model);
    using at::indexing::Slice;
    EXPECT_TRUE(at::equal(part, whole.index({ Slice(), Slice(region.start[0], region.End(0)),
                                              Slice(region.start[1], region.End(1)),
                                              Slice(region.start[2], region.End(2)) })));
  }
  // The batches a region needs are whole batches of the volume-wide patch list.
  const std::array<int64_t, 3> size{ { 40, 4, 5 } };
  VoxelBox                     top;
  top.size = { { 1, 4, 5 } };
  EXPECT_EQ(inferer.InputBoxFor(size, top).size[0], 4 + 5); // batch of 3 patches: z starts 0, 2, 4
}

TEST(SlidingWindow, FinalizesEverySliceAsSoonAsNoLaterPatchTouchesIt)
{
  CountingModel         model;
  SlidingWindowSettings settings;
  settings.patchSize = { { 4, 4, 8 } }; // z patch 8, step 4
  settings.overlap = 0.5;
  settings.batchSize = 1;
  const int64_t              Z = 40;
  const SlidingWindowInferer inferer(settings);
  const at::Tensor           image = at::randn({ 1, Z, 8, 4 });
  const auto                 zStarts = ComputeWindowPositions(Z, 8, 0.5);
  const size_t               perRow = ComputeWindowPositions(8, 4, 0.5).size(); // y positions, x has 1
  std::vector<int64_t>       delivered;
  size_t                     batch = 0;
  VoxelBox                   whole;
  whole.size = { { Z, 8, 4 } };
  inferer.RunRegion(
    image, whole, whole.size, whole, model, [&](int64_t z, const at::Tensor &) { delivered.push_back(z); },
    [&](double) {
      ++batch;
      const int64_t next = batch / perRow < zStarts.size() ? zStarts[batch / perRow] : Z;
      // Everything below the next patch's first slice has been handed over, nothing more.
      EXPECT_EQ(static_cast<int64_t>(delivered.size()), next) << "after batch " << batch;
    });
  ASSERT_EQ(static_cast<int64_t>(delivered.size()), Z);
  for (int64_t z = 0; z < Z; ++z)
  {
    EXPECT_EQ(delivered[static_cast<size_t>(z)], z);
  }
  EXPECT_EQ(inferer.OpenSlicesFor(whole.size, whole), 8); // one patch depth of open slices, not the volume
}

TEST(SlidingWindow, HoldsAtMostAPatchAndAStepOfSlicesWhateverTheDepth)
{
  SlidingWindowSettings settings;
  settings.patchSize = { { 96, 96, 96 } };
  settings.overlap = 0.5;
  VoxelBox colin;
  colin.size = { { 181, 217, 181 } };
  settings.batchSize = 1;
  EXPECT_EQ(SlidingWindowInferer(settings).OpenSlicesFor(colin.size, colin), 96);
  VoxelBox deep;
  deep.size = { { 1000, 217, 181 } };
  EXPECT_EQ(SlidingWindowInferer(settings).OpenSlicesFor(deep.size, deep), 96);
  // Two patches per batch: a batch may straddle two rows of patches (4 x 3 = 12 per row is even
  // here, so take 3 x 3 = 9 per row).
  settings.batchSize = 2;
  VoxelBox odd;
  odd.size = { { 1000, 150, 150 } };
  const int64_t straddling = SlidingWindowInferer(settings).OpenSlicesFor(odd.size, odd);
  EXPECT_GT(straddling, 96);
  EXPECT_LE(straddling, 96 + 48);
  // A region never holds more slices than it has.
  VoxelBox thin = deep;
  thin.start[0] = 300;
  thin.size[0] = 20;
  EXPECT_EQ(SlidingWindowInferer(settings).OpenSlicesFor(deep.size, thin), 20);
}

TEST(SlidingWindow, PositionsStartAtZeroEndFlushAndCoverEveryVoxel)
{
  for (int64_t size : { 1, 7, 32, 33, 95, 96, 97, 181, 217 })
  {
    for (int64_t patch : { 1, 16, 32, 96 })
    {
      if (patch > size)
        continue;
      for (double overlap : { 0.0, 0.25, 0.5, 0.75 })
      {
        const auto p = ComputeWindowPositions(size, patch, overlap);
        ASSERT_FALSE(p.empty());
        EXPECT_EQ(p.front(), 0);
        EXPECT_EQ(p.back(), size - patch);
        std::vector<int> covered(static_cast<size_t>(size), 0);
        for (size_t i = 0; i < p.size(); ++i)
        {
          if (i > 0)
          {
            EXPECT_GT(p[i], p[i - 1]);
            EXPECT_LE(p[i] - p[i - 1], std::max<int64_t>(1, static_cast<int64_t>(std::floor(patch * (1 - overlap)))));
          }
          for (int64_t v = p[i]; v < p[i] + patch; ++v)
            covered[static_cast<size_t>(v)] = 1;
        }
        for (int64_t v = 0; v < size; ++v)
          ASSERT_EQ(covered[static_cast<size_t>(v)], 1) << "size " << size << " patch " << patch << " voxel " << v;
      }
    }
  }
  EXPECT_EQ(ComputeWindowPositions(181, 96, 0.5), (std::vector<int64_t>{ 0, 43, 85 }));
}

TEST(SlidingWindow, MONAIPositionsStepByTheOverlapAndMoveTheLastWindowBack)
{
  // dense_patch_slices: interval int(roi * (1 - overlap)), windows until one reaches the end, that
  // last one shifted back flush with the end (worked by hand from MONAI's formula).
  EXPECT_EQ(ComputeMONAIWindowPositions(181, 96, 0.5), (std::vector<int64_t>{ 0, 48, 85 }));
  EXPECT_EQ(ComputeMONAIWindowPositions(44, 32, 0.25), (std::vector<int64_t>{ 0, 12 }));
  EXPECT_EQ(ComputeMONAIWindowPositions(100, 32, 0.25), (std::vector<int64_t>{ 0, 24, 48, 68 }));
  EXPECT_EQ(ComputeMONAIWindowPositions(32, 32, 0.5), (std::vector<int64_t>{ 0 }));
  EXPECT_EQ(ComputeMONAIWindowPositions(5, 2, 0.9), (std::vector<int64_t>{ 0, 1, 2, 3 })); // step floored at 1
  EXPECT_NE(ComputeMONAIWindowPositions(181, 96, 0.5), ComputeWindowPositions(181, 96, 0.5));
}

TEST(SlidingWindow, MONAIImportanceMapIsNotRescaledAndFlooredAtOneThousandth)
{
  const std::array<int64_t, 3> patch{ { 32, 8, 5 } }; // x, y, z
  const at::Tensor map = ComputeMONAIImportanceMap(patch, BlendMode::Gaussian, 0.125);
  ASSERT_EQ(map.sizes(), (at::IntArrayRef{ 5, 8, 32 }));
  // Even sizes peak below 1: the centre of 8 voxels (sigma 1) is half a voxel off any voxel.
  const double peak = std::exp(-0.25 / 32.0) * std::exp(-0.125); // x: 0.5^2 / (2 * 4^2); y: 0.5^2 / 2; z odd: 1
  EXPECT_NEAR(map.max().item<float>(), peak, 1e-6);
  // Corners fall far below 1e-3 and are floored there.
  EXPECT_FLOAT_EQ(map[0][0][0].item<float>(), 1e-3f);
  EXPECT_GE(map.min().item<float>(), 1e-3f);
  // Where the product is above the floor it is the plain formula.
  EXPECT_NEAR(map[2][3][15].item<float>(), std::exp(-0.25 / 32.0) * std::exp(-0.125), 1e-6);
  EXPECT_TRUE(at::equal(ComputeMONAIImportanceMap(patch, BlendMode::Constant, 0.125), at::ones({ 5, 8, 32 })));
}

TEST(SlidingWindow, MONAIPlacementCoversEveryVoxelOfAnOddSizedVolume)
{
  // Blended constant logits come back unchanged only where every voxel got a positive weight.
  SlidingWindowSettings settings;
  settings.patchSize = { { 8, 8, 8 } };
  settings.overlap = 0.25;
  settings.blended = BlendedScores::Logits;
  settings.windowPositions = WindowPositions::MONAI;
  auto             constant = Wrap(test::MakeConstantModule({ 0.5, 2.0 }));
  const at::Tensor out = SlidingWindowInferer(settings).Run(at::rand({ 1, 11, 9, 20 }), *constant);
  EXPECT_NEAR(out[0].min().item<float>(), 0.5f, 1e-6);
  EXPECT_NEAR(out[1].max().item<float>(), 2.0f, 1e-6);
  EXPECT_EQ(ParseWindowPositions("monai"), WindowPositions::MONAI);
  EXPECT_EQ(ParseWindowPositions("nnunet"), WindowPositions::NNUNet);
  EXPECT_THROW(ParseWindowPositions("even"), std::invalid_argument);
}

TEST(SlidingWindow, GaussianMapMatchesItsFormula)
{
  const std::array<int64_t, 3> patch{ { 8, 6, 5 } }; // x, y, z
  const double                 scale = 0.125;
  const at::Tensor             map = ComputeGaussianImportanceMap(patch, scale);
  ASSERT_EQ(map.sizes(), (std::vector<int64_t>{ 5, 6, 8 }));
  double maxValue = 0.0;
  auto   raw = [&](int64_t x, int64_t y, int64_t z) {
    double e = 0.0;
    const int64_t idx[3] = { x, y, z };
    for (int d = 0; d < 3; ++d)
    {
      const double c = (patch[d] - 1) / 2.0, s = scale * patch[d];
      e += (idx[d] - c) * (idx[d] - c) / (2 * s * s);
    }
    return std::exp(-e);
  };
  for (int64_t z = 0; z < 5; ++z)
    for (int64_t y = 0; y < 6; ++y)
      for (int64_t x = 0; x < 8; ++x)
        maxValue = std::max(maxValue, raw(x, y, z));
  for (int64_t z = 0; z < 5; ++z)
    for (int64_t y = 0; y < 6; ++y)
      for (int64_t x = 0; x < 8; ++x)
        ASSERT_NEAR(map[z][y][x].item<float>(), raw(x, y, z) / maxValue, 1e-6);
  EXPECT_FLOAT_EQ(map.max().item<float>(), 1.0f);
  // Symmetric about the centre.
  EXPECT_FLOAT_EQ(map[0][0][0].item<float>(), map[4][5][7].item<float>());
}

TEST(SlidingWindow, GaussianFloorCentrePeaksAtHalfThePatchAsNNUNet)
{
  // nnU-Net's compute_gaussian puts its unit impulse at p // 2: for even p one voxel past the middle.
  const std::array<int64_t, 3> patch{ { 8, 7, 4 } }; // x, y, z
  const at::Tensor map = ComputeGaussianImportanceMap(patch, 0.125, GaussianCentre::Floor);
  EXPECT_FLOAT_EQ(map[2][3][4].item<float>(), 1.0f);
  EXPECT_LT(map[1][3][3].item<float>(), 1.0f);
  // Along x (p = 8, sigma = 1): one voxel off the peak exp(-1/2), and x = 0 is 4 voxels off.
  EXPECT_NEAR(map[2][3][5].item<float>(), std::exp(-0.5), 1e-6);
  EXPECT_NEAR(map[2][3][0].item<float>(), std::exp(-8.0), 1e-6);
  EXPECT_NEAR(map[2][3][7].item<float>(), std::exp(-4.5), 1e-6);
  // Odd sizes: both conventions agree.
  const at::Tensor odd = ComputeGaussianImportanceMap({ { 7, 5, 3 } }, 0.125, GaussianCentre::Floor);
  EXPECT_TRUE(at::allclose(odd, ComputeGaussianImportanceMap({ { 7, 5, 3 } }, 0.125)));
}

TEST(SlidingWindow, BlendingLogitsAveragesRawOutputsAndMirroredLogits)
{
  // A constant model blended as logits gives its logits back, not their softmax.
  SlidingWindowSettings settings;
  settings.patchSize = { { 8, 8, 8 } };
  settings.blended = BlendedScores::Logits;
  auto             constant = Wrap(test::MakeConstantModule({ 0.5, 2.0, -1.0 }));
  const at::Tensor out = SlidingWindowInferer(settings).Run(at::rand({ 1, 13, 20, 17 }), *constant);
  EXPECT_NEAR(out[0].min().item<float>(), 0.5f, 1e-6);
  EXPECT_NEAR(out[1].max().item<float>(), 2.0f, 1e-6);
  EXPECT_NEAR(out[2].min().item<float>(), -1.0f, 1e-6);

  // One patch covering the image, mirrored over x: the result is the mean of f(x) and
  // flip(f(flip(x))) as logits; with a non-linear activation the two orders would differ.
  auto model = Wrap(test::MakeConvolutionModule(2), false);
  settings.patchSize = { { 6, 5, 4 } };
  settings.mirrorAxes = { 0 };
  const at::Tensor image = at::randn({ 1, 4, 5, 6 });
  const at::Tensor blended = SlidingWindowInferer(settings).Run(image, *model);
  const at::Tensor x = image.unsqueeze(0);
  const at::Tensor expected = ((model->Forward(x) + model->Forward(x.flip({ 4 })).flip({ 4 })) / 2.0)[0];
  EXPECT_TRUE(at::allclose(blended, expected, 1e-5, 1e-6));

  settings.accumulation = ScoreAccumulation::Float16;
  EXPECT_THROW(settings.Validate(), std::invalid_argument);
}

TEST(SlidingWindow, AConstantModelGivesThatConstantEverywhere)
{
  const std::vector<double> logits{ 0.5, 2.0, -1.0 };
  const at::Tensor          expected = at::softmax(at::tensor({ 0.5f, 2.0f, -1.0f }), 0);
  SlidingWindowSettings     settings;
  settings.patchSize = { { 8, 8, 8 } };
  settings.overlap = 0.5;
  for (BlendMode blend : { BlendMode::Gaussian, BlendMode::Constant })
  {
    settings.blend = blend;
    auto             model = Wrap(test::MakeConstantModule(logits));
    const at::Tensor out = SlidingWindowInferer(settings).Run(at::rand({ 1, 13, 20, 17 }), *model);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{ 3, 13, 20, 17 }));
    for (int k = 0; k < 3; ++k)
    {
      EXPECT_NEAR(out[k].min().item<float>(), expected[k].item<float>(), 1e-6);
      EXPECT_NEAR(out[k].max().item<float>(), expected[k].item<float>(), 1e-6);
    }
  }
}

TEST(SlidingWindow, BlendedResultEqualsADirectComputation)
{
  // Independent reference: every patch through the model one at a time, accumulated with
  // explicit loops over voxels; the engine batches, slices and divides with tensor ops.
  auto                  model = Wrap(test::MakeConvolutionModule(2), false);
  SlidingWindowSettings settings;
  settings.patchSize = { { 6, 5, 4 } }; // x, y, z
  settings.overlap = 0.5;
  settings.batchSize = 3;
  const int64_t    Z = 7, Y = 9, X = 11;
  const at::Tensor image = at::randn({ 1, Z, Y, X });
  const at::Tensor out = SlidingWindowInferer(settings).Run(image, *model);

  const at::Tensor w = ComputeGaussianImportanceMap(settings.patchSize, settings.sigmaScale);
  at::Tensor       num = at::zeros({ 2, Z, Y, X }, at::kDouble), den = at::zeros({ Z, Y, X }, at::kDouble);
  auto             acc = num.accessor<double, 4>();
  auto             wsum = den.accessor<double, 3>();
  for (int64_t z0 : ComputeWindowPositions(Z, 4, 0.5))
    for (int64_t y0 : ComputeWindowPositions(Y, 5, 0.5))
      for (int64_t x0 : ComputeWindowPositions(X, 6, 0.5))
      {
        const at::Tensor patch = image.slice(1, z0, z0 + 4).slice(2, y0, y0 + 5).slice(3, x0, x0 + 6).unsqueeze(0);
        const at::Tensor p = at::softmax(model->Forward(patch), 1)[0].to(at::kDouble);
        auto             pa = p.accessor<double, 4>();
        auto             wa = w.accessor<float, 3>();
        for (int64_t z = 0; z < 4; ++z)
          for (int64_t y = 0; y < 5; ++y)
            for (int64_t x = 0; x < 6; ++x)
            {
              for (int k = 0; k < 2; ++k)
                acc[k][z0 + z][y0 + y][x0 + x] += wa[z][y][x] * pa[k][z][y][x];
              wsum[z0 + z][y0 + y][x0 + x] += wa[z][y][x];
            }
      }
  const at::Tensor reference = (num / den.unsqueeze(0)).to(at::kFloat);
  EXPECT_LT((out - reference).abs().max().item<float>(), 1e-5);
}

TEST(SlidingWindow, HalfPrecisionScoresStayWithinHalfPrecisionOfFloat)
{
  at::manual_seed(7);
  auto                  model = Wrap(test::MakeConvolutionModule(3), false);
  SlidingWindowSettings settings;
  settings.patchSize = { { 8, 8, 6 } };
  settings.overlap = 0.5;
  const at::Tensor image = at::randn({ 1, 13, 17, 19 });
  const at::Tensor full = SlidingWindowInferer(settings).Run(image, *model);
  settings.accumulation = ScoreAccumulation::Float16;
  const at::Tensor half = SlidingWindowInferer(settings).Run(image, *model);
  ASSERT_EQ(half.sizes(), full.sizes());
  EXPECT_EQ(half.scalar_type(), at::kFloat);
  // A running mean in [0, 1] rounded to 11 significant bits after each of up to 8 patches: < 8 * 2^-12.
  const float largest = (half - full).abs().max().item<float>();
  EXPECT_GT(largest, 0.0f) << "the half-precision path was not taken";
  EXPECT_LT(largest, 2e-3f);
  EXPECT_NEAR(half.sum(0).mean().item<float>(), 1.0f, 1e-3f);
  EXPECT_GT(half.argmax(0).eq(full.argmax(0)).to(at::kFloat).mean().item<float>(), 0.99f);
  EXPECT_EQ(ParseScoreAccumulation("fp16"), ScoreAccumulation::Float16);
  EXPECT_EQ(ParseScoreAccumulation("fp32"), ScoreAccumulation::Float32);
  EXPECT_THROW(ParseScoreAccumulation("half"), std::invalid_argument);
}

namespace
{
/** Returns its input itself as the logits: an in-place activation would overwrite the batch. */
class AliasingModel : public CpuTestModel
{
public:
  at::Tensor
  Forward(const at::Tensor & batch) override
  {
    return batch;
  }
};
} // namespace

TEST(SlidingWindow, ActivationNeverOverwritesTheBatchAModelReturns)
{
  // With mirror TTA the flipped copies are made from the same batch after the first pass: had the
  // softmax been computed in the batch's memory, the later passes would see probabilities.
  AliasingModel         model;
  SlidingWindowSettings settings;
  settings.patchSize = { { 4, 4, 4 } };
  settings.mirrorAxes = { 0, 2 };
  const at::Tensor image = at::randn({ 2, 6, 5, 7 });
  const at::Tensor out = SlidingWindowInferer(settings).Run(image, model);
  EXPECT_LT((out - at::softmax(image, 0)).abs().max().item<float>(), 1e-6);
}

TEST(SlidingWindow, PadsVolumesSmallerThanAPatchAndCropsBack)
{
  auto                  model = Wrap(test::MakeThresholdModule(0.5));
  SlidingWindowSettings settings;
  settings.patchSize = { { 16, 16, 16 } };
  const at::Tensor image = (at::arange(5 * 3 * 7).view({ 1, 5, 3, 7 }) % 2).to(at::kFloat);
  const at::Tensor out = SlidingWindowInferer(settings).Run(image, *model);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{ 2, 5, 3, 7 }));
  EXPECT_TRUE(at::equal(out.argmax(0), image[0].to(at::kLong)));
}

TEST(SlidingWindow, BatchesSeveralPatchesPerForwardCall)
{
  CountingModel         model;
  SlidingWindowSettings settings;
  settings.patchSize = { { 4, 4, 4 } };
  settings.overlap = 0.0;
  settings.batchSize = 3;
  SlidingWindowInferer(settings).Run(at::rand({ 1, 8, 8, 8 }), model); // 8 patches, none constant
  EXPECT_EQ(model.calls, 3);
  EXPECT_EQ(model.batchSizes, (std::vector<int64_t>{ 3, 3, 2 }));
  // All zeros: the first batch's prediction serves the two batches of constant windows after it.
  CountingModel zeros;
  SlidingWindowInferer(settings).Run(at::zeros({ 1, 8, 8, 8 }), zeros);
  EXPECT_EQ(zeros.calls, 1);
}

TEST(SlidingWindow, MirrorTTARunsEveryFlipCombinationAndUndoesIt)
{
  CountingModel         counting;
  SlidingWindowSettings settings;
  settings.patchSize = { { 4, 4, 4 } };
  settings.overlap = 0.0;
  settings.batchSize = 8;
  settings.mirrorAxes = { 0, 1, 2 };
  SlidingWindowInferer(settings).Run(at::zeros({ 1, 8, 8, 8 }), counting);
  EXPECT_EQ(counting.calls, 8); // one batch, 2^3 flip combinations

  // A position-dependent model: flipped and un-flipped predictions differ unless undone correctly.
  auto       model = Wrap(test::MakeConvolutionModule(2), false);
  at::Tensor image = at::randn({ 1, 6, 7, 8 });
  settings.patchSize = { { 8, 7, 6 } };
  settings.mirrorAxes = { 0 };
  const at::Tensor tta = SlidingWindowInferer(settings).Run(image, *model);
  const at::Tensor plain = at::softmax(model->Forward(image.unsqueeze(0)), 1)[0];
  const at::Tensor flipped = at::softmax(model->Forward(image.unsqueeze(0).flip({ 4 })), 1)[0].flip({ 3 });
  EXPECT_LT((tta - (plain + flipped) / 2).abs().max().item<float>(), 1e-5);
}

TEST(SlidingWindow, SingleOutputModelsUseASigmoid)
{
  auto module = test::MakeConstantModule({ 0.75 });
  auto model = Wrap(module);
  SlidingWindowSettings settings;
  settings.patchSize = { { 4, 4, 4 } };
  const at::Tensor out = SlidingWindowInferer(settings).Run(at::zeros({ 1, 4, 4, 4 }), *model);
  ASSERT_EQ(out.size(0), 1);
  EXPECT_NEAR(out.mean().item<float>(), 1.0 / (1.0 + std::exp(-0.75)), 1e-6);
}

TEST(SlidingWindow, SettingsAreValidated)
{
  SlidingWindowSettings s;
  s.overlap = 1.0;
  EXPECT_THROW(s.Validate(), std::invalid_argument);
  s = {};
  s.patchSize = { { 0, 4, 4 } };
  EXPECT_THROW(s.Validate(), std::invalid_argument);
  s = {};
  s.mirrorAxes = { 3 };
  EXPECT_THROW(s.Validate(), std::invalid_argument);
  EXPECT_THROW(ParseBlendMode("gauss"), std::invalid_argument);
}
