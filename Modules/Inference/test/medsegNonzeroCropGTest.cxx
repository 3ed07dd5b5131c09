// Cropping to the nonzero box before the sliding window (nnU-Net's crop_to_nonzero): issue 16.
#include "medsegFixtureModels.h"
#include "medsegGeometry.h"
#include "medsegModelSpace.h"
#include "medsegPackageSegmenter.h"
#include "medsegTestHelpers.h"
#include "medsegTorchScriptModel.h"

#include <gtest/gtest.h>

#include <atomic>

using namespace medseg;

namespace
{

ModelPackage
Package(const std::string & normalization, const std::string & orientation = "any",
        std::optional<std::array<double, 3>> spacing = std::nullopt, bool crop = true)
{
  auto d = nlohmann::json::parse(R"({
    "format": "medseg-model", "format_version": 1, "name": "crop", "version": "1",
    "architecture": { "plugin": "torchscript" },
    "weights": { "file": "w.pt", "sha256": "0000000000000000000000000000000000000000000000000000000000000000" },
    "input": { "channels": [ { "name": "img" } ] },
    "inference": { "patch_size": [8, 8, 8], "overlap": 0.5 },
    "labels": [ { "value": 5, "name": "bg" }, { "value": 9, "name": "fg" } ] })");
  d["input"]["channels"][0]["normalization"] = normalization;
  d["input"]["orientation"] = orientation;
  if (spacing)
    d["input"]["spacing"] = { (*spacing)[0], (*spacing)[1], (*spacing)[2] };
  d["inference"]["crop_to_nonzero"] = crop;
  return ModelPackage::Parse(d, "test");
}

/** A network that counts its forward calls (and the patches they carry) around another one. */
class CountingModel : public SegmentationModel
{
public:
  explicit CountingModel(std::shared_ptr<SegmentationModel> inner)
    : m_Inner(std::move(inner))
  {}
  at::Tensor
  Forward(const at::Tensor & batch) override
  {
    ++calls;
    patches += batch.size(0);
    return m_Inner->Forward(batch);
  }
  c10::Device
  GetDevice() const override
  {
    return m_Inner->GetDevice();
  }
  std::string
  GetDescription() const override
  {
    return "counting " + m_Inner->GetDescription();
  }

  std::atomic<int64_t> calls{ 0 };
  std::atomic<int64_t> patches{ 0 };

private:
  std::shared_ptr<SegmentationModel> m_Inner;
};

std::shared_ptr<CountingModel>
Model(torch::jit::Module module)
{
  TorchScriptModelOptions options;
  options.device = "cpu";
  return std::make_shared<CountingModel>(std::make_shared<TorchScriptModel>(std::move(module), "fixture", options));
}

/** A bright block (value 100 plus a gentle ramp) at [lo, hi) in an exactly zero field. */
FloatImage3::Pointer
BlockInZeros(const test::Geometry & g, std::array<long, 3> lo, std::array<long, 3> hi)
{
  return test::MakeImage(g, [=](long x, long y, long z) {
    const bool inside = x >= lo[0] && x < hi[0] && y >= lo[1] && y < hi[1] && z >= lo[2] && z < hi[2];
    return inside ? 100.0f + 3.0f * static_cast<float>(x + 2 * y - z) : 0.0f;
  });
}

/** Voxels of `labels` (same grid as `box`'s image) with a value other than `background` outside `box`. */
size_t
LabelledOutside(const LabelImage3 * labels, const itk::ImageRegion<3> & box, unsigned int background)
{
  size_t count = 0;
  for (size_t i = 0; i < labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    const auto index = labels->ComputeIndex(static_cast<itk::OffsetValueType>(i));
    count += !box.IsInside(index) && labels->GetBufferPointer()[i] != background;
  }
  return count;
}

} // namespace

