// PluginRegistry: the descriptor handshake against deliberately broken plugins, the search path
// (never the current directory), factory failures, and plugin lifetime.
#include "medsegExpectInputError.h"
#include "medsegError.h"
#include "medsegFixtureModels.h"
#include "medsegPluginABI.h"
#include "medsegPluginRegistry.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;
using namespace medseg;
using medseg::test::InputErrorOf;

namespace
{

const std::string kMixed = std::string(MEDSEG_TEST_PLUGIN_DIR) + "/mixed";
const std::string kDecoy = std::string(MEDSEG_TEST_PLUGIN_DIR) + "/decoy";

std::string
Library(const std::string & directory, const std::string & name)
{
  return directory + "/medseg-" + name + ".so";
}

std::map<std::string, std::string>
RefusedByFile(const PluginRegistry & registry)
{
  std::map<std::string, std::string> reasons;
  for (const auto & r : registry.GetRefused())
  {
    reasons[fs::path(r.path).filename().string()] = r.reason;
  }
  return reasons;
}

bool
Contains(const std::string & text, const std::string & part)
{
  return text.find(part) != std::string::npos;
}

/** Sets an environment variable for one scope. */
class ScopedEnvironment
{
public:
  ScopedEnvironment(const char * name, const std::string & value)
    : m_Name(name)
  {
    if (const char * old = std::getenv(name))
    {
      m_Old = old;
      m_HadOld = true;
    }
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvironment()
  {
    if (m_HadOld)
      setenv(m_Name, m_Old.c_str(), 1);
    else
      unsetenv(m_Name);
  }

private:
  const char * m_Name;
  std::string  m_Old;
  bool         m_HadOld{ false };
};

/** Changes the working directory for one scope. */
class ScopedWorkingDirectory
{
public:
  explicit ScopedWorkingDirectory(const std::string & directory)
    : m_Old(fs::current_path())
  {
    fs::current_path(directory);
  }
  ~ScopedWorkingDirectory() { fs::current_path(m_Old); }

private:
  fs::path m_Old;
};

} // namespace

TEST(PluginRegistry, RefusesEachBrokenPluginNamingTheFieldAndBothValues)
{
  const PluginRegistry registry({ kMixed });
  const auto           refused = RefusedByFile(registry);
  const std::string    size = std::to_string(sizeof(MedSegPluginDescriptor));
  const std::string    biggerSize = std::to_string(sizeof(MedSegPluginDescriptor) + 8);
  const std::string    abi = std::to_string(MEDSEG_PLUGIN_ABI_VERSION);
  const std::map<std::string, std::string> expected = {
    { "medseg-test_wrong_abi_version.so",
      "plugin ABI version: the plugin has " + std::to_string(MEDSEG_PLUGIN_ABI_VERSION + 1) +
        ", this MedSeg expects " + abi },
    { "medseg-test_wrong_descriptor_size.so",
      "descriptor size: the plugin has " + biggerSize + " bytes, this MedSeg expects " + size + " bytes" },
    { "medseg-test_wrong_alignment.so",
      "descriptor alignment: the plugin has 4, this MedSeg expects " + std::to_string(alignof(MedSegPluginDescriptor)) },
    { "medseg-test_wrong_torch_version.so",
      std::string("LibTorch version: the plugin has '0.4.1', this MedSeg expects '") + TORCH_VERSION + "'" },
    { "medseg-test_wrong_cxx11_abi.so",
      "_GLIBCXX_USE_CXX11_ABI: the plugin has " + std::to_string(1 - _GLIBCXX_USE_CXX11_ABI) +
        ", this MedSeg expects " + std::to_string(_GLIBCXX_USE_CXX11_ABI) },
    { "medseg-test_wrong_itk_version.so", "ITK version: the plugin has '4.13.3', this MedSeg expects '" },
    { "medseg-test_bad_name.so", "name: the plugin has 'Bad Name!', this MedSeg expects" },
    { "medseg-test_missing_factory.so",
      "factory: the plugin does not export 'medseg_plugin_create_model', this MedSeg expects it" },
    { "medseg-test_missing_descriptor.so", "descriptor: the plugin does not export 'medseg_plugin_descriptor'" },
  };
  for (const auto & [file, reason] : expected)
  {
    SCOPED_TRACE(file);
    ASSERT_EQ(refused.count(file), 1u) << "not refused";
    EXPECT_EQ(refused.at(file).rfind(reason, 0), 0u) << "reason: " << refused.at(file);
  }
  EXPECT_EQ(refused.size(), expected.size());

  // The good plugins beside them still load.
  std::vector<std::string> names;
  for (const auto & p : registry.GetPlugins())
  {
    names.push_back(p.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{ "good", "null_factory", "throwing_factory" }));
  const auto good = registry.GetPlugins().front();
  EXPECT_EQ(good.version, "2.3.4");
  EXPECT_EQ(good.torchVersion, TORCH_VERSION);
  EXPECT_EQ(good.path, Library(kMixed, "test_good"));
}

TEST(PluginRegistry, GoodPluginMakesWorkingModels)
{
  const PluginRegistry registry({ kMixed });
  const auto           model = registry.CreateModel("good", R"({"scale": 3})", "", "cpu", 2);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->GetNumberOfInputChannels(), 2);
  EXPECT_EQ(model->GetDescription(), "good sign model");
  const auto input = torch::full({ 1, 2, 4, 4, 4 }, 0.5f);
  const auto logits = model->Forward(input);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{ 1, 2, 4, 4, 4 }));
  EXPECT_FLOAT_EQ(logits[0][1][0][0][0].item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(logits[0][0][3][3][3].item<float>(), -3.0f);
}

