#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegExpectInputError.h"
#include "medsegTestHelpers.h"

#include "itkGDCMImageIO.h"
#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"
#include "itkImageSeriesWriter.h"
#include "itkMetaDataObject.h"
#include "itkNumericSeriesFileNames.h"
#include "itkRGBAPixel.h"
#include "itkRGBPixel.h"
#include "itkVector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>

#include <sys/resource.h>

namespace fs = std::filesystem;
using namespace medseg;
using medseg::test::Geometry;
using medseg::test::ExpectInputError;
using medseg::test::TemporaryDirectory;

namespace
{

/** A MetaImage with a hand-written header and `voxels` float voxels after it. */
void
WriteMetaImage(const std::string & path, const std::string & headerLines, size_t voxels)
{
  std::string text = "ObjectType = Image\n" + headerLines + "ElementType = MET_FLOAT\nElementDataFile = LOCAL\n";
  text.append(voxels * sizeof(float), '\0');
  medseg::test::WriteText(path, text);
}

Geometry
ObliqueGeometry()
{
  Geometry g = medseg::test::WithDirection(Geometry{}, "oblique");
  g.size = { 7, 6, 5 };
  g.spacing = { 0.8, 1.2, 2.5 };
  g.origin = { -10.5, 3.25, 40.0 };
  return g;
}

void
ExpectSameGeometryAndVoxels(const FloatImage3 * expected, const FloatImage3 * actual)
{
  EXPECT_EQ(DescribeGeometryDifference(expected, actual, 1e-5), "");
  const size_t n = expected->GetBufferedRegion().GetNumberOfPixels();
  ASSERT_EQ(n, actual->GetBufferedRegion().GetNumberOfPixels());
  for (size_t i = 0; i < n; ++i)
  {
    ASSERT_FLOAT_EQ(expected->GetBufferPointer()[i], actual->GetBufferPointer()[i]) << "voxel " << i;
  }
}

} // namespace

class ImageRoundTrip : public ::testing::TestWithParam<std::string>
{};

TEST_P(ImageRoundTrip, KeepsVoxelsAndGeometry)
{
  TemporaryDirectory dir;
  const auto         image = medseg::test::MakeImage(ObliqueGeometry(), [](long x, long y, long z) {
    return static_cast<float>(x + 10 * y + 100 * z);
  });
  const std::string path = dir / ("image" + GetParam());
  WriteImageFile(image.GetPointer(), path);
  ExpectSameGeometryAndVoxels(image, ReadScalarImage(path));
  // Nothing but the final file is left in the folder.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path()), fs::directory_iterator()), 1);
}

INSTANTIATE_TEST_SUITE_P(Formats, ImageRoundTrip, ::testing::Values(".nii.gz", ".nii", ".nrrd", ".mha"),
                         [](const auto & info) {
                           std::string name = info.param.substr(1);
                           for (auto & c : name)
                             if (c == '.')
                               c = '_';
                           return name;
                         });

