// End-to-end tests of `medseg segment`: the real executable on generated phantoms and models.
// The 2D pictures (PNG, TIFF, 2D packages) are in medsegSegmentCommand2DGTest.cxx.
#include "medsegFixtureModels.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include "itkImageIOFactory.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <set>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;

namespace
{

class SegmentCommand : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    test::Geometry g = test::WithDirection({}, "oblique");
    g.size = { 30, 26, 20 };
    g.spacing = { 0.9, 1.1, 1.6 };
    g.origin = { 10.0, -20.0, 5.5 };
    m_Image = test::MakeBallPhantom(g, { 14, 12, 9 }, 7.0, 100.0f, 0.0f);
    WriteImageFile(m_Image.GetPointer(), Input());
    auto model = test::MakeThresholdModule(50.0);
    test::SaveModule(model, Model());
  }

  std::string
  Input() const
  {
    return m_Dir / "ball.nii.gz";
  }
  std::string
  Model() const
  {
    return m_Dir / "threshold.pt";
  }
  std::string
  Output() const
  {
    return m_Dir / "labels.nii.gz";
  }

  test::ProcessResult
  Segment(std::vector<std::string> extra, const std::string & input = "")
  {
    std::vector<std::string> args{ "segment",      "--model", Model(), "--input", input.empty() ? Input() : input,
                                   "--output",     Output(),  "--patch-size", "16,12,8", "--normalize", "none",
                                   "--threads",    "1" };
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProcess(MEDSEG_EXECUTABLE, args);
  }

  /** Expects a processing error naming `path` and `problem`, and no output file. */
  void
  ExpectRefused(const test::ProcessResult & r, const std::string & path, const std::string & problem, int code = 1)
  {
    EXPECT_EQ(r.exitCode, code) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
    EXPECT_FALSE(fs::exists(Output()));
  }

  test::TemporaryDirectory m_Dir;
  FloatImage3::Pointer     m_Image;
};

itk::IOComponentEnum
StoredComponentType(const std::string & path)
{
  auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
  io->SetFileName(path);
  io->ReadImageInformation();
  return io->GetComponentType();
}

} // namespace

