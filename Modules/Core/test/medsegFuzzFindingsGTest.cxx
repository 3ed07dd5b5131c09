// The inputs fuzzing found (Testing/Fuzz/corpus/<Target>/regress-*), read as a user's file is
// read: each is refused in one line naming the problem, quickly and without a big allocation.
// The MetaImage forms that the stricter header checks must still read are tested beside them.

#include "medsegImageFileIO.h"
#include "medsegExpectInputError.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace medseg;
using medseg::test::ExpectInputError;
using medseg::test::TemporaryDirectory;

namespace
{

std::string
Corpus(const std::string & target, const std::string & name)
{
  return std::string(MEDSEG_SOURCE_DIR) + "/Testing/Fuzz/corpus/" + target + "/" + name;
}

std::string
ReadBytes(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void
WriteBytes(const std::string & path, const std::string & bytes)
{
  std::ofstream(path, std::ios::binary) << bytes;
}

double
PeakRssMiB()
{
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
  {
    if (line.rfind("VmHWM:", 0) == 0)
    {
      return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    }
  }
  return 0.0;
}

/** Expects `input` (a file or a folder) to be refused with `problem` within 5 s and 200 MiB. */
void
ExpectQuickRefusal(const std::string & input, const std::string & problem)
{
  const double before = PeakRssMiB();
  const auto   start = std::chrono::steady_clock::now();
  ExpectInputError([&] { ReadScalarImage(input); }, input, problem);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0) << input;
  EXPECT_LT(PeakRssMiB() - before, 200.0) << input << ": the claimed voxels were allocated";
}

struct Finding
{
  const char * file;
  const char * problem;
};

/** Each finding of `target`'s corpus written as `name` in a fresh folder and read as that file
 * (or, with `asFolder`, as the folder): refused with its problem. */
void
ExpectCorpusRefusals(const std::string & target, const std::string & name, bool asFolder,
                     const std::vector<Finding> & findings)
{
  for (const Finding & finding : findings)
  {
    TemporaryDirectory dir;
    WriteBytes(dir / name, ReadBytes(Corpus(target, finding.file)));
    ExpectQuickRefusal(asFolder ? dir.Path() : dir / name, finding.problem);
  }
}

} // namespace

TEST(FuzzFindings, MetaImageHeadersThatMetaIOMisreadsAreRefusedBeforeItParsesThem)
{
  ExpectCorpusRefusals("ImageMeta", "input.mha", false, {
    { "regress-dimsize-2e32-32gib.mha", "DimSize '2 2 200000000000000000000000000000000' is not 3 whole number(s)" },
    { "regress-dimsize-2e32-empty-datafile-32gib.mha", "is not 3 whole number(s) from 1 to 2147483647" },
    { "regress-ndims-negative-hang.mha", "NDims '-3' is not a whole number from 1 to 10" },
    { "regress-ndims-negative-hang-2.mha", "NDims '-3' is not a whole number from 1 to 10" },
    { "regress-datafile-binary-name-bad-free.mha", "does not exist" },
    { "regress-datafile-binary-name-bad-free-2.mha", "does not exist" },
    { "regress-pattern-step-0-sigfpe.mha", "is not a file name with one %d conversion" },
  });
}