TEST(ImageFileIO, ReadsADicomSeriesFolderWithItsGeometry)
{
  TemporaryDirectory dir;
  Geometry           g;
  g.size = { 8, 6, 5 };
  g.spacing = { 0.5, 0.75, 2.0 };
  g.origin = { -20.0, 5.0, 12.0 };
  const auto image = medseg::test::MakeImage(g, [](long x, long y, long z) {
    return static_cast<float>(x + 10 * y + 100 * z);
  });

  // Slices with the tags a scanner writes: position, orientation, spacing, one series UID.
  using SliceImage = itk::Image<short, 2>;
  using ShortImage = itk::Image<short, 3>;
  auto shortImage = ShortImage::New();
  shortImage->CopyInformation(image);
  shortImage->SetRegions(image->GetLargestPossibleRegion());
  shortImage->Allocate();
  for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    shortImage->GetBufferPointer()[i] = static_cast<short>(image->GetBufferPointer()[i]);
  }
  auto gdcm = itk::GDCMImageIO::New();
  auto writer = itk::ImageSeriesWriter<ShortImage, SliceImage>::New();
  itk::ImageSeriesWriter<ShortImage, SliceImage>::DictionaryArrayType dictionaries;
  std::vector<itk::MetaDataDictionary>                                 storage(g.size[2]);
  std::vector<std::string>                                             names;
  for (unsigned int z = 0; z < g.size[2]; ++z)
  {
    auto & d = storage[z];
    itk::EncapsulateMetaData<std::string>(d, "0020|000e", "1.2.826.0.1.3680043.2.1125.1");
    itk::EncapsulateMetaData<std::string>(d, "0020|000d", "1.2.826.0.1.3680043.2.1125.2");
    itk::EncapsulateMetaData<std::string>(d, "0008|0060", "MR");
    itk::EncapsulateMetaData<std::string>(d, "0020|0013", std::to_string(z + 1));
    itk::EncapsulateMetaData<std::string>(d, "0020|0037", "1\\0\\0\\0\\1\\0");
    std::ostringstream position;
    position << g.origin[0] << '\\' << g.origin[1] << '\\' << g.origin[2] + z * g.spacing[2];
    itk::EncapsulateMetaData<std::string>(d, "0020|0032", position.str());
    itk::EncapsulateMetaData<std::string>(d, "0028|0030", "0.75\\0.5");
    itk::EncapsulateMetaData<std::string>(d, "0018|0050", "2");
    names.push_back(dir / ("slice" + std::to_string(z) + ".dcm"));
  }
  for (auto & d : storage)
  {
    dictionaries.push_back(&d);
  }
  writer->SetInput(shortImage);
  writer->SetImageIO(gdcm);
  writer->SetFileNames(names);
  writer->SetMetaDataDictionaryArray(&dictionaries);
  writer->Update();

  const auto read = ReadScalarImage(dir.Path());
  ExpectSameGeometryAndVoxels(image, read);
}

TEST(ImageFileIO, RefusesAMissingFile)
{
  TemporaryDirectory dir;
  const std::string  path = dir / "absent.nii.gz";
  ExpectInputError([&] { ReadScalarImage(path); }, path, "no such file");
}

TEST(ImageFileIO, RefusesAFileThatIsNotAnImage)
{
  TemporaryDirectory dir;
  const std::string  path = dir / "notes.txt";
  medseg::test::WriteText(path, "this is not an image\n");
  ExpectInputError([&] { ReadScalarImage(path); }, path, "not in an image format");
}

TEST(ImageFileIO, RefusesAnEmptyFile)
{
  TemporaryDirectory dir;
  const std::string  path = dir / "empty.nii.gz";
  medseg::test::WriteText(path, "");
  ExpectInputError([&] { ReadScalarImage(path); }, path, "empty file");
}

class TruncatedFile : public ::testing::TestWithParam<std::string>
{};

TEST_P(TruncatedFile, IsRefused)
{
  TemporaryDirectory dir;
  Geometry           g;
  g.size = { 32, 32, 32 };
  const auto image = medseg::test::MakeImage(g, [](long x, long y, long z) {
    return static_cast<float>((x * 7 + y * 13 + z * 29) % 97);
  });
  const std::string path = dir / ("image" + GetParam());
  WriteImageFile(image.GetPointer(), path);
  fs::resize_file(path, fs::file_size(path) / 2);
  ExpectInputError([&] { ReadScalarImage(path); }, path, GetParam() == ".nrrd" ? "" : "truncated");
}

INSTANTIATE_TEST_SUITE_P(Formats, TruncatedFile, ::testing::Values(".nii.gz", ".nii", ".mha", ".nrrd"),
                         [](const auto & info) {
                           std::string name = info.param.substr(1);
                           for (auto & c : name)
                             if (c == '.')
                               c = '_';
                           return name;
                         });

