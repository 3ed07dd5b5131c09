#include "medsegError.h"
#include "medsegTarArchive.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <string>

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

namespace
{
/** One ustar header block as MedSeg up to 0.1 and most tar programs write it. */
std::string
UstarHeader(const std::string & name, char type, uint64_t size, const std::string & link = "", unsigned mode = 0644)
{
  std::string header(512, '\0');
  const auto  field = [&](size_t offset, size_t width, const char * format, unsigned long long value) {
    char      text[32];
    const int length = std::snprintf(text, sizeof(text), format, value);
    header.replace(offset, std::min<size_t>(static_cast<size_t>(length), width), text, std::min<size_t>(length, width));
  };
  header.replace(0, std::min<size_t>(name.size(), 100), name, 0, 100);
  field(100, 8, "%07llo", mode);
  field(108, 8, "%07llo", 0);
  field(116, 8, "%07llo", 0);
  field(124, 12, "%011llo", size); // 12 digits (no NUL) once the size reaches 8 GiB
  field(136, 12, "%011llo", 0);
  header[156] = type;
  header.replace(157, std::min<size_t>(link.size(), 100), link, 0, 100);
  header.replace(257, 6, std::string("ustar\0", 6));
  header.replace(263, 2, "00");
  header.replace(148, 8, 8, ' ');
  unsigned sum = 0;
  for (const char c : header)
    sum += static_cast<unsigned char>(c);
  field(148, 7, "%06llo", sum);
  return header;
}

/** Data padded to whole 512-byte blocks. */
std::string
Blocks(std::string data)
{
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

std::string
Member(const std::string & name, const std::string & data)
{
  return UstarHeader(name, '0', data.size()) + Blocks(data);
}

/** A pax extended header ('x') holding `key=value` for the member after it. */
std::string
PaxHeader(const std::string & key, const std::string & value)
{
  const std::string body = " " + key + "=" + value + "\n";
  size_t            length = body.size() + 1;
  while (std::to_string(length).size() + body.size() != length)
    ++length;
  const std::string record = std::to_string(length) + body;
  return UstarHeader("PaxHeaders.0/member", 'x', record.size()) + Blocks(record);
}

const std::string endOfArchive(1024, '\0');

/** ExtractTar must refuse `archive` with InputError(archive, ...) whose message holds `fragment`. */
void
ExpectRefusal(const std::string & archive, const std::string & directory, const std::string & fragment)
{
  try
  {
    ExtractTar(archive, directory);
    ADD_FAILURE() << archive << " was accepted";
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), archive);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
} // namespace

TEST(TarArchive, ReadsArchivesInTheFormatOfEarlierMedSegVersions)
{
  // Byte for byte what the hand-written writer of MedSeg 0.1 produced (ustar, mtime 0, gzip -9).
  test::TemporaryDirectory dir;
  const std::string        weights(1500, 'w');
  test::WriteText(dir / "old.tar", Member("model.json", "{}\n") + Member("weights.pt", weights) + endOfArchive);
  ASSERT_EQ(std::system(("gzip -n -9 -k " + dir / "old.tar").c_str()), 0);
  for (const char * archive : { "old.tar", "old.tar.gz" })
  {
    fs::create_directory(dir / "out");
    EXPECT_EQ(ExtractTar(dir / archive, dir / "out"), (std::vector<std::string>{ "model.json", "weights.pt" }));
    EXPECT_EQ(test::ReadText(dir / "out/model.json"), "{}\n");
    EXPECT_EQ(test::ReadText(dir / "out/weights.pt"), weights);
    fs::remove_all(dir / "out");
  }
}

TEST(TarArchive, WritesPlainUstarThatOtherToolsAndOlderReadersRead)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "a.json", "{\"a\": 1}");
  WriteTarGz(dir / "pack.medseg", { { "model.json", dir / "a.json" } });
  // ustar, not pax: readers that know only ustar (MedSeg 0.1's) see the member itself first.
  ASSERT_EQ(std::system(("gzip -dc < " + dir / "pack.medseg" + " > " + dir / "pack.tar").c_str()), 0);
  const std::string tar = test::ReadText(dir / "pack.tar");
  ASSERT_GE(tar.size(), 3u * 512);
  EXPECT_EQ(tar.substr(0, 11), std::string("model.json\0", 11));
  EXPECT_EQ(tar[156], '0');
  EXPECT_EQ(tar.substr(257, 8), std::string("ustar\0", 6) + "00");
  EXPECT_EQ(tar.substr(512, 8), "{\"a\": 1}");
  fs::create_directory(dir / "gnu");
  ASSERT_EQ(std::system(("tar -C " + dir / "gnu" + " -xzf " + dir / "pack.medseg").c_str()), 0);
  EXPECT_EQ(test::ReadText(dir / "gnu/model.json"), "{\"a\": 1}");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "gnu"), fs::directory_iterator()), 1);
}