TEST_F(SegmentCommand, GivesTheExactExpectedLabelMapWithTheInputGeometry)
{
  const auto r = Segment({ "--probabilities", m_Dir / "p.nii.gz" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto labels = ReadScalarImage(Output());
  EXPECT_EQ(DescribeGeometryDifference(m_Image, labels, 1e-5), "");
  size_t mismatches = 0, foreground = 0;
  for (size_t i = 0; i < m_Image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    const float expected = m_Image->GetBufferPointer()[i] > 50.0f ? 1.0f : 0.0f;
    mismatches += labels->GetBufferPointer()[i] != expected;
    foreground += expected > 0;
  }
  EXPECT_GT(foreground, 1000u);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(StoredComponentType(Output()), itk::IOComponentEnum::UCHAR);
  EXPECT_NE(r.out.find("label 1: " + std::to_string(foreground) + " voxels"), std::string::npos) << r.out;

  // The probability map: two components, same geometry.
  auto io = itk::ImageIOFactory::CreateImageIO((m_Dir / "p.nii.gz").c_str(), itk::CommonEnums::IOFileMode::ReadMode);
  io->SetFileName(m_Dir / "p.nii.gz");
  io->ReadImageInformation();
  EXPECT_EQ(io->GetNumberOfComponents(), 2u);
}

TEST_F(SegmentCommand, TTAAndConstantBlendingGiveTheSameAnswerOnAVoxelwiseModel)
{
  const auto r = Segment({ "--tta", "--blend", "constant", "--overlap", "0.25", "--batch-size", "3" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto labels = ReadScalarImage(Output());
  for (size_t i = 0; i < m_Image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    ASSERT_EQ(labels->GetBufferPointer()[i], m_Image->GetBufferPointer()[i] > 50.0f ? 1.0f : 0.0f);
  }
}

TEST_F(SegmentCommand, HalfPrecisionScoreAccumulationGivesTheSameLabels)
{
  const auto r = Segment({ "--accumulation", "fp16", "--overlap", "0.5" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto labels = ReadScalarImage(Output());
  for (size_t i = 0; i < m_Image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    ASSERT_EQ(labels->GetBufferPointer()[i], m_Image->GetBufferPointer()[i] > 50.0f ? 1.0f : 0.0f);
  }
}

TEST_F(SegmentCommand, ManyClassesGetAWiderLabelType)
{
  std::vector<double> centres;
  for (int k = 0; k < 300; ++k)
    centres.push_back(k);
  auto model = test::MakeNearestCentreModule(centres);
  test::SaveModule(model, Model());
  test::Geometry g;
  g.size = { 12, 10, 8 };
  const auto ramp = test::MakeImage(g, [](long x, long y, long z) { return static_cast<float>((x + 12 * y + 120 * z) % 300); });
  WriteImageFile(ramp.GetPointer(), m_Dir / "ramp.nrrd");
  const auto r = Segment({}, m_Dir / "ramp.nrrd");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(StoredComponentType(Output()), itk::IOComponentEnum::USHORT);
  const auto labels = ReadScalarImage(Output());
  for (size_t i = 0; i < ramp->GetBufferedRegion().GetNumberOfPixels(); ++i)
    ASSERT_EQ(labels->GetBufferPointer()[i], ramp->GetBufferPointer()[i]);
}

TEST_F(SegmentCommand, RefusesMissingTruncatedAnd4DInputs)
{
  ExpectRefused(Segment({}, m_Dir / "absent.nii.gz"), m_Dir / "absent.nii.gz", "no such file");

  const std::string truncated = m_Dir / "truncated.nii";
  WriteImageFile(m_Image.GetPointer(), truncated);
  fs::resize_file(truncated, fs::file_size(truncated) - 1000);
  ExpectRefused(Segment({}, truncated), truncated, "truncated");

  using Image4 = itk::Image<float, 4>;
  auto             image4 = Image4::New();
  Image4::SizeType size{ { 4, 4, 4, 2 } };
  image4->SetRegions(size);
  image4->Allocate(true);
  WriteImageFile(image4.GetPointer(), m_Dir / "two-volumes.nii.gz");
  ExpectRefused(Segment({}, m_Dir / "two-volumes.nii.gz"), m_Dir / "two-volumes.nii.gz", "4D with 2 volumes");
}

TEST_F(SegmentCommand, RefusesNaNBadSpacingBadDirectionAndEmptyImages)
{
  auto nan = test::MakeImage({}, [](long x, long, long) {
    return x == 3 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
  });
  WriteImageFile(nan.GetPointer(), m_Dir / "nan.nii.gz");
  ExpectRefused(Segment({}, m_Dir / "nan.nii.gz"), m_Dir / "nan.nii.gz", "NaN or Inf");

  const auto meta = [&](const std::string & name, const std::string & header, size_t voxels) {
    std::string text = "ObjectType = Image\n" + header + "ElementType = MET_FLOAT\nElementDataFile = LOCAL\n";
    text.append(voxels * 4, '\0');
    test::WriteText(m_Dir / name, text);
    return m_Dir / name;
  };
  const auto spacing = meta("spacing.mha", "NDims = 3\nDimSize = 4 4 4\nElementSpacing = 1 -1 1\n", 64);
  ExpectRefused(Segment({}, spacing), spacing, "spacing along axis 1");
  const auto sheared = meta("sheared.mha", "NDims = 3\nDimSize = 4 4 4\nTransformMatrix = 1 0 0 0.3 1 0 0 0 1\n", 64);
  ExpectRefused(Segment({}, sheared), sheared, "not orthonormal");
  const auto empty = meta("empty.mha", "NDims = 3\nDimSize = 4 4 0\n", 0);
  ExpectRefused(Segment({}, empty), empty, "empty");
}

TEST_F(SegmentCommand, RefusesAFileThatIsNotAModel)
{
  test::WriteText(Model(), "not a model");
  ExpectRefused(Segment({}), Model(), "not a TorchScript model");
}

TEST_F(SegmentCommand, NeverOverwritesWithoutBeingAsked)
{
  test::WriteText(Output(), "precious");
  const auto r = Segment({});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(test::ReadText(Output()), "precious");
  ASSERT_EQ(Segment({ "--overwrite" }).exitCode, 0);
  EXPECT_NE(test::ReadText(Output()), "precious");

  // The input is never an output, even when asked.
  const auto same = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", Model(), "--input", Input(), "--output",
                                                    Input(), "--overwrite" });
  EXPECT_EQ(same.exitCode, 1);
  EXPECT_NE(same.err.find("is an input image"), std::string::npos) << same.err;
  EXPECT_EQ(DescribeGeometryDifference(m_Image, ReadScalarImage(Input())), "");
}

TEST_F(SegmentCommand, UsageErrorsExitWithTwo)
{
  const auto check = [&](std::vector<std::string> args, const std::string & message) {
    const auto r = RunProcess(MEDSEG_EXECUTABLE, args);
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(Output()));
  };
  check({ "segment", "--input", Input(), "--output", Output() }, "--model is required");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--overlap", "1.5" }, "overlap");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--patch-size", "16,16" },
        "--patch-size");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--blend", "median" }, "--blend");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--normalize", "ct:40" }, "--normalize");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--frobnicate" }, "--frobnicate");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--device", "tpu" }, "--device");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--accumulation", "fp8" },
        "--accumulation");
  check({ "frobnicate" }, "unknown command");
  check({ "segment", "--model", Model(), "--input", Input(), "--output", "--overwrite" }, "--output needs a value");
}

