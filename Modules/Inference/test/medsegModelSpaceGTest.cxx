#include "medsegFixtureModels.h"
#include "medsegModelSpace.h"
#include "medsegPackageSegmenter.h"
#include "medsegTestHelpers.h"
#include "medsegTorchScriptModel.h"

#include <gtest/gtest.h>

using namespace medseg;

TEST(ModelSpace, AxisCodesAndDirectionsAgree)
{
  Direction3 identity;
  identity.SetIdentity();
  EXPECT_EQ(DirectionFromAxisCodes("LPS"), identity);
  const Direction3 ras = DirectionFromAxisCodes("RAS");
  EXPECT_EQ(ras[0][0], -1.0);
  EXPECT_EQ(ras[1][1], -1.0);
  EXPECT_EQ(ras[2][2], 1.0);
  for (const char * codes : { "RAS", "LPS", "LAS", "PIR", "SAR", "ILA" })
  {
    EXPECT_EQ(AxisCodesFromDirection(DirectionFromAxisCodes(codes)), codes);
  }
  EXPECT_THROW(DirectionFromAxisCodes("RRS"), std::invalid_argument);
  EXPECT_THROW(DirectionFromAxisCodes("RAX"), std::invalid_argument);
}

namespace
{
/** The same world-space object sampled on differently oriented grids over the same points. */
float
World(const itk::Point<double, 3> & p)
{
  const double dx = p[0] - 3.0, dy = (p[1] + 2.0) / 1.4, dz = (p[2] - 5.0) / 0.8;
  return (dx * dx + dy * dy + dz * dz < 36.0 ? 100.0f : 0.0f) + static_cast<float>(2.0 * p[0] - p[1] + 0.5 * p[2]);
}

FloatImage3::Pointer
Sample(test::Geometry g)
{
  auto image = test::MakeImage(g, [](long, long, long) { return 0.0f; });
  for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    itk::Point<double, 3> p;
    image->TransformIndexToPhysicalPoint(image->ComputeIndex(static_cast<itk::OffsetValueType>(i)), p);
    image->GetBufferPointer()[i] = World(p);
  }
  return image;
}

ModelPackage
Package(const std::string & orientation, std::optional<std::array<double, 3>> spacing)
{
  auto d = nlohmann::json::parse(R"({
    "format": "medseg-model", "format_version": 1, "name": "t", "version": "1",
    "architecture": { "plugin": "torchscript" },
    "weights": { "file": "w.pt", "sha256": "0000000000000000000000000000000000000000000000000000000000000000" },
    "input": { "channels": [ { "name": "img", "normalization": "zscore" } ] },
    "inference": { "patch_size": [12, 10, 8], "overlap": 0.5 },
    "labels": [ { "value": 0, "name": "bg" }, { "value": 3, "name": "fg" } ] })");
  d["input"]["orientation"] = orientation;
  if (spacing)
    d["input"]["spacing"] = { (*spacing)[0], (*spacing)[1], (*spacing)[2] };
  return ModelPackage::Parse(d, "test");
}

std::shared_ptr<SegmentationModel>
Model(torch::jit::Module module)
{
  TorchScriptModelOptions options;
  options.device = "cpu";
  return std::make_shared<TorchScriptModel>(std::move(module), "fixture", options);
}

/** Label of `image` at the world point of voxel `index` of `other`. */
unsigned short
LabelAt(const LabelImage3 * image, const itk::ImageBase<3> * other, const LabelImage3::IndexType & index)
{
  itk::Point<double, 3> p;
  other->TransformIndexToPhysicalPoint(index, p);
  LabelImage3::IndexType j;
  EXPECT_TRUE(image->TransformPhysicalPointToIndex(p, j));
  return image->GetPixel(j);
}
} // namespace

TEST(ModelSpace, ReorientingKeepsEveryVoxelAtItsWorldPosition)
{
  test::Geometry g = test::WithDirection({}, "RAS");
  g.size = { 9, 7, 5 };
  g.origin = { 10, 20, 30 };
  const auto image = Sample(g);
  const auto lps = ReorientImage(image, "LPS");
  EXPECT_EQ(AxisCodesFromDirection(lps->GetDirection()), "LPS");
  for (size_t i = 0; i < lps->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    itk::Point<double, 3> p;
    lps->TransformIndexToPhysicalPoint(lps->ComputeIndex(static_cast<itk::OffsetValueType>(i)), p);
    ASSERT_FLOAT_EQ(lps->GetBufferPointer()[i], World(p));
  }
}