TEST(ImageFileIO, RefusesA4DFileWithSeveralVolumes)
{
  TemporaryDirectory dir;
  using Image4 = itk::Image<float, 4>;
  auto             image = Image4::New();
  Image4::SizeType size{ { 4, 4, 4, 3 } };
  image->SetRegions(size);
  image->Allocate(true);
  const std::string path = dir / "series.nii.gz";
  WriteImageFile(image.GetPointer(), path);
  ExpectInputError([&] { ReadScalarImage(path); }, path, "4D with 3 volumes");
}

TEST(ImageFileIO, ReadsA4DFilesVolumesAsChannelsWhenAskedTo)
{
  // MONAI's LoadImaged + EnsureChannelFirstd: a 4D NIfTI's volumes are the channels.
  TemporaryDirectory dir;
  using Image4 = itk::Image<float, 4>;
  auto             image = Image4::New();
  Image4::SizeType size{ { 5, 4, 3, 2 } };
  image->SetRegions(size);
  image->Allocate();
  Image4::SpacingType spacing;
  spacing[0] = 0.5, spacing[1] = 1.5, spacing[2] = 2.5, spacing[3] = 1.0;
  image->SetSpacing(spacing);
  Image4::PointType origin;
  origin[0] = -10, origin[1] = 4, origin[2] = 7, origin[3] = 0;
  image->SetOrigin(origin);
  for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
    image->GetBufferPointer()[i] = static_cast<float>(i);
  const std::string path = dir / "two.nii.gz";
  WriteImageFile(image.GetPointer(), path);
  const auto channels = ReadVolumeChannels(path);
  ASSERT_EQ(channels.size(), 2u);
  for (size_t c = 0; c < 2; ++c)
  {
    EXPECT_EQ(channels[c]->GetLargestPossibleRegion().GetSize(), (FloatImage3::SizeType{ { 5, 4, 3 } }));
    EXPECT_NEAR(channels[c]->GetSpacing()[2], 2.5, 1e-6);
    EXPECT_NEAR(channels[c]->GetOrigin()[0], -10.0, 1e-5);
    EXPECT_FLOAT_EQ(channels[c]->GetBufferPointer()[7], static_cast<float>(c * 60 + 7));
  }
  // ReadScalarImage (and so every model package input) still refuses the 4D file.
  ExpectInputError([&] { ReadScalarImage(path); }, path, "4D with 2 volumes");
}

TEST(ImageFileIO, AcceptsA4DFileWithOneVolume)
{
  TemporaryDirectory dir;
  using Image4 = itk::Image<float, 4>;
  auto             image = Image4::New();
  Image4::SizeType size{ { 5, 4, 3, 1 } };
  image->SetRegions(size);
  image->Allocate();
  image->FillBuffer(7.0f);
  const std::string path = dir / "one.nii.gz";
  WriteImageFile(image.GetPointer(), path);
  const auto read = ReadScalarImage(path);
  EXPECT_EQ(read->GetLargestPossibleRegion().GetSize(), (FloatImage3::SizeType{ { 5, 4, 3 } }));
  EXPECT_FLOAT_EQ(read->GetBufferPointer()[0], 7.0f);
}

TEST(ImageFileIO, RefusesAVectorImage)
{
  TemporaryDirectory dir;
  using VectorImage = itk::Image<itk::Vector<float, 3>, 3>;
  auto                  image = VectorImage::New();
  VectorImage::SizeType size{ { 4, 4, 4 } };
  image->SetRegions(size);
  image->Allocate(true);
  const std::string path = dir / "vectors.mha";
  WriteImageFile(image.GetPointer(), path);
  ExpectInputError([&] { ReadScalarImage(path); }, path, "3 components per voxel");
}

