// End-to-end tests of `medseg segment` on 2D pictures: the real executable on generated RGB and grey
// images and 2D model packages. The 3D tests are in medsegSegmentCommandGTest.cxx.
#include "medsegFixtureModels.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"
#include "itkRGBAPixel.h"
#include "itkRGBPixel.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;
using namespace medseg;
using test::RunProcess;


// 2D images as model inputs and outputs: an RGB PNG gives three channels (R, G, B) to a 2D model
// package and the label map comes back as a 2D PNG.
namespace
{
using RGBImage2 = itk::Image<itk::RGBPixel<unsigned char>, 2>;

class SegmentCommand2D : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    // R > G in a diagonal band pattern; B > G exactly where R is not, so a model that saw the
    // channels in another order (B, G, R or G, R, B) would give a different answer everywhere.
    m_RGB = RGBImage2::New();
    RGBImage2::SizeType size{ { 23, 17 } };
    m_RGB->SetRegions(size);
    m_RGB->Allocate();
    for (long y = 0; y < 17; ++y)
    {
      for (long x = 0; x < 23; ++x)
      {
        const bool                   redWins = (x + 2 * y) % 7 < 3 || (x > 15 && y < 5);
        const unsigned char          g = static_cast<unsigned char>(60 + 5 * x + 3 * y);
        itk::RGBPixel<unsigned char> p;
        p.SetGreen(g);
        p.SetRed(static_cast<unsigned char>(redWins ? g + 1 + (x % 4) : g - 1 - (y % 5)));
        p.SetBlue(static_cast<unsigned char>(redWins ? g - 2 : g + 2));
        m_RGB->SetPixel({ { x, y } }, p);
        m_Foreground += redWins;
      }
    }
    RegisterImageIOFactories();
    auto writer = itk::ImageFileWriter<RGBImage2>::New();
    writer->SetInput(m_RGB);
    writer->SetFileName(RGB());
    writer->Update();

    auto model = test::MakeChannelComparisonModule(0, 1);
    test::SaveModule(model, m_Dir / "weights.pt");
    ASSERT_EQ(Pack({ "R", "G", "B" }, m_Dir / "rgb.medseg").exitCode, 0);
  }

  /** A 2D package comparing channel 0 with channel 1, taking the channels named `channels`. */
  test::ProcessResult
  Pack(const std::vector<std::string> & channels, const std::string & output, int sliceAxis = 2)
  {
    nlohmann::json metadata = nlohmann::json::parse(R"json({
      "format": "medseg-model", "format_version": 1, "name": "red-over-green", "version": "1.0.0",
      "architecture": { "plugin": "torchscript", "hyper_parameters": {} },
      "input": { "channels": [], "spatial_dims": 2, "slice_axis": 2 },
      "inference": { "patch_size": [16, 16, 1], "overlap": 0.25 },
      "labels": [ { "value": 0, "name": "background" }, { "value": 1, "name": "red" } ] })json");
    for (const auto & name : channels)
      metadata["input"]["channels"].push_back({ { "name", name }, { "normalization", "none" } });
    metadata["input"]["slice_axis"] = sliceAxis;
    metadata["inference"]["patch_size"] = { sliceAxis == 0 ? 1 : 16, sliceAxis == 1 ? 1 : 16, sliceAxis == 2 ? 1 : 16 };
    test::WriteText(m_Dir / "meta.json", metadata.dump());
    return RunProcess(MEDSEG_EXECUTABLE, { "model", "pack", "--metadata", m_Dir / "meta.json", "--weights",
                                           m_Dir / "weights.pt", "--output", output });
  }

  std::string
  RGB() const
  {
    return m_Dir / "rgb.png";
  }

  test::ProcessResult
  Segment(const std::vector<std::string> & inputs, const std::string & output,
          const std::string & package = "", std::vector<std::string> extra = {})
  {
    std::vector<std::string> args{ "segment", "--model", package.empty() ? m_Dir / "rgb.medseg" : package };
    for (const auto & input : inputs)
      args.insert(args.end(), { "--input", input });
    args.insert(args.end(), { "--output", output, "--threads", "1" });
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProcess(MEDSEG_EXECUTABLE, args);
  }

  /** Exit code 1, one line naming `path` and `problem`, and no file (not even a temporary) left. */
  void
  ExpectRefused(const test::ProcessResult & r, const std::string & path, const std::string & problem,
                const std::string & output)
  {
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
    EXPECT_FALSE(fs::exists(output));
    ExpectNoTemporaryFiles();
  }

  void
  ExpectNoTemporaryFiles()
  {
    for (const auto & entry : fs::directory_iterator(m_Dir.Path()))
      EXPECT_NE(entry.path().filename().string().rfind(".medseg-", 0), 0u) << entry.path();
  }

  /** Every pixel of the label image at `path` is 1 where R > G, else 0. */
  void
  ExpectRedOverGreenLabels(const std::string & path)
  {
    const auto labels = ReadLabelImage(path);
    const auto size = labels->GetLargestPossibleRegion().GetSize();
    ASSERT_EQ(size[0], 23u);
    ASSERT_EQ(size[1], 17u);
    ASSERT_EQ(size[2], 1u);
    size_t mismatches = 0, foreground = 0;
    for (long y = 0; y < 17; ++y)
    {
      for (long x = 0; x < 23; ++x)
      {
        const auto     p = m_RGB->GetPixel({ { x, y } });
        const unsigned expected = p.GetRed() > p.GetGreen() ? 1 : 0;
        mismatches += labels->GetPixel({ { x, y, 0 } }) != expected;
        foreground += expected;
      }
    }
    EXPECT_EQ(foreground, m_Foreground);
    EXPECT_EQ(mismatches, 0u);
  }

  test::TemporaryDirectory m_Dir;
  RGBImage2::Pointer       m_RGB;
  size_t                   m_Foreground{ 0 };
};
} // namespace