TEST(TarArchive, WritesTheSameBytesForTheSameMembers)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "w.bin", std::string(3000, 'w'));
  WriteTarGz(dir / "first.medseg", { { "weights.pt", dir / "w.bin" } });
  fs::last_write_time(dir / "w.bin", fs::last_write_time(dir / "w.bin") - std::chrono::hours(48));
  WriteTarGz(dir / "second.medseg", { { "weights.pt", dir / "w.bin" } });
  const std::string first = test::ReadText(dir / "first.medseg");
  ASSERT_GE(first.size(), 10u);
  EXPECT_EQ(first.substr(0, 2), "\x1f\x8b");           // gzip
  EXPECT_EQ(first.substr(4, 4), std::string(4, '\0')); // no timestamp in the gzip header
  EXPECT_EQ(first, test::ReadText(dir / "second.medseg"));
}

TEST(TarArchive, WriterRefusesNamesUstarCannotHoldAndLeavesNothing)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "w.bin", "w");
  for (const std::string & name :
       { std::string(100, 'n'), std::string("sub/w.bin"), std::string("/w.bin"), std::string(".."), std::string("") })
  {
    EXPECT_THROW(WriteTarGz(dir / "bad.medseg", { { "ok.bin", dir / "w.bin" }, { name, dir / "w.bin" } }), InputError)
      << name;
  }
  EXPECT_THROW(WriteTarGz(dir / "bad.medseg", { { "w.bin", dir / "missing.bin" } }), InputError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path()), fs::directory_iterator()), 1)
    << "a refused archive left a file (or its temporary) behind";
}

TEST(TarArchive, RefusesLinksDevicesAndPathsInEveryForm)
{
  test::TemporaryDirectory dir;
  fs::create_directory(dir / "out");
  const std::string model = Member("model.json", "{}");
  const struct
  {
    const char * file;
    std::string  tar;
    const char * fragment;
  } cases[] = {
    { "hard.tar", model + UstarHeader("link.json", '1', 0, "model.json") + endOfArchive, "not a regular file" },
    // A hard link whose mode claims a regular file (S_IFREG | 0644) is still a link.
    { "hardreg.tar",
      model + UstarHeader("link.json", '1', 0, "model.json", 0100644) + endOfArchive,
      "not a regular file" },
    { "sym.tar", UstarHeader("link.json", '2', 0, "/etc/passwd") + endOfArchive, "not a regular file" },
    { "chr.tar", UstarHeader("tty", '3', 0) + endOfArchive, "not a regular file" },
    { "fifo.tar", UstarHeader("pipe", '6', 0) + endOfArchive, "not a regular file" },
    { "dir.tar", UstarHeader("sub/", '5', 0) + endOfArchive, "not a regular file" },
    { "absolute.tar", Member("/tmp/evil.json", "{}") + endOfArchive, "not a plain file name" },
    { "dotdot.tar", Member("../evil.json", "{}") + endOfArchive, "not a plain file name" },
    { "dotdotonly.tar", Member("..", "{}") + endOfArchive, "not a plain file name" },
    { "dotslashsub.tar", Member("./sub/evil.json", "{}") + endOfArchive, "not a plain file name" },
    { "backslash.tar", Member("sub\\evil.json", "{}") + endOfArchive, "not a plain file name" },
    { "twice.tar", model + Member("./model.json", "[]") + endOfArchive, "appears twice" },
    // pax records override the ustar name: a plain ustar name cannot hide a path or a link.
    { "paxpath.tar",
      PaxHeader("path", "../evil.json") + Member("evil.json", "{}") + endOfArchive,
      "not a plain file name" },
    { "paxsub.tar",
      PaxHeader("path", "sub/evil.json") + Member("evil.json", "{}") + endOfArchive,
      "not a plain file name" },
    { "paxlink.tar",
      model + PaxHeader("linkpath", "model.json") + UstarHeader("evil.json", '1', 0) + endOfArchive,
      "not a regular file" },
  };
  for (const auto & c : cases)
  {
    SCOPED_TRACE(c.file);
    test::WriteText(dir / c.file, c.tar);
    ExpectRefusal(dir / c.file, dir / "out", c.fragment);
  }
  for (const char * name : { "link.json", "tty", "pipe", "sub", "evil.json" })
  {
    EXPECT_FALSE(fs::exists(dir / (std::string("out/") + name))) << name;
  }
  EXPECT_FALSE(fs::exists(dir / "evil.json"));
  EXPECT_FALSE(fs::exists(dir / "sub"));

  // Links as GNU tar stores them (ustar and pax), beside a plain file.
  fs::create_directory(dir / "links");
  test::WriteText(dir / "links/model.json", "{}");
  fs::create_hard_link(dir / "links/model.json", dir / "links/hard.json");
  fs::create_symlink("model.json", dir / "links/soft.json");
  for (const std::string & link : { std::string("hard.json"), std::string("soft.json") })
  {
    for (const char * format : { "ustar", "pax" })
    {
      const std::string archive = dir / (link + "." + format + ".tar.gz");
      ASSERT_EQ(std::system(("tar -C " + dir / "links" + " --format=" + std::string(format) + " -czf " + archive +
                             " model.json " + link)
                              .c_str()),
                0);
      ExpectRefusal(archive, dir / "out", "member '" + link + "' is not a regular file");
      EXPECT_FALSE(fs::exists(dir / ("out/" + link))) << archive;
    }
  }

  // The same plain member behind a harmless pax header is accepted, under its pax name.
  test::WriteText(dir / "paxok.tar", PaxHeader("path", "weights.pt") + Member("ignored.pt", "w") + endOfArchive);
  fs::remove_all(dir / "out");
  fs::create_directory(dir / "out");
  EXPECT_EQ(ExtractTar(dir / "paxok.tar", dir / "out"), (std::vector<std::string>{ "weights.pt" }));
  EXPECT_EQ(test::ReadText(dir / "out/weights.pt"), "w");
}