TEST(ImageFileIO, RefusesNaNAndInfVoxelsNamingTheFirst)
{
  TemporaryDirectory dir;
  Geometry           g;
  g.size = { 4, 4, 4 };
  const auto image = medseg::test::MakeImage(g, [](long x, long y, long z) {
    if (x == 1 && y == 2 && z == 3)
      return std::numeric_limits<float>::quiet_NaN();
    if (x == 3 && y == 3 && z == 3)
      return std::numeric_limits<float>::infinity();
    return 1.0f;
  });
  // NIfTI's reader turns NaN into 0 silently, so each format is checked.
  for (const char * extension : { ".nrrd", ".nii.gz", ".nii", ".mha" })
  {
    const std::string path = dir / (std::string("nan") + extension);
    WriteImageFile(image.GetPointer(), path);
    ExpectInputError([&] { ReadScalarImage(path); }, path, "2 NaN or Inf voxel(s), the first at index [1,2,3]");
  }
}

TEST(ImageFileIO, RefusesZeroNegativeAndNonFiniteSpacing)
{
  TemporaryDirectory dir;
  const std::string  zero = dir / "zero.mha";
  WriteMetaImage(zero, "NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 0 1\n", 8);
  ExpectInputError([&] { ReadScalarImage(zero); }, zero, "spacing along axis 1 is 0");
  const std::string negative = dir / "negative.mha";
  WriteMetaImage(negative, "NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 1 -2\n", 8);
  ExpectInputError([&] { ReadScalarImage(negative); }, negative, "spacing along axis 2 is -2");
  const std::string nan = dir / "nan.mha";
  WriteMetaImage(nan, "NDims = 3\nDimSize = 2 2 2\nElementSpacing = nan 1 1\n", 8);
  ExpectInputError([&] { ReadScalarImage(nan); }, nan, "");
}

TEST(ImageFileIO, RefusesANonOrthonormalDirection)
{
  TemporaryDirectory dir;
  const std::string  path = dir / "sheared.mha";
  WriteMetaImage(path, "NDims = 3\nDimSize = 2 2 2\nTransformMatrix = 1 0 0 0.5 1 0 0 0 1\n", 8);
  ExpectInputError([&] { ReadScalarImage(path); }, path, "is not orthonormal");
}

TEST(ImageFileIO, RefusesAnEmptyImage)
{
  TemporaryDirectory dir;
  const std::string  path = dir / "empty.mha";
  WriteMetaImage(path, "NDims = 3\nDimSize = 4 0 4\n", 0);
  ExpectInputError([&] { ReadScalarImage(path); }, path, "empty");
}

TEST(ImageFileIO, ReadsLabelMapsAndRefusesFractionalLabels)
{
  TemporaryDirectory dir;
  Geometry           g;
  g.size = { 3, 3, 3 };
  const std::string good = dir / "labels.nii.gz";
  WriteImageFile(medseg::test::MakeImage(g, [](long x, long, long) { return static_cast<float>(x); }).GetPointer(),
             good);
  const auto labels = ReadLabelImage(good);
  EXPECT_EQ(labels->GetPixel({ { 2, 0, 0 } }), 2);
  const std::string bad = dir / "fractional.nii.gz";
  WriteImageFile(medseg::test::MakeImage(g, [](long x, long, long) { return x == 1 ? 1.5f : 0.0f; }).GetPointer(),
             bad);
  ExpectInputError([&] { ReadLabelImage(bad); }, bad, "holds 1.5");
}