TEST(PluginRegistry, FactoryFailuresBecomeOneLineInputErrors)
{
  const PluginRegistry registry({ kMixed });
  EXPECT_EQ(InputErrorOf([&] { registry.CreateModel("good", R"({"fail": true})", "", "cpu", 1); }),
            "plugin 'good': asked to fail with a second line");
  EXPECT_EQ(InputErrorOf([&] { registry.CreateModel("throwing_factory", "", "", "cpu", 1); }),
            "plugin 'throwing_factory': the factory threw (it must not): thrown across the boundary");
  EXPECT_EQ(InputErrorOf([&] { registry.CreateModel("null_factory", "", "", "cpu", 1); }),
            "plugin 'null_factory': the factory returned no model and no message");
  EXPECT_EQ(InputErrorOf([&] { registry.CreateModel("nonesuch", "", "", "cpu", 1); }),
            "plugin 'nonesuch': not found (available: good, null_factory, throwing_factory; see `medseg plugins`)");
  EXPECT_EQ(InputErrorOf([&] { registry.CreateModel("good", "", "", "cpu", 0); }),
            "plugin 'good': input channels must be at least 1, got 0");
  // After all that, the good plugin still works.
  EXPECT_NO_THROW(registry.CreateModel("good", "", "", "cpu", 1));
}

TEST(PluginRegistry, DecoyInTheCurrentDirectoryIsNeverLoaded)
{
  // The decoy is a valid plugin: searched on purpose, it is found ...
  ASSERT_TRUE(PluginRegistry({ kDecoy }).HasPlugin("decoy"));

  // ... but from the current directory, by any spelling of it, it is not.
  ScopedWorkingDirectory cwd(kDecoy);
  ScopedEnvironment      env("MEDSEG_PLUGIN_PATH", ".::decoy:./:");
  const PluginRegistry   registry;
  EXPECT_FALSE(registry.HasPlugin("decoy"));
  for (const auto & p : registry.GetPlugins())
  {
    EXPECT_NE(fs::path(p.path).parent_path(), fs::path(kDecoy)) << p.path;
  }
  for (const auto & r : registry.GetRefused())
  {
    EXPECT_NE(fs::path(r.path).parent_path(), fs::path(kDecoy)) << r.path;
  }
  for (const auto & d : registry.GetSearchPath())
  {
    EXPECT_TRUE(fs::path(d).is_absolute()) << d;
  }
  const auto warnings = registry.GetWarnings();
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], "MEDSEG_PLUGIN_PATH: relative entry '.' ignored (plugins are only searched in absolute directories)");
  EXPECT_TRUE(Contains(warnings[1], "relative entry 'decoy' ignored"));
  EXPECT_TRUE(Contains(warnings[2], "relative entry './' ignored"));

  // An explicit relative or empty search path is refused the same way.
  const PluginRegistry explicitPath({ ".", "", "decoy" });
  EXPECT_TRUE(explicitPath.GetSearchPath().empty());
  EXPECT_TRUE(explicitPath.GetPlugins().empty());
  EXPECT_EQ(explicitPath.GetWarnings().size(), 3u);
}