TEST(ModelSpace, SameAnatomyInRASLPSAndPermutedStorageGivesTheSameLabels)
{
  // LPS grid over x in [-8, 13], y in [-12, 7], z in [-3, 12]; the RAS and permuted copies
  // hold exactly the same world points.
  test::Geometry lps;
  lps.size = { 22, 20, 16 };
  lps.origin = { -8, -12, -3 };
  test::Geometry ras = test::WithDirection(lps, "RAS");
  ras.origin = { 13, 7, -3 };
  test::Geometry permuted = test::WithDirection(lps, "permuted"); // i->y, j->z, k->x
  permuted.size = { 20, 16, 22 };

  // An orientation-sensitive model (a random 3x3x3 convolution): it agrees across the copies
  // only if every copy reaches it in the package's orientation.
  const ModelPackage                 package = Package("RAS", std::nullopt);
  std::vector<LabelImage3::Pointer>  labels;
  std::vector<FloatImage3::Pointer>  images;
  for (const auto & g : { lps, ras, permuted })
  {
    images.push_back(Sample(g));
    PackageSegmenter segmenter(package, Model(test::MakeConvolutionModule(2, 11)));
    labels.push_back(segmenter.Run({ images.back() }, false).labels);
  }
  size_t foreground = 0;
  for (size_t i = 0; i < labels[0]->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    foreground += labels[0]->GetBufferPointer()[i] == 3;
  }
  const size_t total = labels[0]->GetBufferedRegion().GetNumberOfPixels();
  EXPECT_GT(foreground, total / 20) << "degenerate labelling";
  EXPECT_LT(foreground, total - total / 20) << "degenerate labelling";
  for (size_t copy = 1; copy < 3; ++copy)
  {
    size_t differ = 0;
    for (size_t i = 0; i < labels[copy]->GetBufferedRegion().GetNumberOfPixels(); ++i)
    {
      const auto index = labels[copy]->ComputeIndex(static_cast<itk::OffsetValueType>(i));
      differ += labels[copy]->GetPixel(index) != LabelAt(labels[0], labels[copy], index);
    }
    EXPECT_EQ(differ, 0u) << "copy " << copy;
  }
}

TEST(ModelSpace, AnAnisotropicCopyAgreesAfterResamplingToTheModelSpacing)
{
  test::Geometry iso;
  iso.size = { 30, 30, 30 };
  iso.origin = { -12, -16, -10 };
  test::Geometry aniso = iso;
  aniso.spacing = { 1.0, 1.0, 2.5 };
  aniso.size = { 30, 30, 12 };

  const ModelPackage package = Package("any", std::array<double, 3>{ { 1.0, 1.0, 1.0 } });
  const auto         isoImage = Sample(iso);
  const auto         anisoImage = Sample(aniso);
  const auto         a = PackageSegmenter(package, Model(test::MakeSmoothedThresholdModule(0.5))).Run({ isoImage }, true);
  const auto         b = PackageSegmenter(package, Model(test::MakeSmoothedThresholdModule(0.5))).Run({ anisoImage }, true);
  EXPECT_EQ(b.labels->GetLargestPossibleRegion().GetSize(), anisoImage->GetLargestPossibleRegion().GetSize());
  EXPECT_EQ(b.labels->GetSpacing(), anisoImage->GetSpacing());
  EXPECT_EQ(b.probabilities->GetSpacing(), anisoImage->GetSpacing());
  // Dice of label 3 between the anisotropic result and the isotropic one at the same points.
  size_t both = 0, inA = 0, inB = 0;
  for (size_t i = 0; i < b.labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    const auto index = b.labels->ComputeIndex(static_cast<itk::OffsetValueType>(i));
    const bool fb = b.labels->GetPixel(index) == 3;
    const bool fa = LabelAt(a.labels, b.labels, index) == 3;
    both += fa && fb;
    inA += fa;
    inB += fb;
  }
  ASSERT_GT(inA, 100u);
  EXPECT_GE(2.0 * both / (inA + inB), 0.95);
}

TEST(ModelSpace, SeveralChannelsAreResampledOntoTheFirstAndNormalizedEach)
{
  test::Geometry g;
  g.size = { 10, 10, 10 };
  test::Geometry other = g;
  other.spacing = { 2, 2, 2 };
  other.size = { 5, 5, 5 };
  auto d = Package("any", std::nullopt).ToJson();
  d["input"]["channels"] = { { { "name", "a" }, { "normalization", "none" } }, { { "name", "b" }, { "normalization", "none" } } };
  const ModelPackage package = ModelPackage::Parse(d, "two");
  // The model sums the channels through a fixed-weight 1x1x1 conv: class 1 where a + b > 50.
  torch::jit::Module m("Sum");
  m.register_attribute("training", c10::BoolType::get(), false);
  m.define(R"(
def forward(self, x):
    s = x[:, 0:1] + x[:, 1:2] - 50.0
    return torch.cat([torch.zeros_like(s), s], 1)
)");
  TorchScriptModelOptions options;
  options.device = "cpu";
  options.inputChannels = 2;
  auto model = std::make_shared<TorchScriptModel>(m, "sum", options);
  const auto a = test::MakeImage(g, [](long x, long, long) { return x < 5 ? 40.0f : 0.0f; });
  const auto b = test::MakeImage(other, [](long, long, long) { return 20.0f; });
  const PackageSegmenter segmenter(package, model);
  const Segmenter &      any = segmenter; // what every caller sees, whatever the model source
  const Segmentation     result = any.Run({ a, b }, false);
  EXPECT_EQ(result.labels->GetPixel({ { 2, 5, 5 } }), 3);
  EXPECT_EQ(result.labels->GetPixel({ { 8, 5, 5 } }), 0);
  // The package's class -> label map and names come with the labels.
  EXPECT_EQ(result.labelOfClass, (std::vector<unsigned int>{ 0, 3 }));
  EXPECT_EQ(result.table.Get(3).name, "fg");
  EXPECT_EQ(result.table.GetEntries().size(), 2u);
  EXPECT_EQ(any.GetDescription().rfind("package 't' 1, TorchScript sum", 0), 0u) << any.GetDescription();
  EXPECT_THROW(PackageSegmenter(package, model).Run({ a }, false), std::invalid_argument);
}