TEST(AtomicWrite, AWriteCutShortByAFileSizeLimitLeavesNoFileUnderTheFinalName)
{
  // ITK's NIfTI writer does not report a failed write (EFBIG here, ENOSPC on a full disk): found
  // by medseg batch's full-disk test, where segment exited 0 with a truncated label map.
  TemporaryDirectory dir;
  Geometry           g;
  g.size = { 64, 64, 64 };
  const auto image = medseg::test::MakeImage(g, [](long x, long y, long z) {
    return static_cast<float>((x * 7919 + y * 104729 + z * 1299709) % 1000);
  });
  const std::string path = dir / "big.nii.gz";
  rlimit            saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  rlimit     small = saved;
  small.rlim_cur = 4096; // the image compresses to about 21 KiB
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  bool refused = false;
  try
  {
    WriteImageFile(image.GetPointer(), path);
  }
  catch (const InputError & e)
  {
    refused = std::string(e.what()).find("was not written completely") != std::string::npos;
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);
  EXPECT_TRUE(refused);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path()), fs::directory_iterator()), 0) << "a temporary is left";
  WriteImageFile(image.GetPointer(), path); // without the limit it is written and reads back
  EXPECT_EQ(ReadScalarImage(path)->GetLargestPossibleRegion().GetNumberOfPixels(), 64u * 64u * 64u);
}

TEST(AtomicWrite, AFailedWriteLeavesNoFileUnderTheFinalName)
{
  TemporaryDirectory dir;
  Geometry           g;
  const auto         image = medseg::test::MakeImage(g, [](long, long, long) { return 1.0f; });
  // Writing into a folder that does not exist fails inside ITK, before a final file exists.
  const std::string path = dir / "missing-folder/out.nii.gz";
  EXPECT_THROW(WriteImageFile(image.GetPointer(), path), InputError);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.Path()));
}

TEST(AtomicWrite, ReplacesAnExistingFileOnlyWhenDone)
{
  TemporaryDirectory dir;
  Geometry           g;
  const std::string  path = dir / "out.nii.gz";
  WriteImageFile(medseg::test::MakeImage(g, [](long, long, long) { return 1.0f; }).GetPointer(), path);
  WriteImageFile(medseg::test::MakeImage(g, [](long, long, long) { return 2.0f; }).GetPointer(), path);
  EXPECT_FLOAT_EQ(ReadScalarImage(path)->GetBufferPointer()[0], 2.0f);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path()), fs::directory_iterator()), 1);
}

TEST(AtomicWrite, CheckOutputPathRefusesBeforeAnyWork)
{
  TemporaryDirectory dir;
  ExpectInputError([&] { CheckOutputPath(dir / "out.png", false); }, dir / "out.png", "unsupported output format");
  ExpectInputError([&] { CheckOutputPath(dir / "no/out.nii", false); }, dir / "no/out.nii", "does not exist");
  medseg::test::WriteText(dir / "exists.nii", "x");
  ExpectInputError([&] { CheckOutputPath(dir / "exists.nii", false); }, dir / "exists.nii", "--overwrite");
  EXPECT_NO_THROW(CheckOutputPath(dir / "exists.nii", true));
  EXPECT_NO_THROW(CheckOutputPath(dir / "new.nii.gz", false));
}

namespace
{
using RGBImage2 = itk::Image<itk::RGBPixel<unsigned char>, 2>;

/** A 2D RGB image whose pixel (x, y) is (10x + y, 200 - 7y, x * y + 1), with in-plane spacing. */
RGBImage2::Pointer
MakeRGBImage()
{
  auto                image = RGBImage2::New();
  RGBImage2::SizeType size{ { 6, 5 } };
  image->SetRegions(size);
  const double spacing[2] = { 0.5, 0.25 };
  image->SetSpacing(spacing);
  image->Allocate();
  for (long y = 0; y < 5; ++y)
  {
    for (long x = 0; x < 6; ++x)
    {
      itk::RGBPixel<unsigned char> p;
      p.SetRed(static_cast<unsigned char>(10 * x + y));
      p.SetGreen(static_cast<unsigned char>(200 - 7 * y));
      p.SetBlue(static_cast<unsigned char>(x * y + 1));
      image->SetPixel({ { x, y } }, p);
    }
  }
  return image;
}

template <typename TImage>
void
WriteWithITK(const TImage * image, const std::string & path)
{
  RegisterImageIOFactories();
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path);
  writer->Update();
}