TEST(FuzzFindings, MetaImageDataFileNamesAreCheckedAsMetaIOUnderstandsThem)
{
  const std::string header = "ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n";
  const std::string voxels(8, '\x07');
  TemporaryDirectory dir;
  // Read: MetaIO's three spellings of LOCAL, a data file whose name has a space, a pattern.
  for (const char * local : { "LOCAL", "Local", "local" })
  {
    WriteBytes(dir / "local.mha", header + "ElementDataFile = " + local + "\n" + voxels);
    EXPECT_EQ(ReadScalarImage(dir / "local.mha")->GetPixel({ { 1, 1, 1 } }), 7.0f) << local;
  }
  {
    // MetaIO's fallback: a missing data file is read from name.gz (or name.Z), compressed.
    std::string   packed(compressBound(voxels.size()), '\0');
    uLongf        length = packed.size();
    ASSERT_EQ(compress(reinterpret_cast<Bytef *>(&packed[0]), &length, reinterpret_cast<const Bytef *>(voxels.data()),
                       voxels.size()),
              Z_OK);
    WriteBytes(dir / "packed.raw.gz", packed.substr(0, length));
    WriteBytes(dir / "packed.mhd", header + "ElementDataFile = packed.raw\n");
    EXPECT_EQ(ReadScalarImage(dir / "packed.mhd")->GetPixel({ { 1, 1, 0 } }), 7.0f);
  }
  WriteBytes(dir / "my voxels.raw", voxels);
  WriteBytes(dir / "spaced.mhd", header + "ElementDataFile = my voxels.raw\n");
  EXPECT_EQ(ReadScalarImage(dir / "spaced.mhd")->GetBufferedRegion().GetNumberOfPixels(), 8u);
  WriteBytes(dir / "slice001.raw", voxels.substr(0, 4));
  WriteBytes(dir / "slice002.raw", voxels.substr(0, 4));
  WriteBytes(dir / "pattern.mhd", header + "ElementDataFile = slice%03d.raw 1 2 1\n");
  EXPECT_EQ(ReadScalarImage(dir / "pattern.mhd")->GetPixel({ { 0, 1, 1 } }), 7.0f);
  WriteBytes(dir / "list.mhd", header + "ElementDataFile = LIST 2D\nslice001.raw\nslice002.raw\n");
  EXPECT_EQ(ReadScalarImage(dir / "list.mhd")->GetPixel({ { 1, 0, 1 } }), 7.0f);
  // Keys as MetaIO reads them: metadata fields with spaces (ITK writes its dictionary so), the
  // ':' separator, indentation, and CompressedData by its first letter.
  WriteBytes(dir / "fields.mha", "ObjectType = Image\n  NDims: 3\nPatient Name = A\nPatient ID = B\n"
                                 "DimSize = 2 2 2\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n" + voxels);
  EXPECT_EQ(ReadScalarImage(dir / "fields.mha")->GetBufferedRegion().GetNumberOfPixels(), 8u);
  WriteBytes(dir / "colon.mha", "ObjectType = Image\nNDims: -3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n"
                                "ElementDataFile = LOCAL\n" + voxels);
  ExpectQuickRefusal(dir / "colon.mha", "NDims '-3' is not a whole number");
  WriteBytes(dir / "upper.mha", header + "CompressedData = TRUE\nCompressedDataSize = 100\nElementDataFile = LOCAL\nxx");
  ExpectQuickRefusal(dir / "upper.mha", "bytes of compressed voxel data present");
  // Refused: what MetaIO would pass to printf, read past its size array, or take for a folder.
  const std::vector<Finding> refused = {
    { "ElementDataFile = slice%s.raw 1 2 1", "is not a file name with one %d conversion" },
    { "ElementDataFile = slice%03d%d.raw 1 2 1", "is not a file name with one %d conversion" },
    { "ElementDataFile = slice%03d.raw 1 2 0", "gives a step of 0 from slice 1 to 2 for 2 slices" },
    { "ElementDataFile = slice%03d.raw 1 2", "gives a step of 0" },        // MetaIO: (2 - 1) / 2
    { "ElementDataFile = slice%03d.raw 5 2 1", "gives a step of 1 from slice 5 to 2" }, // never ends
    { "ElementDataFile = slice%03d.raw 1 1 1", "names 1 slice file(s) but its DimSize needs 2" },
    { "ElementDataFile = missing%03d.raw", "its slice file" },
    { "ElementDataFile = LIST -3", "is not LIST or LIST followed by a slice dimension" },
    { "ElementDataFile = LIST 3", "is not LIST or LIST followed by a slice dimension" },
    { "ElementDataFile = LIST\nslice001.raw", "names 1 slice file(s) but its DimSize needs 2" },
    { "ElementDataFile = ", "ElementDataFile is empty" },
  };
  for (const Finding & finding : refused)
  {
    WriteBytes(dir / "bad.mhd", header + finding.file + "\n");
    ExpectQuickRefusal(dir / "bad.mhd", finding.problem);
  }
  WriteBytes(dir / "bad.mhd", "ObjectType = Image\nNDims = 2\nDimSize = 2 2 2\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n" + voxels);
  ExpectQuickRefusal(dir / "bad.mhd", "is not 2 whole number(s)");
}