TEST(NonzeroCrop, TheBoxHoldsTheVoxelsNonzeroInAnyChannel)
{
  test::Geometry g;
  g.size = { 12, 10, 9 };
  const auto a = test::MakeImage(g, [](long x, long y, long z) { return x == 3 && y == 4 && z == 5 ? -2.0f : 0.0f; });
  const auto b = test::MakeImage(g, [](long x, long y, long z) { return x == 9 && y == 2 && z == 7 ? 1e-30f : 0.0f; });
  const auto box = NonzeroBoundingRegion({ a, b });
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(box->GetIndex(), (itk::Index<3>{ { 3, 2, 5 } }));
  EXPECT_EQ(box->GetSize(), (itk::Size<3>{ { 7, 3, 3 } }));
  const auto only = NonzeroBoundingRegion({ a });
  ASSERT_TRUE(only.has_value());
  EXPECT_EQ(only->GetSize(), (itk::Size<3>{ { 1, 1, 1 } }));
  EXPECT_FALSE(NonzeroBoundingRegion({ test::MakeImage(g, [](long, long, long) { return 0.0f; }) }).has_value());

  // A crop keeps every voxel at its index and world position.
  const auto cropped = CropImage(b, *box);
  EXPECT_EQ(cropped->GetLargestPossibleRegion(), *box);
  EXPECT_EQ(cropped->GetOrigin(), b->GetOrigin());
  EXPECT_EQ(cropped->GetPixel({ { 9, 2, 7 } }), 1e-30f);
  EXPECT_EQ(cropped->GetPixel({ { 3, 4, 5 } }), 0.0f);
}

