#include "medsegError.h"
#include "medsegLabelTable.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <set>

using namespace medseg;

TEST(LabelTable, DefaultPaletteNamesAndDistinctColours)
{
  LabelTable table;
  EXPECT_TRUE(table.IsEmpty());
  EXPECT_EQ(table.Get(3).name, "label_3");
  std::set<std::array<std::uint8_t, 3>> colours;
  for (unsigned int v = 1; v <= 12; ++v)
  {
    colours.insert(table.Get(v).rgb);
  }
  EXPECT_EQ(colours.size(), 12u);
  EXPECT_EQ(table.Get(13).rgb, table.Get(1).rgb); // cycles
  EXPECT_EQ(LabelTable::DefaultColor(0), (std::array<std::uint8_t, 3>{ 0, 0, 0 }));
}

TEST(LabelTable, ParsesSlicerColourTable)
{
  const auto table = LabelTable::ParseColorTable("# Color table\n"
                                                 "# value name r g b a\n"
                                                 "0 Background 0 0 0 0\n"
                                                 "\n"
                                                 "1 liver 221 130 101 255  # trailing comment\n"
                                                 "  7 left_kidney 185 102 83 255\n",
                                                 "t.txt");
  ASSERT_TRUE(table.Has(1));
  EXPECT_EQ(table.Get(1).name, "liver");
  EXPECT_EQ(table.Get(1).rgb, (std::array<std::uint8_t, 3>{ 221, 130, 101 }));
  EXPECT_EQ(table.Get(7).name, "left_kidney");
  EXPECT_FALSE(table.Has(2));
  EXPECT_EQ(table.GetEntries().size(), 3u);
}

TEST(LabelTable, RejectsMalformedLinesNamingTheLine)
{
  try
  {
    LabelTable::ParseColorTable("1 liver 1 2 3 255\n2 spleen 300 0 0 255\n", "t.txt");
    FAIL() << "expected InputError";
  }
  catch (const InputError & e)
  {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LabelTable::ParseColorTable("x liver 1 2 3\n", "t"), InputError);
  EXPECT_THROW(LabelTable::ParseColorTable("1 liver 1 2\n", "t"), InputError);
}

TEST(LabelTable, ParsesJsonBothForms)
{
  const auto a = LabelTable::ParseJson(R"({"labels":[{"value":2,"name":"spleen","color":[1,2,3]},{"value":5}]})", "a");
  EXPECT_EQ(a.Get(2).name, "spleen");
  EXPECT_EQ(a.Get(2).rgb, (std::array<std::uint8_t, 3>{ 1, 2, 3 }));
  EXPECT_EQ(a.Get(5).name, "label_5");
  EXPECT_EQ(a.Get(5).rgb, LabelTable::DefaultColor(5));
  const auto b = LabelTable::ParseJson(R"([{"value":1,"name":"x"}])", "b");
  EXPECT_EQ(b.Get(1).name, "x");
  EXPECT_THROW(LabelTable::ParseJson("{", "c"), InputError);
  EXPECT_THROW(LabelTable::ParseJson(R"({"labels":[{"name":"no value"}]})", "c"), InputError);
}

TEST(LabelTable, ReadsFilesByExtension)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "t.txt", "3 bone 10 20 30 255\n");
  test::WriteText(dir / "t.json", R"({"labels":[{"value":4,"name":"fat","color":[9,8,7]}]})");
  EXPECT_EQ(LabelTable::Read(dir / "t.txt").Get(3).name, "bone");
  EXPECT_EQ(LabelTable::Read(dir / "t.json").Get(4).rgb, (std::array<std::uint8_t, 3>{ 9, 8, 7 }));
  EXPECT_THROW(LabelTable::Read(dir / "missing.txt"), InputError);
}

TEST(LabelTable, SanitizesNamesForFiles)
{
  EXPECT_EQ(SanitizeLabelName("left kidney/2"), "left_kidney_2");
  EXPECT_EQ(SanitizeLabelName(""), "unnamed");
}
