// ModelSource::Resolve: one rule for every kind of --model path, and an archive unpacked once.
#include "medsegError.h"
#include "medsegModelSource.h"
#include "medsegTarArchive.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace medseg;

namespace
{
/** Folders named medseg-package-* under `dir`: the archives unpacked there and not yet removed. */
size_t
UnpackedFolders(const fs::path & dir)
{
  size_t n = 0;
  for (const auto & entry : fs::directory_iterator(dir))
    n += entry.path().filename().string().rfind("medseg-package-", 0) == 0;
  return n;
}

/** Points the system's temporary directory at `dir` while it lives. */
class TemporaryDirectoryOverride
{
public:
  explicit TemporaryDirectoryOverride(const std::string & dir)
  {
    if (const char * old = std::getenv("TMPDIR"))
      m_Old = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~TemporaryDirectoryOverride()
  {
    if (m_Old.empty())
      ::unsetenv("TMPDIR");
    else
      ::setenv("TMPDIR", m_Old.c_str(), 1);
  }

private:
  std::string m_Old;
};
} // namespace

TEST(ModelSource, TellsEveryKindApartByItsFiles)
{
  test::TemporaryDirectory dir;
  const fs::path           root = dir.Path();
  fs::create_directories(root / "nnunet");
  test::WriteText(root / "nnunet" / "plans.json", "{}");
  test::WriteText(root / "nnunet" / "dataset.json", "{}");
  fs::create_directories(root / "bundle" / "configs");
  test::WriteText(root / "bundle" / "configs" / "metadata.json", "{}");
  fs::create_directories(root / "package");
  test::WriteText(root / "model.pt", "not read");

  EXPECT_EQ(ModelSource::Resolve(root / "nnunet").kind, ModelSource::Kind::NNUNet);
  EXPECT_EQ(ModelSource::Resolve(root / "nnunet").NNUNetFolder(), (root / "nnunet").string());
  EXPECT_EQ(ModelSource::Resolve(root / "bundle").kind, ModelSource::Kind::MONAI);
  EXPECT_EQ(ModelSource::Resolve(root / "package").kind, ModelSource::Kind::Package);
  EXPECT_EQ(ModelSource::Resolve(root / "package" / "model.json").kind, ModelSource::Kind::Package);
  EXPECT_EQ(ModelSource::Resolve(root / "model.pt").kind, ModelSource::Kind::TorchScript);
  // A package that is not there is still a package by its name, so that loading it says so.
  const ModelSource missing = ModelSource::Resolve(root / "missing.medseg");
  EXPECT_EQ(missing.kind, ModelSource::Kind::Package);
  EXPECT_FALSE(missing.archive);
  try
  {
    missing.LoadPackage();
    FAIL() << "a missing package loaded";
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), (root / "missing.medseg").string());
    EXPECT_EQ(e.GetProblem(), "no such model package");
  }
}

TEST(ModelSource, AnArchiveIsUnpackedOnceAndRemovedWithTheSource)
{
  test::TemporaryDirectory dir;
  const fs::path           root = dir.Path();
  test::TemporaryDirectory temp;
  TemporaryDirectoryOverride redirect(temp.Path());
  test::WriteText(root / "model.json", R"({"format": "not checked here"})");
  test::WriteText(root / "weights.pt", "weights");
  WriteTarGz(root / "model.medseg", { { "model.json", root / "model.json" }, { "weights.pt", root / "weights.pt" } });
  {
    const ModelSource source = ModelSource::Resolve(root / "model.medseg");
    EXPECT_EQ(source.kind, ModelSource::Kind::Package);
    ASSERT_TRUE(source.archive);
    EXPECT_FALSE(source.nnunetPackage);
    EXPECT_EQ(source.archive->names, (std::vector<std::string>{ "model.json", "weights.pt" }));
    EXPECT_TRUE(fs::is_regular_file(fs::path(source.archive->folder) / "weights.pt"));
    EXPECT_EQ(UnpackedFolders(fs::path(temp.Path())), 1u);
    // Loading reads the same folder (and refuses this model.json, naming the archive): no second copy.
    try
    {
      source.LoadPackage();
      FAIL() << "an invalid model.json loaded";
    }
    catch (const InputError & e)
    {
      EXPECT_NE(std::string(e.what()).find((root / "model.medseg").string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(UnpackedFolders(fs::path(temp.Path())), 1u);
  }
  EXPECT_EQ(UnpackedFolders(fs::path(temp.Path())), 0u);
}

TEST(ModelSource, AnArchiveWithAnNNUNetManifestIsCheckedAsOne)
{
  test::TemporaryDirectory dir;
  const fs::path           root = dir.Path();
  test::WriteText(root / "nnunet.json", R"({"format": "something else"})");
  WriteTarGz(root / "nnunet.medseg", { { "nnunet.json", root / "nnunet.json" } });
  try
  {
    ModelSource::Resolve(root / "nnunet.medseg");
    FAIL() << "a bad nnU-Net manifest was accepted";
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), (root / "nnunet.medseg").string());
    EXPECT_EQ(e.GetProblem(), "nnunet.json does not describe an nnU-Net package");
  }
}