TEST_F(SegmentCommand2D, AnRGBPngGivesA2DLabelPngWithTheExpectedLabels)
{
  ASSERT_GT(m_Foreground, 50u);
  ASSERT_LT(m_Foreground, 23u * 17u - 50u);
  const std::string mask = m_Dir / "mask.png";
  const auto        r = Segment({ RGB() }, mask);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("label 1 (red): " + std::to_string(m_Foreground) + " voxels"), std::string::npos) << r.out;

  // A 2D, one-component, 8-bit PNG.
  auto io = itk::ImageIOFactory::CreateImageIO(mask.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
  ASSERT_TRUE(io);
  EXPECT_STREQ(io->GetNameOfClass(), "PNGImageIO");
  io->SetFileName(mask);
  io->ReadImageInformation();
  EXPECT_EQ(io->GetNumberOfDimensions(), 2u);
  EXPECT_EQ(io->GetNumberOfComponents(), 1u);
  EXPECT_EQ(io->GetComponentType(), itk::IOComponentEnum::UCHAR);
  ExpectRedOverGreenLabels(mask);
  ExpectNoTemporaryFiles();

  // The same channels as three grey PNGs, in the same order, give the same labels (as TIFF).
  for (int c = 0; c < 3; ++c)
  {
    using GreyImage2 = itk::Image<unsigned char, 2>;
    auto grey = GreyImage2::New();
    grey->SetRegions(m_RGB->GetLargestPossibleRegion());
    grey->Allocate();
    for (size_t i = 0; i < 23 * 17; ++i)
      grey->GetBufferPointer()[i] = m_RGB->GetBufferPointer()[i][c];
    auto writer = itk::ImageFileWriter<GreyImage2>::New();
    writer->SetInput(grey);
    writer->SetFileName(m_Dir / ("channel" + std::to_string(c) + ".png"));
    writer->Update();
  }
  const auto grey = Segment({ m_Dir / "channel0.png", m_Dir / "channel1.png", m_Dir / "channel2.png" },
                            m_Dir / "mask.tif");
  ASSERT_EQ(grey.exitCode, 0) << grey.err;
  ExpectRedOverGreenLabels(m_Dir / "mask.tif");

  // Never over an existing file without --overwrite, never over an input even with it.
  const auto again = Segment({ RGB() }, mask);
  EXPECT_EQ(again.exitCode, 1);
  EXPECT_NE(again.err.find("--overwrite"), std::string::npos) << again.err;
  EXPECT_EQ(Segment({ RGB() }, mask, "", { "--overwrite" }).exitCode, 0);
  ExpectRedOverGreenLabels(mask);
  const auto overInput = Segment({ RGB() }, RGB(), "", { "--overwrite" });
  EXPECT_EQ(overInput.exitCode, 1);
  EXPECT_NE(overInput.err.find("is an input image"), std::string::npos) << overInput.err;
  EXPECT_EQ(ReadChannelImages(RGB()).size(), 3u);
}