TEST(FuzzFindings, NiftiSformsThatITKCannotDecomposeAreRefusedInsteadOfHanging)
{
  // The corpus input's first byte chose the form: even, the rest is the gzipped file.
  for (const char * file : { "regress-sform-1e28-svd-hang", "regress-sform-3e35-svd-hang" })
  {
    const std::string  input = ReadBytes(Corpus("ImageNiftiGz", file));
    TemporaryDirectory dir;
    const std::string  path = dir / "input.nii.gz";
    ASSERT_EQ(input[0] & 1, 0);
    gzFile out = gzopen(path.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    gzwrite(out, input.data() + 1, static_cast<unsigned>(input.size() - 1));
    gzclose(out);
    ExpectQuickRefusal(path, "a voxel axis beyond 1e+06 mm; the header is corrupt");
    // The same header as a .hdr/.img pair, given by either file.
    std::string header = input.substr(1, 348);
    header.replace(344, 4, std::string("ni1\0", 4));
    WriteBytes(dir / "pair.hdr", header);
    WriteBytes(dir / "pair.img", input.substr(1 + 352));
    ExpectQuickRefusal(dir / "pair.hdr", "a voxel axis beyond 1e+06 mm");
    ExpectInputError([&] { ReadScalarImage(dir / "pair.img"); }, dir / "pair.hdr", "a voxel axis beyond 1e+06 mm");
  }
}

TEST(FuzzFindings, DicomPixelDataGDCMWouldMisdecodeIsRefusedBeforeITKReadsIt)
{
  ExpectCorpusRefusals("DicomFolder", "slice0001.dcm", true, {
    { "regress-short-pixel-data-heap-overflow", "slice0001.dcm, that is truncated: its Pixel Data holds 12 bytes" },
    { "regress-short-pixel-data-heap-overflow-2", "(45 columns, 17152 rows, 1 frame(s), 1 sample(s), 16 bits) needs 1543680" },
    { "regress-short-pixel-data-heap-overflow-3", "its Pixel Data holds 32 bytes" },
    { "regress-short-pixel-data-heap-overflow-4", "needs 350240" },
    { "regress-pixel-representation-32", "Pixel Representation 32)" },
    { "regress-pixel-representation-32-2", "has a pixel format MedSeg does not support" },
    { "regress-pixel-representation-32-monochrome1-abort", "Pixel Representation 32)" },
    { "regress-raw-codec-assertion", "GDCM reading the folder's files aborted (SIGABRT)" },
    { "regress-raw-codec-assertion-2", "GDCM reading the folder's files aborted (SIGABRT)" },
  });
  // The same checks for one DICOM file given as a file, not as a folder.
  {
    TemporaryDirectory dir;
    WriteBytes(dir / "one.dcm", ReadBytes(Corpus("DicomFolder", "regress-short-pixel-data-heap-overflow")));
    ExpectQuickRefusal(dir / "one.dcm", "is truncated: its Pixel Data holds 12 bytes");
  }
  // The same file with a valid Pixel Representation (1, signed) still aborted GDCM: it cannot
  // invert MONOCHROME1 for signed 16-bit pixels with 12 bits stored.
  std::string       bytes = ReadBytes(Corpus("DicomFolder", "regress-pixel-representation-32-monochrome1-abort"));
  const std::string element("\x28\x00\x03\x01US\x02\x00", 8); // (0028,0103) US, length 2
  const size_t      at = bytes.find(element);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes[at + 8], '\x20');
  bytes[at + 8] = '\x01';
  TemporaryDirectory dir;
  WriteBytes(dir / "slice0001.dcm", bytes);
  ExpectQuickRefusal(dir.Path(), "is MONOCHROME1 with signed 12-bit pixels, which GDCM");
}