TEST_F(SegmentCommand, FastIsOverlapPointTwoAndExcludesOverlap)
{
  // A 3x3x3 convolution sees the patch borders, so the labels depend on where windows sit: --fast
  // must give exactly --overlap 0.2 and differ from the default 0.5.
  auto conv = test::MakeConvolutionModule(2);
  test::SaveModule(conv, m_Dir / "conv.pt");
  const auto run = [&](std::vector<std::string> extra, const std::string & output) {
    std::vector<std::string> args{ "segment",     "--model", m_Dir / "conv.pt", "--input", Input(), "--output", output,
                                   "--patch-size", "16,12,8", "--threads", "1" };
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProcess(MEDSEG_EXECUTABLE, args);
  };
  ASSERT_EQ(run({ "--fast" }, m_Dir / "fast.nii.gz").exitCode, 0);
  ASSERT_EQ(run({ "--overlap", "0.2" }, m_Dir / "overlap02.nii.gz").exitCode, 0);
  ASSERT_EQ(run({}, m_Dir / "default.nii.gz").exitCode, 0);
  const auto same = [](const std::string & a, const std::string & b) {
    const auto x = ReadLabelImage(a), y = ReadLabelImage(b);
    const size_t n = x->GetBufferedRegion().GetNumberOfPixels();
    return n == y->GetBufferedRegion().GetNumberOfPixels() &&
           std::equal(x->GetBufferPointer(), x->GetBufferPointer() + n, y->GetBufferPointer());
  };
  EXPECT_TRUE(same(m_Dir / "fast.nii.gz", m_Dir / "overlap02.nii.gz"));
  EXPECT_FALSE(same(m_Dir / "fast.nii.gz", m_Dir / "default.nii.gz")) << "--fast changed no window";
  const auto both = run({ "--fast", "--overlap", "0.5" }, m_Dir / "both.nii.gz");
  EXPECT_EQ(both.exitCode, 2) << both.err;
  EXPECT_NE(both.err.find("--fast sets the overlap"), std::string::npos) << both.err;
  EXPECT_FALSE(fs::exists(m_Dir / "both.nii.gz"));
}

TEST_F(SegmentCommand, HelpDescribesEveryOption)
{
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--help" });
  EXPECT_EQ(r.exitCode, 0);
  for (const char * option : { "--model", "--input", "--output", "--probabilities", "--patch-size", "--overlap",
                               "--blend", "--normalize", "--tta", "--threads", "--device" })
  {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

TEST_F(SegmentCommand, AVolumeOfSeveralSlicesIsNotWrittenAsA2DLabelImage)
{
  for (const char * name : { "labels.png", "labels.tif" })
  {
    const std::string output = m_Dir / name;
    const auto        r = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", Model(), "--input", Input(),
                                                          "--output", output, "--patch-size", "16,12,8" });
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_NE(r.err.find(output + ": a 2D label image holds one slice, but the label map has 20 slices along z"),
              std::string::npos)
      << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(output));
  }
  const auto post = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", Input(), "--output", m_Dir / "post.png",
                                                    "--postprocess", "largest-component" });
  EXPECT_EQ(post.exitCode, 1) << post.err;
  EXPECT_FALSE(fs::exists(m_Dir / "post.png"));
  for (const auto & entry : fs::directory_iterator(m_Dir.Path()))
    EXPECT_NE(entry.path().extension(), ".png") << entry.path();
}