// (1) An instance-norm model labels windows of pure background; cropping leaves none of them.
TEST(NonzeroCrop, AnInstanceNormModelLabelsNothingOutsideTheObjectsBoxWhenCropping)
{
  test::Geometry g;
  g.size = { 40, 36, 30 };
  const std::array<long, 3> lo{ { 14, 12, 10 } }, hi{ { 24, 22, 18 } };
  const auto                image = BlockInZeros(g, lo, hi);
  const itk::ImageRegion<3> box({ { lo[0], lo[1], lo[2] } },
                                { { static_cast<unsigned long>(hi[0] - lo[0]), static_cast<unsigned long>(hi[1] - lo[1]),
                                    static_cast<unsigned long>(hi[2] - lo[2]) } });
  ASSERT_EQ(NonzeroBoundingRegion({ image }), box);

  const auto       uncroppedModel = Model(test::MakeInstanceNormModule());
  PackageSegmenter uncropped(Package("zscore", "any", std::nullopt, false), uncroppedModel);
  EXPECT_FALSE(uncropped.GetCropToNonzero());
  const auto without = uncropped.Run({ image }, false);
  EXPECT_GT(LabelledOutside(without.labels, box, 5), 1000u) << "the model should be fooled by constant windows";

  const auto       croppedModel = Model(test::MakeInstanceNormModule());
  PackageSegmenter cropped(Package("zscore"), croppedModel);
  EXPECT_TRUE(cropped.GetCropToNonzero());
  const auto with = cropped.Run({ image }, true);
  EXPECT_EQ(LabelledOutside(with.labels, box, 5), 0u);
  EXPECT_EQ(with.labels->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
  size_t inside = 0;
  for (size_t i = 0; i < with.labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
    inside += with.labels->GetBufferPointer()[i] == 9;
  EXPECT_GT(inside, 0u);
  EXPECT_LT(croppedModel->patches.load(), uncroppedModel->patches.load() / 4);
  // Outside the box: probability 1 for class 0.
  ASSERT_EQ(with.probabilities->GetNumberOfComponentsPerPixel(), 2u);
  EXPECT_EQ(with.probabilities->GetPixel({ { 2, 3, 4 } })[0], 1.0f);
  EXPECT_EQ(with.probabilities->GetPixel({ { 2, 3, 4 } })[1], 0.0f);

  // Turning it off on the segmenter overrides the package.
  cropped.SetCropToNonzero(false);
  EXPECT_GT(LabelledOutside(cropped.Run({ image }, false).labels, box, 5), 1000u);
}

// Inside the box the crop runs exactly what segmenting the cut-out box alone runs: the
// normalization statistics are the box's (nnU-Net), and so are the windows.
TEST(NonzeroCrop, InsideTheBoxTheCropEqualsSegmentingTheBoxAlone)
{
  test::Geometry g;
  g.size = { 30, 28, 24 };
  const std::array<long, 3> lo{ { 5, 9, 4 } }, hi{ { 21, 20, 17 } };
  const auto                image = BlockInZeros(g, lo, hi);
  const auto                box = NonzeroBoundingRegion({ image });
  ASSERT_TRUE(box.has_value());
  // A random 3x3x3 convolution: its answer depends on the statistics and on where windows lie.
  const auto whole = PackageSegmenter(Package("zscore"), Model(test::MakeConvolutionModule(2, 11))).Run({ image }, false);
  const auto part = PackageSegmenter(Package("zscore", "any", std::nullopt, false), Model(test::MakeConvolutionModule(2, 11)))
                      .Run({ CropImage(image, *box) }, false);
  const auto uncropped =
    PackageSegmenter(Package("zscore", "any", std::nullopt, false), Model(test::MakeConvolutionModule(2, 11)))
      .Run({ image }, false);
  size_t differ = 0, foreground = 0, differFromUncropped = 0;
  for (size_t i = 0; i < part.labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    const auto index = part.labels->ComputeIndex(static_cast<itk::OffsetValueType>(i));
    differ += whole.labels->GetPixel(index) != part.labels->GetBufferPointer()[i];
    differFromUncropped += uncropped.labels->GetPixel(index) != part.labels->GetBufferPointer()[i];
    foreground += part.labels->GetBufferPointer()[i] == 9;
  }
  EXPECT_EQ(differ, 0u);
  EXPECT_GT(foreground, 0u);
  EXPECT_GT(differFromUncropped, 0u) << "statistics of the crop should differ from the whole image's";
}

// (2) + (4) A voxel-wise model gives the same labels with and without the crop, through
// reorientation and resampling, and the output has exactly the input's geometry.
TEST(NonzeroCrop, AVoxelwiseModelGivesTheSameLabelsAndTheInputsExactGeometry)
{
  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 34, 30, 22 };
  g.spacing = { 0.9, 1.1, 1.6 };
  g.origin = { 10.0, -20.0, 5.5 };
  const auto image = test::MakeBallPhantom(g, { 15, 13, 10 }, 6.0, 100.0f, 0.0f);
  const auto package = [](bool crop) { return Package("none", "RAS", std::array<double, 3>{ { 1.0, 1.0, 1.0 } }, crop); };
  const auto model = Model(test::MakeThresholdModule(50.0));
  const auto with = PackageSegmenter(package(true), model).Run({ image }, true);
  const auto without = PackageSegmenter(package(false), model).Run({ image }, true);
  for (const itk::ImageBase<3> * out : { static_cast<const itk::ImageBase<3> *>(with.labels.GetPointer()),
                                         static_cast<const itk::ImageBase<3> *>(with.probabilities.GetPointer()) })
  {
    EXPECT_EQ(out->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
    EXPECT_EQ(out->GetSpacing(), image->GetSpacing());
    EXPECT_EQ(out->GetOrigin(), image->GetOrigin());
    EXPECT_EQ(out->GetDirection(), image->GetDirection());
  }
  size_t differ = 0, foreground = 0;
  for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    differ += with.labels->GetBufferPointer()[i] != without.labels->GetBufferPointer()[i];
    foreground += with.labels->GetBufferPointer()[i] == 9;
  }
  EXPECT_GT(foreground, 500u);
  EXPECT_EQ(differ, 0u);
}

// (3) Nothing nonzero: all background, on the input's grid, and the model never runs.
TEST(NonzeroCrop, AnAllZeroImageIsAllBackgroundWithoutRunningTheModel)
{
  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 20, 18, 16 };
  g.spacing = { 0.7, 1.2, 2.0 };
  g.origin = { -3.0, 4.0, 50.0 };
  const auto zeros = test::MakeImage(g, [](long, long, long) { return 0.0f; });
  const auto model = Model(test::MakeInstanceNormModule());
  const auto result =
    PackageSegmenter(Package("zscore", "RAS", std::array<double, 3>{ { 1.0, 1.0, 1.0 } }), model).Run({ zeros }, true);
  EXPECT_EQ(model->calls.load(), 0);
  EXPECT_EQ(result.classes, 2u);
  EXPECT_EQ(DescribeGeometryDifference(zeros, result.labels, 0.0), "");
  EXPECT_EQ(result.labels->GetDirection(), zeros->GetDirection());
  EXPECT_EQ(result.probabilities->GetOrigin(), zeros->GetOrigin());
  EXPECT_EQ(result.probabilities->GetLargestPossibleRegion(), zeros->GetLargestPossibleRegion());
  for (size_t i = 0; i < result.labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    ASSERT_EQ(result.labels->GetBufferPointer()[i], 5);
    ASSERT_EQ(result.probabilities->GetBufferPointer()[2 * i], 1.0f);
    ASSERT_EQ(result.probabilities->GetBufferPointer()[2 * i + 1], 0.0f);
  }
}

