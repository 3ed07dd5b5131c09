// End-to-end tests of `medseg plugins`: the shipped plugins are listed with their versions,
// broken ones on MEDSEG_PLUGIN_PATH are listed as refused with the reason, --json parses.
#include "medsegPluginABI.h"
#include "medsegProcess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <cstdlib>
#include <set>

using medseg::test::RunProcess;

namespace
{

const std::string kMixed = std::string(MEDSEG_TEST_PLUGIN_DIR) + "/mixed";

/** Runs `medseg plugins ...` with MEDSEG_PLUGIN_PATH set to `path` (unset when empty). */
medseg::test::ProcessResult
Plugins(const std::vector<std::string> & extra, const std::string & path = "")
{
  if (path.empty())
    unsetenv("MEDSEG_PLUGIN_PATH");
  else
    setenv("MEDSEG_PLUGIN_PATH", path.c_str(), 1);
  std::vector<std::string> args{ "plugins" };
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = RunProcess(MEDSEG_EXECUTABLE, args);
  unsetenv("MEDSEG_PLUGIN_PATH");
  return result;
}

bool
Contains(const std::string & text, const std::string & part)
{
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(PluginsCommand, ListsTheShippedPluginsWithVersions)
{
  const auto r = Plugins({});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "Plugins (3):")) << r.out;
  for (const char * line : { "  fcn 1.0.0  ", "  torchscript 1.0.0  ", "  unet 1.0.0  " })
  {
    EXPECT_TRUE(Contains(r.out, line)) << line << '\n' << r.out;
  }
  EXPECT_TRUE(Contains(r.out, std::string("LibTorch ") + TORCH_VERSION + ", ITK ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "/medseg-unet.so")) << r.out;
  EXPECT_FALSE(Contains(r.out, "Refused")) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(PluginsCommand, JsonListsPluginsAndRefusedLibrariesWithReasons)
{
  const auto r = Plugins({ "--json" }, kMixed);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto            j = nlohmann::json::parse(r.out);
  std::set<std::string> names;
  for (const auto & p : j.at("plugins"))
  {
    names.insert(p.at("name").get<std::string>());
    EXPECT_EQ(p.at("torch_version"), TORCH_VERSION);
  }
  EXPECT_EQ(names, (std::set<std::string>{ "fcn", "torchscript", "unet", "good", "null_factory", "throwing_factory" }));
  ASSERT_EQ(j.at("refused").size(), 9u) << j.at("refused").dump(2);
  bool sawAbi = false;
  for (const auto & refused : j.at("refused"))
  {
    const std::string path = refused.at("path");
    const std::string reason = refused.at("reason");
    EXPECT_EQ(path.rfind(kMixed, 0), 0u) << path;
    if (Contains(path, "wrong_abi_version"))
    {
      sawAbi = true;
      EXPECT_EQ(reason, "plugin ABI version: the plugin has " + std::to_string(MEDSEG_PLUGIN_ABI_VERSION + 1) +
                          ", this MedSeg expects " + std::to_string(MEDSEG_PLUGIN_ABI_VERSION));
    }
  }
  EXPECT_TRUE(sawAbi);
  EXPECT_EQ(j.at("search_path").size(), 2u);
}

TEST(PluginsCommand, TextNamesRefusedLibrariesAndWarnsAboutRelativeEntries)
{
  const auto r = Plugins({}, "relative/plugins:" + kMixed);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "Refused (9):")) << r.out;
  EXPECT_TRUE(Contains(r.out, "medseg-test_wrong_torch_version.so: LibTorch version: the plugin has '0.4.1', this MedSeg expects '" +
                                std::string(TORCH_VERSION) + "'"))
    << r.out;
  EXPECT_TRUE(Contains(r.out, "medseg-test_missing_factory.so: factory: the plugin does not export 'medseg_plugin_create_model'"))
    << r.out;
  EXPECT_TRUE(Contains(r.err, "medseg plugins: warning: MEDSEG_PLUGIN_PATH: relative entry 'relative/plugins' ignored"))
    << r.err;
}

TEST(PluginsCommand, HelpAndUsageErrors)
{
  const auto help = Plugins({ "--help" });
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_TRUE(Contains(help.out, "MEDSEG_PLUGIN_PATH")) << help.out;
  const auto bad = Plugins({ "--frobnicate" });
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_TRUE(Contains(bad.err, "unknown option --frobnicate")) << bad.err;
}