TEST_F(SegmentCommand2D, RefusesAChannelCountThatDoesNotMatchThePackage)
{
  const std::string mask = m_Dir / "mask.png";
  ASSERT_EQ(Pack({ "R", "G" }, m_Dir / "two.medseg").exitCode, 0);
  ExpectRefused(Segment({ RGB() }, mask, m_Dir / "two.medseg"), RGB(),
                "gives 3 channels (R, G, B); the --input files give 3 channels in all, but model 'red-over-green' "
                "takes 2 input(s) (R, G)",
                mask);

  // An RGB image and a grey one give four channels for a three-channel model.
  ASSERT_EQ(Segment({ m_Dir / "rgb.png" }, m_Dir / "first.png").exitCode, 0);
  ExpectRefused(Segment({ RGB(), m_Dir / "first.png" }, mask), RGB(), "give 4 channels in all", mask);

  // Grey inputs only: the usage error as before.
  const auto grey = Segment({ m_Dir / "first.png" }, mask);
  EXPECT_EQ(grey.exitCode, 2) << grey.err;
  EXPECT_NE(grey.err.find("takes 3 input(s) (R, G, B), 1 --input given"), std::string::npos) << grey.err;
  EXPECT_FALSE(fs::exists(mask));
}

TEST_F(SegmentCommand2D, RefusesAPictureForAModelThatSlicesAcrossXOrY)
{
  const std::string mask = m_Dir / "mask.png";
  for (int axis : { 0, 1 })
  {
    const std::string package = m_Dir / ("axis" + std::to_string(axis) + ".medseg");
    ASSERT_EQ(Pack({ "R", "G", "B" }, package, axis).exitCode, 0);
    ExpectRefused(Segment({ RGB() }, mask, package), RGB(),
                  std::string("holds one slice across z, but the package's 2D model takes slices across ") +
                    (axis == 0 ? "x" : "y"),
                  mask);
  }
}

TEST_F(SegmentCommand2D, RefusesAPictureForA3DModelBeforeRunningIt)
{
  // A 3D package and a bare TorchScript file (run in 3D) over a 2D picture: one line naming the
  // picture and the model, not the network's own error.
  nlohmann::json metadata = nlohmann::json::parse(R"json({
    "format": "medseg-model", "format_version": 1, "name": "volumetric", "version": "1.0.0",
    "architecture": { "plugin": "torchscript", "hyper_parameters": {} },
    "input": { "channels": [ { "name": "R" }, { "name": "G" }, { "name": "B" } ], "spatial_dims": 3 },
    "inference": { "patch_size": [16, 16, 16] },
    "labels": [ { "value": 0, "name": "background" }, { "value": 1, "name": "red" } ] })json");
  test::WriteText(m_Dir / "meta3d.json", metadata.dump());
  ASSERT_EQ(RunProcess(MEDSEG_EXECUTABLE, { "model", "pack", "--metadata", m_Dir / "meta3d.json", "--weights",
                                            m_Dir / "weights.pt", "--output", m_Dir / "volumetric.medseg" })
              .exitCode,
            0);
  const std::string mask = m_Dir / "mask.png";
  ExpectRefused(Segment({ RGB() }, mask, m_Dir / "volumetric.medseg"), RGB(),
                "is a 2D image (one slice of 23 x 17), but model 'volumetric' is a 3D model (patches 16 x 16 x 16)",
                mask);
  ExpectRefused(Segment({ RGB() }, mask, m_Dir / "weights.pt"), RGB(), "weights.pt runs as a 3D model", mask);
}