// Without the crop, a window that sees only zeros (or only any one value) gives the network the
// same input as every other such window: the sliding window runs one of them and reuses its
// prediction. Same probabilities, bit for bit, with far fewer patches run; a sub-region (streaming)
// still equals the same voxels of the whole run.
TEST(NonzeroCrop, ConstantWindowsAreRunOnceWithTheSameResult)
{
  // [1, z, y, x]: a textured block at one corner, zeros elsewhere, and a constant slab of 7s.
  at::Tensor volume = at::zeros({ 1, 40, 36, 44 });
  volume.index({ 0, at::indexing::Slice(2, 12), at::indexing::Slice(3, 13), at::indexing::Slice(1, 11) })
    .copy_(at::rand({ 10, 10, 10 }, at::TensorOptions().dtype(at::kFloat)) * 50.0 + 100.0);
  volume.index({ 0, at::indexing::Slice(), at::indexing::Slice(), at::indexing::Slice(30, 44) }).fill_(7.0f);
  SlidingWindowSettings settings;
  settings.patchSize = { { 8, 8, 8 } };
  settings.overlap = 0.5;
  settings.batchSize = 2;
  settings.mirrorAxes = { 0 };

  settings.reuseConstantWindows = false;
  const auto       every = Model(test::MakeInstanceNormModule());
  const at::Tensor expected = SlidingWindowInferer(settings).Run(volume, *every);
  settings.reuseConstantWindows = true;
  const auto       reusing = Model(test::MakeInstanceNormModule());
  const at::Tensor reused = SlidingWindowInferer(settings).Run(volume, *reusing);
  EXPECT_TRUE(at::equal(expected, reused)) << "max difference " << (expected - reused).abs().max().item<float>();
  std::cout << "patches run: " << every->patches.load() << " without reuse, " << reusing->patches.load() << " with\n";
  EXPECT_LT(reusing->patches.load(), every->patches.load() / 3);
  EXPECT_GE(reusing->patches.load(), 4); // the textured windows, and at least one of each constant value

  // A region on its own equals the same voxels of the whole run.
  const SlidingWindowInferer inferer(settings);
  VoxelBox                   region;
  region.start = { { 20, 0, 0 } };
  region.size = { { 12, 36, 44 } };
  const VoxelBox input = inferer.InputBoxFor({ { 40, 36, 44 } }, region);
  const auto     slab = volume.index({ at::indexing::Slice(), at::indexing::Slice(input.start[0], input.End(0)),
                                       at::indexing::Slice(input.start[1], input.End(1)),
                                       at::indexing::Slice(input.start[2], input.End(2)) });
  const auto regionModel = Model(test::MakeInstanceNormModule());
  inferer.RunRegion(slab, input, { { 40, 36, 44 } }, region, *regionModel, [&](int64_t z, const at::Tensor & scores) {
    ASSERT_TRUE(at::equal(scores, expected.select(1, z))) << "slice " << z;
  });
}