TEST(PluginRegistry, SearchesTheBuiltInFolderThenAbsoluteEntriesOfMedsegPluginPath)
{
  std::error_code ec;
  EXPECT_TRUE(fs::equivalent(PluginRegistry::BuiltInPluginDirectory(), MEDSEG_BUILD_PLUGIN_DIR, ec))
    << PluginRegistry::BuiltInPluginDirectory();

  ScopedEnvironment    env("MEDSEG_PLUGIN_PATH", "relative/dir:" + kDecoy);
  const PluginRegistry registry;
  ASSERT_EQ(registry.GetSearchPath().size(), 2u);
  EXPECT_TRUE(fs::equivalent(registry.GetSearchPath()[0], MEDSEG_BUILD_PLUGIN_DIR, ec));
  EXPECT_EQ(registry.GetSearchPath()[1], kDecoy);
  EXPECT_TRUE(registry.HasPlugin("decoy"));
  for (const char * shipped : { "unet", "fcn", "torchscript" })
  {
    EXPECT_TRUE(registry.HasPlugin(shipped)) << shipped;
  }
  EXPECT_TRUE(registry.GetRefused().empty());
  ASSERT_EQ(registry.GetWarnings().size(), 1u);
  EXPECT_TRUE(Contains(registry.GetWarnings()[0], "relative entry 'relative/dir' ignored"));
  for (const auto & p : registry.GetPlugins())
  {
    EXPECT_EQ(p.torchVersion, TORCH_VERSION);
    EXPECT_EQ(p.cxx11Abi, _GLIBCXX_USE_CXX11_ABI);
  }
}

TEST(PluginRegistry, FirstPluginOfANameWinsAndNonLibrariesAreRefused)
{
  test::TemporaryDirectory dir;
  fs::copy_file(Library(kMixed, "test_good"), dir / "a.so");
  fs::copy_file(Library(kMixed, "test_good"), dir / "b.so");
  test::WriteText(dir / "fake.so", "not an ELF file");
  test::WriteText(dir / "readme.txt", "ignored: not a .so");
  const PluginRegistry registry({ dir.Path() });
  ASSERT_EQ(registry.GetPlugins().size(), 1u);
  EXPECT_EQ(registry.GetPlugins()[0].path, dir / "a.so");
  const auto refused = RefusedByFile(registry);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused.at("b.so"), "name: the plugin has 'good', which " + (dir / "a.so") +
                                  " already provides (the first one found is used)");
  EXPECT_EQ(refused.at("fake.so").rfind("cannot be loaded: ", 0), 0u) << refused.at("fake.so");
}

TEST(PluginRegistry, LibraryStaysLoadedWhileAModelFromItLives)
{
  const std::string                  path = Library(kMixed, "test_good");
  std::shared_ptr<SegmentationModel> model;
  {
    PluginRegistry registry({ kMixed });
    model = registry.CreateModel("good", "", "", "cpu", 1);
  } // the registry, and its handle on the library, are gone
  void * handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  EXPECT_NE(handle, nullptr) << "the plugin was unloaded while its model lives";
  if (handle)
  {
    dlclose(handle);
  }
  const auto logits = model->Forward(torch::ones({ 1, 1, 2, 2, 2 }));
  EXPECT_FLOAT_EQ(logits[0][1][1][1][1].item<float>(), 1.0f);
  EXPECT_EQ(model->GetDescription(), "good sign model");
  model.reset(); // deletes through the plugin's code, then lets go of the library
}

TEST(PluginRegistry, TorchScriptPluginRunsAnyTorchScriptFile)
{
  test::TemporaryDirectory dir;
  auto                     module = test::MakeThresholdModule(50.0);
  test::SaveModule(module, dir / "threshold.pt");
  const PluginRegistry registry;
  ASSERT_TRUE(registry.HasPlugin("torchscript"));
  for (const char * json : { "", R"({"optimize": false})", R"({"optimize": true, "spatial_dims": 3})" })
  {
    SCOPED_TRACE(json);
    const auto model = registry.CreateModel("torchscript", json, dir / "threshold.pt", "cpu", 1);
    const auto input = torch::arange(0, 100, 1, torch::kFloat).reshape({ 1, 1, 4, 5, 5 });
    const auto labels = model->Forward(input).argmax(1);
    EXPECT_TRUE(torch::equal(labels, (input.squeeze(1) > 50).to(torch::kLong)));
    EXPECT_TRUE(Contains(model->GetDescription(), "threshold.pt"));
  }
  EXPECT_EQ(InputErrorOf([&] { registry.CreateModel("torchscript", "", "", "cpu", 1); }),
            "plugin 'torchscript': torchscript needs a weights path: the TorchScript file (.pt) to run");
  EXPECT_TRUE(Contains(InputErrorOf([&] { registry.CreateModel("torchscript", "", dir / "missing.pt", "cpu", 1); }),
                       "missing.pt: no such model file"));
  EXPECT_TRUE(Contains(InputErrorOf([&] { registry.CreateModel("torchscript", R"({"frozen": 1})", dir / "threshold.pt", "cpu", 1); }),
                       "torchscript hyper-parameters: field 'frozen' is not a known key (known: optimize, spatial_dims)"));
}
