#include "medsegImageFileIO.h"
#include "medsegLibraryMessages.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace medseg;
using medseg::test::TemporaryDirectory;

namespace
{

/** An Analyze 7.5 pair (.hdr + .img) of 4 x 3 x 2 float voxels: ITK reads it, and warns that
 * Analyze is deprecated. */
void
WriteAnalyzePair(const std::string & stem)
{
  const std::string h = medseg::test::Nifti1Header(4, 3, 2, /*analyze=*/true).substr(0, 348);
  medseg::test::WriteText(stem + ".hdr", h);
  medseg::test::WriteText(stem + ".img", std::string(4 * 3 * 2 * 4, '\0'));
}

bool
AnyContains(const std::vector<std::string> & messages, const std::string & text)
{
  return std::any_of(messages.begin(), messages.end(),
                     [&](const std::string & m) { return m.find(text) != std::string::npos; });
}

} // namespace

TEST(LibraryMessages, ItkWarningsGoToTheLogNotTheTerminal)
{
  CaptureLibraryMessages();
  SetVerboseLibraryMessages(false);
  ClearLibraryMessages();
  TemporaryDirectory dir;
  WriteAnalyzePair(dir / "old");
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  const auto image = ReadScalarImage(dir / "old.hdr");
  const std::string err = testing::internal::GetCapturedStderr();
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(image->GetLargestPossibleRegion().GetNumberOfPixels(), 24u);
  EXPECT_EQ(err, "");
  EXPECT_EQ(out, "");
  const auto messages = GetLibraryMessages();
  EXPECT_TRUE(AnyContains(messages, "Analyze")) << "ITK's Analyze warning was not captured";
  EXPECT_TRUE(AnyContains(messages, "ITK: ")) << "messages are not tagged with their source";
}

TEST(LibraryMessages, VerboseShowsThemOnStderr)
{
  CaptureLibraryMessages();
  SetVerboseLibraryMessages(true);
  testing::internal::CaptureStderr();
  LogLibraryMessage("GDCM", "No Pixel Data Found\n");
  LogLibraryMessage("GDCM", "\n"); // empty after trimming: dropped
  const std::string err = testing::internal::GetCapturedStderr();
  SetVerboseLibraryMessages(false);
  EXPECT_EQ(err, "[GDCM] No Pixel Data Found\n");
}

TEST(LibraryMessages, KeepsTheLastHundred)
{
  ClearLibraryMessages();
  for (int i = 0; i < 150; ++i)
  {
    LogLibraryMessage("ITK", "message " + std::to_string(i));
  }
  const auto messages = GetLibraryMessages();
  ASSERT_EQ(messages.size(), 100u);
  EXPECT_EQ(messages.front(), "ITK: message 50");
  EXPECT_EQ(messages.back(), "ITK: message 149");
}