// --crop-to-nonzero (issue 16): a model fooled by windows of pure background (instance norm)
// labels nothing outside the object's box when the package or the flag asks for the crop.
namespace
{
class SegmentCommandCrop : public SegmentCommand
{
protected:
  void
  SetUp() override
  {
    SegmentCommand::SetUp();
    auto model = test::MakeInstanceNormModule();
    test::SaveModule(model, m_Dir / "norm.pt");
    m_Metadata = nlohmann::json::parse(R"json({
      "format": "medseg-model", "format_version": 1, "name": "instance-norm", "version": "1.0.0",
      "architecture": { "plugin": "torchscript", "hyper_parameters": {} },
      "input": { "channels": [ { "name": "T1", "normalization": "zscore" } ] },
      "inference": { "patch_size": [8, 8, 8], "overlap": 0.5 },
      "labels": [ { "value": 0, "name": "background" }, { "value": 3, "name": "object" } ] })json");
    ASSERT_EQ(Pack("new.medseg").exitCode, 0); // no crop_to_nonzero in the metadata: pack turns it on
    m_Metadata["inference"]["crop_to_nonzero"] = false;
    ASSERT_EQ(Pack("off.medseg").exitCode, 0);
    // The ball's box, in voxels.
    std::array<long, 3> lo{ { 1000, 1000, 1000 } }, hi{ { -1, -1, -1 } };
    for (size_t i = 0; i < m_Image->GetBufferedRegion().GetNumberOfPixels(); ++i)
    {
      if (m_Image->GetBufferPointer()[i] == 0.0f)
        continue;
      const auto index = m_Image->ComputeIndex(static_cast<itk::OffsetValueType>(i));
      for (int d = 0; d < 3; ++d)
      {
        lo[d] = std::min<long>(lo[d], index[d]);
        hi[d] = std::max<long>(hi[d], index[d]);
      }
    }
    for (int d = 0; d < 3; ++d)
    {
      m_Box.SetIndex(d, lo[d]);
      m_Box.SetSize(d, static_cast<unsigned long>(hi[d] - lo[d] + 1));
    }
    ASSERT_LT(m_Box.GetNumberOfPixels(), m_Image->GetBufferedRegion().GetNumberOfPixels() / 4);
  }

  test::ProcessResult
  Pack(const std::string & name)
  {
    test::WriteText(m_Dir / "meta.json", m_Metadata.dump());
    return RunProcess(MEDSEG_EXECUTABLE, { "model", "pack", "--metadata", m_Dir / "meta.json", "--weights",
                                           m_Dir / "norm.pt", "--output", m_Dir / name });
  }

  test::ProcessResult
  SegmentWith(const std::string & package, std::vector<std::string> extra)
  {
    std::vector<std::string> args{ "segment", "--model", m_Dir / package, "--input", Input(), "--output", Output(),
                                   "--threads", "1", "--overwrite" };
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProcess(MEDSEG_EXECUTABLE, args);
  }

  /** Labelled voxels of the written label map outside the ball's box; checks the geometry too. */
  size_t
  LabelledOutsideTheBox()
  {
    const auto labels = ReadLabelImage(Output());
    EXPECT_EQ(DescribeGeometryDifference(m_Image, labels, 1e-5), "");
    size_t count = 0;
    for (size_t i = 0; i < labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
    {
      const auto index = labels->ComputeIndex(static_cast<itk::OffsetValueType>(i));
      count += !m_Box.IsInside(index) && labels->GetBufferPointer()[i] != 0;
    }
    return count;
  }

  nlohmann::json      m_Metadata;
  itk::ImageRegion<3> m_Box;
};
} // namespace