/** What the file says about itself: dimensions, components and pixel type, without MedSeg's reader. */
itk::ImageIOBase::Pointer
ReadHeader(const std::string & path)
{
  auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
  EXPECT_TRUE(io) << path;
  io->SetFileName(path);
  io->ReadImageInformation();
  return io;
}
} // namespace

class RGBChannels : public ::testing::TestWithParam<std::string>
{};

TEST_P(RGBChannels, AreReadAsThreeChannelsInTheOrderRGB)
{
  TemporaryDirectory dir;
  const std::string  path = dir / ("rgb" + GetParam());
  WriteWithITK(MakeRGBImage().GetPointer(), path);

  const std::vector<FloatImage3::Pointer> channels = ReadChannelImages(path);
  ASSERT_EQ(channels.size(), 3u);
  for (int c = 0; c < 3; ++c)
  {
    const FloatImage3 * channel = channels[c];
    const auto          size = channel->GetLargestPossibleRegion().GetSize();
    EXPECT_EQ(size[0], 6u);
    EXPECT_EQ(size[1], 5u);
    EXPECT_EQ(size[2], 1u);
    EXPECT_NEAR(channel->GetSpacing()[0], 0.5, 1e-4) << "channel " << c;
    EXPECT_NEAR(channel->GetSpacing()[1], 0.25, 1e-4) << "channel " << c;
    for (unsigned int d = 0; d < 3; ++d)
      EXPECT_EQ(channel->GetOrigin()[d], 0.0);
    EXPECT_EQ(DescribeGeometryDifference(channels[0], channel), "");
    for (long y = 0; y < 5; ++y)
    {
      for (long x = 0; x < 6; ++x)
      {
        const float expected = c == 0 ? 10 * x + y : (c == 1 ? 200 - 7 * y : x * y + 1);
        ASSERT_EQ(channel->GetPixel({ { x, y, 0 } }), expected) << "channel " << c << " at " << x << "," << y;
      }
    }
  }
  // A scalar reader still refuses it, naming the components.
  ExpectInputError([&] { ReadScalarImage(path); }, path, "3 components per voxel");
}

INSTANTIATE_TEST_SUITE_P(Formats, RGBChannels, ::testing::Values(".png", ".tif"),
                         [](const auto & info) { return info.param.substr(1); });

TEST(ChannelImages, AGreyImageIsOneChannel)
{
  TemporaryDirectory dir;
  using GreyImage2 = itk::Image<unsigned char, 2>;
  auto                 image = GreyImage2::New();
  GreyImage2::SizeType size{ { 4, 3 } };
  image->SetRegions(size);
  image->Allocate();
  for (long i = 0; i < 12; ++i)
    image->GetBufferPointer()[i] = static_cast<unsigned char>(20 * i);
  WriteWithITK(image.GetPointer(), dir / "grey.png");
  const auto channels = ReadChannelImages(dir / "grey.png");
  ASSERT_EQ(channels.size(), 1u);
  ASSERT_EQ(channels[0]->GetBufferedRegion().GetNumberOfPixels(), 12u);
  for (long i = 0; i < 12; ++i)
    EXPECT_EQ(channels[0]->GetBufferPointer()[i], 20.0f * i);

  // 3D volumes are one channel, as ReadScalarImage reads them.
  const auto volume = medseg::test::MakeImage(ObliqueGeometry(), [](long x, long y, long z) {
    return static_cast<float>(x - y + 3 * z);
  });
  WriteImageFile(volume.GetPointer(), dir / "volume.nii.gz");
  const auto volumeChannels = ReadChannelImages(dir / "volume.nii.gz");
  ASSERT_EQ(volumeChannels.size(), 1u);
  ExpectSameGeometryAndVoxels(volume, volumeChannels[0]);
}

