#include "medsegError.h"
#include "medsegSha256.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

using namespace medseg;

TEST(Sha256, MatchesTheFIPS180TestVectors)
{
  EXPECT_EQ(Sha256OfString(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256OfString("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256OfString("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256OfString(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalUpdatesEqualOneShot)
{
  const std::string text(1000, 'x');
  Sha256            hash;
  for (size_t i = 0; i < text.size(); i += 37)
    hash.Update(text.data() + i, std::min<size_t>(37, text.size() - i));
  EXPECT_EQ(hash.HexDigest(), Sha256OfString(text));
}

TEST(Sha256, HashesFiles)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "f", "abc");
  EXPECT_EQ(Sha256OfFile(dir / "f"), Sha256OfString("abc"));
  EXPECT_THROW(Sha256OfFile(dir / "missing"), InputError);
}

TEST(Sha256, CopiesContinueApartAndADigestStartsOver)
{
  Sha256 hash;
  hash.Update("ab", 2);
  Sha256 copy(hash);
  hash.Update("c", 1);
  copy.Update("d", 1);
  EXPECT_EQ(hash.HexDigest(), Sha256OfString("abc"));
  EXPECT_EQ(copy.HexDigest(), Sha256OfString("abd"));
  // After HexDigest the object hashes from the beginning again.
  EXPECT_EQ(hash.HexDigest(), Sha256OfString(""));
  hash.Update(nullptr, 0);
  hash.Update("abc", 3);
  EXPECT_EQ(hash.HexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 moved(std::move(copy));
  moved.Update("abc", 3);
  EXPECT_EQ(moved.HexDigest(), Sha256OfString("abc"));
}

TEST(Sha256, HashesFilesLargerThanItsBufferAndRefusesFolders)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "a", std::string(3000000, 'a')); // three 1 MiB reads, the last one short
  EXPECT_EQ(Sha256OfFile(dir / "a"), Sha256OfString(std::string(3000000, 'a')));
  test::WriteText(dir / "million", std::string(1000000, 'a'));
  EXPECT_EQ(Sha256OfFile(dir / "million"), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  try
  {
    Sha256OfFile(dir.Path());
    ADD_FAILURE() << "a folder was hashed";
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), dir.Path());
  }
}