TEST_F(SegmentCommandCrop, PackagesFromPackCropAndTheFlagsOverrideThePackage)
{
  const auto info = RunProcess(MEDSEG_EXECUTABLE, { "model", "info", "--json", m_Dir / "new.medseg" });
  ASSERT_EQ(info.exitCode, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["inference"]["crop_to_nonzero"], true) << info.out;

  auto r = SegmentWith("new.medseg", {});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(LabelledOutsideTheBox(), 0u);
  EXPECT_NE(r.out.find("label 3 (object)"), std::string::npos) << r.out;

  r = SegmentWith("new.medseg", { "--no-crop-to-nonzero" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_GT(LabelledOutsideTheBox(), 1000u) << "the fixture should label windows of pure background";

  r = SegmentWith("off.medseg", {});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_GT(LabelledOutsideTheBox(), 1000u);

  r = SegmentWith("off.medseg", { "--crop-to-nonzero", "--probabilities", m_Dir / "p.nii.gz" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(LabelledOutsideTheBox(), 0u);
  EXPECT_TRUE(fs::exists(m_Dir / "p.nii.gz"));

  // Streamed runs never crop: the package's default is ignored, the flag refused.
  WriteImageFile(m_Image.GetPointer(), m_Dir / "ball.mha", false);
  const auto streamed = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "new.medseg", "--input",
                                                        m_Dir / "ball.mha", "--output", Output(), "--overwrite",
                                                        "--stream-divisions", "2", "--threads", "1" });
  ASSERT_EQ(streamed.exitCode, 0) << streamed.err;
  EXPECT_GT(LabelledOutsideTheBox(), 1000u);
}

TEST_F(SegmentCommandCrop, AnAllZeroScanGivesAnAllBackgroundLabelMap)
{
  const auto zeros = test::MakeImage(test::WithDirection({}, "oblique"), [](long, long, long) { return 0.0f; });
  WriteImageFile(zeros.GetPointer(), m_Dir / "zeros.nii.gz");
  const auto r = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "new.medseg", "--input",
                                                 m_Dir / "zeros.nii.gz", "--output", Output() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto labels = ReadLabelImage(Output());
  EXPECT_EQ(DescribeGeometryDifference(zeros, labels, 1e-5), "");
  const auto * v = labels->GetBufferPointer();
  EXPECT_TRUE(std::all_of(v, v + labels->GetBufferedRegion().GetNumberOfPixels(), [](auto l) { return l == 0; }));
}

TEST_F(SegmentCommandCrop, ContradictoryOrUnsupportedCropFlagsAreUsageErrors)
{
  const auto check = [&](const test::ProcessResult & r, const std::string & text) {
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(Output()));
  };
  check(SegmentWith("new.medseg", { "--crop-to-nonzero", "--no-crop-to-nonzero" }), "contradict");
  // Flag contradictions are found before the model is opened: a broken archive is not reported.
  test::WriteText(m_Dir / "broken.medseg", "not an archive");
  check(SegmentWith("broken.medseg", { "--crop-to-nonzero", "--no-crop-to-nonzero" }), "contradict");
  WriteImageFile(m_Image.GetPointer(), m_Dir / "ball.mha", false);
  check(RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "new.medseg", "--input", m_Dir / "ball.mha",
                                        "--output", Output(), "--stream-divisions", "2", "--crop-to-nonzero" }),
        "--crop-to-nonzero cannot be combined with --stream-divisions");
  check(Segment({ "--crop-to-nonzero" }), "--crop-to-nonzero needs a model package");

  const auto help = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--help" });
  EXPECT_NE(help.out.find("--crop-to-nonzero"), std::string::npos);
  EXPECT_NE(help.out.find("--no-crop-to-nonzero"), std::string::npos);
}

