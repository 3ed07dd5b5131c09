// --help of every command: generated from the parameter table, each group listed once.
#include "medsegProcess.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

using medseg::test::RunProcess;

class CommandHelp : public ::testing::TestWithParam<std::string>
{};

TEST_P(CommandHelp, ListsEachGroupOnceWithAllItsOptions)
{
  const auto result = RunProcess(MEDSEG_EXECUTABLE, { GetParam(), "--help" });
  ASSERT_EQ(result.exitCode, 0) << result.err;
  std::istringstream          lines(result.out);
  std::string                 line;
  std::map<std::string, int>  headings;
  const std::regex            heading("^[A-Z][A-Za-z /-]*:$");
  while (std::getline(lines, line))
  {
    if (std::regex_match(line, heading))
    {
      ++headings[line];
    }
  }
  EXPECT_FALSE(headings.empty()) << result.out;
  for (const auto & [name, count] : headings)
  {
    EXPECT_EQ(count, 1) << "'" << name << "' is printed " << count << " times in medseg " << GetParam() << " --help";
  }
}

INSTANTIATE_TEST_SUITE_P(Commands, CommandHelp,
                         ::testing::Values("segment", "evaluate", "postprocess", "batch", "train"));