TEST_F(SegmentCommand2D, RefusesJPEGLabelsAndAlphaInputs)
{
  for (const char * name : { "mask.jpg", "mask.jpeg" })
    ExpectRefused(Segment({ RGB() }, m_Dir / name), m_Dir / name, "JPEG is lossy", m_Dir / name);
  ExpectRefused(Segment({ RGB() }, m_Dir / "mask.bmp"), m_Dir / "mask.bmp", "unsupported label map format",
                m_Dir / "mask.bmp");

  using RGBAImage2 = itk::Image<itk::RGBAPixel<unsigned char>, 2>;
  auto rgba = RGBAImage2::New();
  rgba->SetRegions(m_RGB->GetLargestPossibleRegion());
  rgba->Allocate(true);
  auto writer = itk::ImageFileWriter<RGBAImage2>::New();
  writer->SetInput(rgba);
  writer->SetFileName(m_Dir / "rgba.png");
  writer->Update();
  ExpectRefused(Segment({ m_Dir / "rgba.png" }, m_Dir / "mask.png"), m_Dir / "rgba.png", "alpha",
                m_Dir / "mask.png");
}

TEST_F(SegmentCommand2D, PostprocessAndEvaluateRead2DLabelImages)
{
  ASSERT_EQ(Segment({ RGB() }, m_Dir / "mask.png").exitCode, 0);
  const auto post = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", m_Dir / "mask.png", "--output",
                                                    m_Dir / "post.png", "--postprocess", "largest-component" });
  ASSERT_EQ(post.exitCode, 0) << post.err;
  const auto largest = ReadLabelImage(m_Dir / "post.png");
  const auto mask = ReadLabelImage(m_Dir / "mask.png");
  size_t     kept = 0, added = 0;
  for (size_t i = 0; i < 23 * 17; ++i)
  {
    kept += largest->GetBufferPointer()[i] == 1;
    added += largest->GetBufferPointer()[i] == 1 && mask->GetBufferPointer()[i] != 1;
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, m_Foreground); // the band pattern has several components
  EXPECT_EQ(added, 0u);

  const auto same = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", m_Dir / "mask.png", "--prediction",
                                                    m_Dir / "mask.png" });
  ASSERT_EQ(same.exitCode, 0) << same.err;
  EXPECT_NE(same.out.find("label 1: Dice 1.0000"), std::string::npos) << same.out;
  EXPECT_NE(same.out.find("HD 0.0000 mm"), std::string::npos) << same.out;

  // Folders of 2D label images are matched by file name.
  fs::create_directories(m_Dir / "refs");
  fs::create_directories(m_Dir / "preds");
  fs::copy_file(m_Dir / "mask.png", m_Dir / "refs/case.png");
  fs::copy_file(m_Dir / "post.png", m_Dir / "preds/case.png");
  const auto folders = RunProcess(MEDSEG_EXECUTABLE, { "evaluate", "--reference", m_Dir / "refs", "--prediction",
                                                       m_Dir / "preds" });
  ASSERT_EQ(folders.exitCode, 0) << folders.err;
  const double dice = 2.0 * kept / (kept + m_Foreground);
  std::ostringstream expected;
  expected << "case.png  label 1: Dice " << std::fixed << std::setprecision(4) << dice;
  EXPECT_NE(folders.out.find(expected.str()), std::string::npos) << folders.out;

  // Labels are never written as JPEG.
  const auto volume = RunProcess(MEDSEG_EXECUTABLE, { "postprocess", "--input", m_Dir / "mask.png", "--output",
                                                      m_Dir / "post.jpg", "--postprocess", "largest-component" });
  EXPECT_EQ(volume.exitCode, 1);
  EXPECT_NE(volume.err.find("JPEG is lossy"), std::string::npos) << volume.err;
}