// One path for every MedSeg model (issue 13): a bare TorchScript file runs as the package the
// command line describes, so packing it with what the flags say changes nothing, byte for byte.
TEST_F(SegmentCommand, ABareModelAndTheSameModelPackedGiveIdenticalLabels)
{
  auto conv = test::MakeConvolutionModule(3); // 3 classes, blending matters
  test::SaveModule(conv, m_Dir / "conv.pt");
  test::WriteText(m_Dir / "meta.json", R"json({
      "format": "medseg-model", "format_version": 1, "name": "conv", "version": "1.0.0",
      "architecture": { "plugin": "torchscript", "hyper_parameters": {} },
      "input": { "channels": [ { "name": "T1", "normalization": "zscore" } ] },
      "inference": { "patch_size": [16, 12, 8], "overlap": 0.5, "crop_to_nonzero": false },
      "labels": [ { "value": 0, "name": "a" }, { "value": 1, "name": "b" }, { "value": 2, "name": "c" } ] })json");
  const auto pack = RunProcess(MEDSEG_EXECUTABLE, { "model", "pack", "--metadata", m_Dir / "meta.json", "--weights",
                                                    m_Dir / "conv.pt", "--output", m_Dir / "conv.medseg" });
  ASSERT_EQ(pack.exitCode, 0) << pack.err;
  const auto bare = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "conv.pt", "--input", Input(),
                                                    "--output", m_Dir / "bare.nii.gz", "--patch-size", "16,12,8",
                                                    "--overlap", "0.5", "--threads", "1" });
  ASSERT_EQ(bare.exitCode, 0) << bare.err;
  const auto packed = RunProcess(MEDSEG_EXECUTABLE, { "segment", "--model", m_Dir / "conv.medseg", "--input", Input(),
                                                      "--output", m_Dir / "packed.nii.gz", "--threads", "1" });
  ASSERT_EQ(packed.exitCode, 0) << packed.err;
  EXPECT_EQ(test::ReadText(m_Dir / "bare.nii.gz"), test::ReadText(m_Dir / "packed.nii.gz")); // the file's bytes
  const auto labels = ReadLabelImage(m_Dir / "bare.nii.gz");
  std::set<unsigned int> seen(labels->GetBufferPointer(),
                              labels->GetBufferPointer() + labels->GetBufferedRegion().GetNumberOfPixels());
  EXPECT_EQ(seen.size(), 3u) << "every class should appear for the comparison to mean something";
  EXPECT_NE(bare.out.find("(3 classes)"), std::string::npos) << bare.out;
}

// Progress covers the whole run: every phase is drawn, in order, and the bar ends at 100 %.
TEST_F(SegmentCommand, TheProgressLineCoversEveryPhaseOfTheRun)
{
  test::ProcessOptions options;
  options.environment.emplace_back("MEDSEG_PROGRESS", "1");
  const auto r = RunProcess(MEDSEG_EXECUTABLE,
                            { "segment", "--model", Model(), "--input", Input(), "--output", Output(), "--patch-size",
                              "16,12,8", "--normalize", "none", "--threads", "1", "--postprocess", "largest-component" },
                            options);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  size_t at = 0;
  for (const char * phase : { "reading", "loading model", "inference", "post-processing", "writing" })
  {
    const size_t found = r.err.find(std::string("segment ") + phase, at);
    ASSERT_NE(found, std::string::npos) << phase << " missing or out of order in: " << r.err;
    at = found;
  }
  EXPECT_NE(r.err.find("100%", at), std::string::npos) << r.err;
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_NE(r.out.find(", 1 thread(s)\n"), std::string::npos) << "the summary names the threads: " << r.out;
  // The default (--threads 0) takes OMP_NUM_THREADS where it is set, as the summary says.
  test::ProcessOptions three;
  three.environment.emplace_back("OMP_NUM_THREADS", "3");
  const auto byDefault = RunProcess(MEDSEG_EXECUTABLE,
                                    { "segment", "--model", Model(), "--input", Input(), "--output", Output(),
                                      "--patch-size", "16,12,8", "--normalize", "none", "--overwrite" },
                                    three);
  ASSERT_EQ(byDefault.exitCode, 0) << byDefault.err;
  EXPECT_NE(byDefault.out.find(", 3 thread(s)\n"), std::string::npos) << byDefault.out;
  // Without the variable (and not on a terminal) nothing is drawn.
  const auto quiet = Segment({ "--overwrite" });
  ASSERT_EQ(quiet.exitCode, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("ETA"), std::string::npos) << quiet.err;
}
