#include "medsegError.h"
#include "medsegTarArchive.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace medseg;

TEST(TarArchive, RoundTripsFilesByteForByte)
{
  test::TemporaryDirectory dir;
  std::string              big(700000, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 2654435761u) >> 13);
  test::WriteText(dir / "a.json", "{\"x\": 1}\n");
  test::WriteText(dir / "b.bin", big);
  WriteTarGz(dir / "pack.medseg", { { "model.json", dir / "a.json" }, { "weights.pt", dir / "b.bin" } });
  fs::create_directory(dir / "out");
  const auto names = ExtractTar(dir / "pack.medseg", dir / "out");
  EXPECT_EQ(names, (std::vector<std::string>{ "model.json", "weights.pt" }));
  EXPECT_EQ(test::ReadText(dir / "out/model.json"), "{\"x\": 1}\n");
  EXPECT_EQ(test::ReadText(dir / "out/weights.pt"), big);
}

TEST(TarArchive, ReadsWhatGnuTarWrites)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "model.json", "{}");
  const std::string command = "tar -C " + dir.Path() + " -czf " + (dir / "gnu.tar.gz") + " model.json";
  ASSERT_EQ(std::system(command.c_str()), 0);
  fs::create_directory(dir / "out");
  EXPECT_EQ(ExtractTar(dir / "gnu.tar.gz", dir / "out"), (std::vector<std::string>{ "model.json" }));
}

TEST(TarArchive, AcceptsTheDotFolderFormOfGnuTar)
{
  test::TemporaryDirectory dir;
  fs::create_directory(dir / "pkg");
  test::WriteText(dir / "pkg/model.json", "{}");
  test::WriteText(dir / "pkg/weights.pt", "w");
  ASSERT_EQ(std::system(("tar -C " + dir / "pkg" + " -czf " + dir / "dot.tar.gz" + " .").c_str()), 0);
  ASSERT_EQ(std::system(("tar -C " + dir / "pkg" + " --format=pax -czf " + dir / "pax.tar.gz" + " .").c_str()), 0);
  for (const char * archive : { "dot.tar.gz", "pax.tar.gz" })
  {
    fs::create_directory(dir / "out");
    auto names = ExtractTar(dir / archive, dir / "out");
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{ "model.json", "weights.pt" })) << archive;
    fs::remove_all(dir / "out");
  }
}

TEST(TarArchive, RefusesTraversalTruncationAndGarbage)
{
  test::TemporaryDirectory dir;
  fs::create_directory(dir / "src");
  fs::create_directory(dir / "src/sub");
  test::WriteText(dir / "src/sub/evil.json", "{}");
  ASSERT_EQ(std::system(("tar -C " + dir / "src" + " -cf " + dir / "nested.tar" + " sub/evil.json").c_str()), 0);
  fs::create_directory(dir / "out");
  EXPECT_THROW(ExtractTar(dir / "nested.tar", dir / "out"), InputError);
  EXPECT_FALSE(fs::exists(dir / "out/evil.json"));

  test::WriteText(dir / "w.bin", std::string(5000, 'w'));
  WriteTarGz(dir / "ok.medseg", { { "weights.pt", dir / "w.bin" } });
  fs::resize_file(dir / "ok.medseg", fs::file_size(dir / "ok.medseg") / 2);
  EXPECT_THROW(ExtractTar(dir / "ok.medseg", dir / "out"), InputError);

  test::WriteText(dir / "garbage.medseg", std::string(2048, 'g'));
  EXPECT_THROW(ExtractTar(dir / "garbage.medseg", dir / "out"), InputError);

  EXPECT_THROW(WriteTarGz(dir / "bad.medseg", { { "../x", dir / "w.bin" } }), InputError);
  EXPECT_FALSE(fs::exists(dir / "bad.medseg"));
}