TEST(TarArchive, RefusesSizesThatDoNotMatchTheData)
{
  test::TemporaryDirectory dir;
  fs::create_directory(dir / "out");
  const std::string data(600, 'x');
  const struct
  {
    const char * file;
    std::string  tar;
    const char * fragment;
  } cases[] = {
    // More data than the header declares: the rest is read as a header, and fails its checksum.
    { "bigger.tar", UstarHeader("a.bin", '0', 10) + Blocks(data) + endOfArchive, "corrupt" },
    // Less data than declared.
    { "smaller.tar", UstarHeader("a.bin", '0', 5000) + Blocks(data), "truncated" },
    { "paxsize.tar", PaxHeader("size", "5000") + Member("a.bin", data), "truncated" },
    // A member of 8 GiB is refused before a byte of it is read.
    { "huge.tar", UstarHeader("a.bin", '0', uint64_t{ 1 } << 33) + Blocks(data) + endOfArchive, "8 GiB" },
    // Whole members lost at a block boundary: only the missing end-of-archive marker shows it.
    { "nomarker.tar", Member("a.bin", data), "no end-of-archive marker" },
    { "empty.tar", "", "not a tar archive" },
    { "garbage.tar", std::string(2048, 'g'), "not a tar archive" },
  };
  for (const auto & c : cases)
  {
    SCOPED_TRACE(c.file);
    test::WriteText(dir / c.file, c.tar);
    ExpectRefusal(dir / c.file, dir / "out", c.fragment);
  }
  ExpectRefusal(dir / "out", dir / "out", "cannot read the archive"); // a folder
  ExpectRefusal(dir / "missing.tar", dir / "out", "cannot open the archive");

  test::WriteText(dir / "marker.tar", Member("a.bin", data) + std::string(512, '\0'));
  EXPECT_EQ(ExtractTar(dir / "marker.tar", dir / "out"), (std::vector<std::string>{ "a.bin" }))
    << "one zero block is an end-of-archive marker, as before";
  EXPECT_EQ(test::ReadText(dir / "out/a.bin"), data);
}

TEST(TarArchive, RefusesCorruptOrTruncatedGzip)
{
  // 64000 bytes put the end-of-archive marker at the end of the first 64 KiB of tar stream, so the
  // gzip trailer is only reached by reading on past the marker.
  for (const size_t size : { size_t{ 20000 }, size_t{ 64000 } })
  {
    SCOPED_TRACE(size);
    test::TemporaryDirectory dir;
    fs::create_directory(dir / "out");
    std::string weights(size, '\0');
    for (size_t i = 0; i < weights.size(); ++i)
      weights[i] = static_cast<char>((i * 2654435761u) >> 11);
    test::WriteText(dir / "w.bin", weights);
    WriteTarGz(dir / "ok.medseg", { { "weights.pt", dir / "w.bin" } });
    const std::string good = test::ReadText(dir / "ok.medseg");
    ASSERT_EQ(ExtractTar(dir / "ok.medseg", dir / "out"), (std::vector<std::string>{ "weights.pt" }));

    // The gzip trailer holds the CRC-32 and the length of the data: damage to either is noticed,
    // though every tar block decompresses.
    std::string crc = good;
    crc[crc.size() - 8] ^= 0x01;
    test::WriteText(dir / "crc.medseg", crc);
    ExpectRefusal(dir / "crc.medseg", dir / "out", "corrupt (incorrect data check)");
    std::string length = good;
    length[length.size() - 1] ^= 0x01;
    test::WriteText(dir / "length.medseg", length);
    ExpectRefusal(dir / "length.medseg", dir / "out", "corrupt (incorrect length check)");
    test::WriteText(dir / "short.medseg", good.substr(0, good.size() - 4));
    ExpectRefusal(dir / "short.medseg", dir / "out", "truncated");
    // Damage inside the deflate stream.
    std::string inside = good;
    inside[inside.size() / 2] ^= 0x20;
    test::WriteText(dir / "inside.medseg", inside);
    ExpectRefusal(dir / "inside.medseg", dir / "out", "corrupt");
  }
}