TEST(ChannelImages, RefusesAlphaAndMultiComponentVolumes)
{
  TemporaryDirectory dir;
  using RGBAImage2 = itk::Image<itk::RGBAPixel<unsigned char>, 2>;
  auto                 rgba = RGBAImage2::New();
  RGBAImage2::SizeType size{ { 4, 3 } };
  rgba->SetRegions(size);
  rgba->Allocate(true);
  WriteWithITK(rgba.GetPointer(), dir / "rgba.png");
  ExpectInputError([&] { ReadChannelImages(dir / "rgba.png"); }, dir / "rgba.png", "4 components per voxel");
  ExpectInputError([&] { ReadChannelImages(dir / "rgba.png"); }, dir / "rgba.png", "save the image without alpha");

  using GreyAlphaImage2 = itk::Image<itk::Vector<unsigned char, 2>, 2>;
  auto greyAlpha = GreyAlphaImage2::New();
  greyAlpha->SetRegions(size);
  greyAlpha->Allocate(true);
  WriteWithITK(greyAlpha.GetPointer(), dir / "grey-alpha.png");
  ExpectInputError([&] { ReadChannelImages(dir / "grey-alpha.png"); }, dir / "grey-alpha.png", "alpha");

  // Three components in a volume of several slices are not RGB channels.
  using VectorImage = itk::Image<itk::Vector<float, 3>, 3>;
  auto                  vectors = VectorImage::New();
  VectorImage::SizeType volumeSize{ { 4, 4, 4 } };
  vectors->SetRegions(volumeSize);
  vectors->Allocate(true);
  WriteImageFile(vectors.GetPointer(), dir / "vectors.mha");
  ExpectInputError([&] { ReadChannelImages(dir / "vectors.mha"); }, dir / "vectors.mha",
                   "only 2D images are read as RGB channels");
  ExpectInputError([&] { ReadChannelImages(dir / "absent.png"); }, dir / "absent.png", "no such file");
}

namespace
{
/** A one-slice label map whose pixel (x, y) is value(x, y). */
LabelImage3::Pointer
MakeLabelSlice(unsigned long nx, unsigned long ny, unsigned long nz,
               const std::function<unsigned short(long, long)> & value)
{
  auto                  labels = LabelImage3::New();
  LabelImage3::SizeType size{ { nx, ny, nz } };
  labels->SetRegions(size);
  const double spacing[3] = { 0.7, 1.3, 2.0 };
  labels->SetSpacing(spacing);
  labels->Allocate();
  for (long z = 0; z < static_cast<long>(nz); ++z)
    for (long y = 0; y < static_cast<long>(ny); ++y)
      for (long x = 0; x < static_cast<long>(nx); ++x)
        labels->SetPixel({ { x, y, z } }, value(x, y));
  return labels;
}
} // namespace

class SliceLabelOutput : public ::testing::TestWithParam<std::string>
{};

TEST_P(SliceLabelOutput, IsA2DImageOf8Or16BitsWithTheLabels)
{
  TemporaryDirectory dir;
  for (const unsigned long maxLabel : { 5ul, 300ul })
  {
    const auto        labels = MakeLabelSlice(9, 7, 1, [&](long x, long y) {
      return static_cast<unsigned short>((x + 9 * y) % (maxLabel + 1));
    });
    const std::string path = dir / ("labels-" + std::to_string(maxLabel) + GetParam());
    CheckLabelOutputPath(path, false);
    WriteLabelMapFile(labels, path, maxLabel);
    const auto io = ReadHeader(path);
    EXPECT_EQ(io->GetNumberOfDimensions(), 2u);
    EXPECT_EQ(io->GetNumberOfComponents(), 1u);
    EXPECT_EQ(io->GetComponentType(), maxLabel < 256 ? itk::IOComponentEnum::UCHAR : itk::IOComponentEnum::USHORT);
    EXPECT_NEAR(io->GetSpacing(0), 0.7, 1e-4);
    EXPECT_NEAR(io->GetSpacing(1), 1.3, 1e-4);
    const auto back = ReadLabelImage(path);
    ASSERT_EQ(back->GetBufferedRegion().GetNumberOfPixels(), 63u);
    for (size_t i = 0; i < 63; ++i)
      ASSERT_EQ(back->GetBufferPointer()[i], labels->GetBufferPointer()[i]) << "pixel " << i;
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path()), fs::directory_iterator()), 2); // no temporary left
}

TEST_P(SliceLabelOutput, RefusesAVolumeOfSeveralSlicesAndLeavesNoFile)
{
  TemporaryDirectory dir;
  const auto         labels = MakeLabelSlice(5, 4, 3, [](long x, long) { return static_cast<unsigned short>(x); });
  const std::string  path = dir / ("labels" + GetParam());
  ExpectInputError([&] { WriteLabelMapFile(labels, path, 4); }, path, "3 slices along z");
  ExpectInputError([&] { CheckLabelMapFitsFormat(path, labels->GetLargestPossibleRegion(), 4); }, path,
                   "a 2D label image holds one slice");
  const auto oneSlice = MakeLabelSlice(5, 4, 1, [](long, long) { return 0; })->GetLargestPossibleRegion();
  ExpectInputError([&] { CheckLabelMapFitsFormat(path, oneSlice, 70000); }, path,
                   "does not fit a 16-bit 2D label image");
  EXPECT_TRUE(fs::is_empty(dir.Path()));
  // 3D formats take any number of slices.
  EXPECT_NO_THROW(CheckLabelMapFitsFormat(dir / "labels.nii.gz", labels->GetLargestPossibleRegion(), 4));
}

INSTANTIATE_TEST_SUITE_P(Formats, SliceLabelOutput, ::testing::Values(".png", ".tif", ".tiff", ".PNG"),
                         [](const auto & info) { return info.param.substr(1); });

TEST(SliceLabelOutput, JPEGIsRefusedAsLossy)
{
  TemporaryDirectory dir;
  const auto         labels = MakeLabelSlice(5, 4, 1, [](long x, long) { return static_cast<unsigned short>(x); });
  for (const char * name : { "labels.jpg", "labels.jpeg", "labels.JPG" })
  {
    ExpectInputError([&] { CheckLabelOutputPath(dir / name, false); }, dir / name, "JPEG is lossy");
    ExpectInputError([&] { WriteLabelMapFile(labels, dir / name, 4); }, dir / name, "JPEG is lossy");
  }
  ExpectInputError([&] { CheckLabelOutputPath(dir / "labels.bmp", false); }, dir / "labels.bmp",
                   "unsupported label map format");
  medseg::test::WriteText(dir / "exists.png", "x");
  ExpectInputError([&] { CheckLabelOutputPath(dir / "exists.png", false); }, dir / "exists.png", "--overwrite");
  EXPECT_NO_THROW(CheckLabelOutputPath(dir / "exists.png", true));
  EXPECT_NO_THROW(CheckLabelOutputPath(dir / "new.nii.gz", false));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path()), fs::directory_iterator()), 1);
}

TEST(SliceLabelOutput, ThreeDFormatsGetTheSmallestTypeAndTheFullGeometry)
{
  TemporaryDirectory dir;
  const auto labels = MakeLabelSlice(5, 4, 3, [](long x, long y) { return static_cast<unsigned short>(x + y); });
  WriteLabelMapFile(labels, dir / "labels.nrrd", 7);
  EXPECT_EQ(ReadHeader(dir / "labels.nrrd")->GetComponentType(), itk::IOComponentEnum::UCHAR);
  const auto back = ReadLabelImage(dir / "labels.nrrd");
  EXPECT_EQ(DescribeGeometryDifference(labels, back), "");
  for (size_t i = 0; i < 60; ++i)
    ASSERT_EQ(back->GetBufferPointer()[i], labels->GetBufferPointer()[i]);
}
