#include "medsegNNUNetPackage.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegSha256.h"
#include "medsegTarArchive.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace medseg
{

namespace
{

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char * PackageFormat = "medseg-nnunet-package";
constexpr int          PackageVersion = 1;

/** A plain file name nnU-Net could have given the folder (no separators, not "." or ".."). */
bool
PlainName(const std::string & name)
{
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

} // namespace

void
PackNNUNetFolder(const std::string & folder, const NNUNetFolderOptions & options, const std::string & output)
{
  const NNUNetModel model = ReadNNUNetFolder(folder, options); // refuses what segment would refuse
  const fs::path    dir(folder);
  json              manifest{ { "format", PackageFormat },
                              { "format_version", PackageVersion },
                              { "dataset", model.datasetName },
                              { "configuration", model.configuration },
                              { "folder_name", fs::absolute(dir).lexically_normal().filename().string() },
                              { "checkpoint", options.checkpoint } };
  if (!PlainName(manifest["folder_name"].get<std::string>()))
    manifest["folder_name"] = "nnUNetTrainer__nnUNetPlans__" + model.configuration;
  std::vector<std::pair<std::string, std::string>> members;
  json                                             files = json::object();
  for (const char * name : { "plans.json", "dataset.json" })
  {
    const std::string path = (dir / name).string();
    members.emplace_back(name, path);
    files[name] = Sha256OfFile(path);
  }
  json folds = json::array();
  for (size_t f = 0; f < model.folds.size(); ++f)
  {
    const std::string member = "fold_" + model.folds[f] + ".pth";
    members.emplace_back(member, model.checkpoints[f]);
    files[member] = Sha256OfFile(model.checkpoints[f]);
    folds.push_back(model.folds[f]);
  }
  manifest["folds"] = folds;
  manifest["sha256"] = files;

  const fs::path where = fs::path(output).parent_path().empty() ? fs::path(".") : fs::path(output).parent_path();
  AtomicFile     manifestFile(where / "nnunet.json");
  {
    std::ofstream out(manifestFile.GetTemporaryPath());
    out << manifest.dump(2) << '\n';
    out.close();
    if (!out)
      throw InputError(output, "cannot write a temporary file beside it");
  }
  members.insert(members.begin(), { "nnunet.json", manifestFile.GetTemporaryPath() });
  WriteTarGz(output, members);
}

std::optional<NNUNetPackage>
OpenNNUNetPackage(const std::string & path)
{
  if (!IsPackageArchive(path))
    return std::nullopt;
  return OpenNNUNetPackage(ExtractToTemporaryFolder(path));
}

std::optional<NNUNetPackage>
OpenNNUNetPackage(const ExtractedArchive & archive)
{
  const std::string &              path = archive.source;
  const std::vector<std::string> & names = archive.names;
  const fs::path                   root(archive.folder);
  std::error_code                  ec;
  if (!fs::is_regular_file(root / "nnunet.json", ec))
    return std::nullopt; // another kind of package
  NNUNetPackage package;
  package.source = path;
  package.owner = archive.owner; // the folder lives as long as the package

  json manifest;
  try
  {
    std::ifstream in(root / "nnunet.json");
    manifest = json::parse(in);
  }
  catch (const json::exception & e)
  {
    throw InputError(path, std::string("nnunet.json is not valid JSON (") + e.what() + ")");
  }
  if (!manifest.is_object() || manifest.value("format", std::string()) != PackageFormat)
    throw InputError(path, "nnunet.json does not describe an nnU-Net package");
  if (manifest.value("format_version", 0) != PackageVersion)
    throw InputError(path, "nnunet.json has format_version " + manifest.value("format_version", json()).dump() +
                             "; this MedSeg reads " + std::to_string(PackageVersion));
  const json & hashes = manifest.value("sha256", json::object());
  const json & folds = manifest.value("folds", json::array());
  const std::string folderName = manifest.value("folder_name", std::string());
  if (!hashes.is_object() || !folds.is_array() || folds.empty() || !PlainName(folderName))
    throw InputError(path, "nnunet.json must give folder_name, folds and the sha256 of every member");
  // Every member but the manifest is hashed, and every hashed member is there, before any is read.
  for (const auto & name : names)
  {
    if (name == "nnunet.json")
      continue;
    if (!hashes.contains(name))
      throw InputError(path, "member '" + name + "' is not listed in nnunet.json");
    const std::string actual = Sha256OfFile((root / name).string());
    if (actual != hashes.at(name).get<std::string>())
      throw InputError(path, "member '" + name + "' has SHA-256 " + actual + " but nnunet.json says " +
                               hashes.at(name).get<std::string>() + "; refusing to load it");
  }
  for (const auto & [name, hash] : hashes.items())
    if (!fs::is_regular_file(root / name, ec))
      throw InputError(path, "member '" + name + "' listed in nnunet.json is missing");

  // nnU-Net's layout again: <folder_name>/{plans.json, dataset.json, fold_<f>/checkpoint_final.pth}.
  const fs::path folder = root / folderName;
  fs::create_directory(folder, ec);
  for (const char * name : { "plans.json", "dataset.json" })
  {
    fs::rename(root / name, folder / name, ec);
    if (ec)
      throw InputError(path, std::string("is missing ") + name);
  }
  for (const auto & fold : folds)
  {
    const std::string f = fold.is_string() ? fold.get<std::string>() : fold.dump();
    if (!PlainName(f))
      throw InputError(path, "nnunet.json names fold '" + f + "'");
    fs::create_directory(folder / ("fold_" + f), ec);
    fs::rename(root / ("fold_" + f + ".pth"), folder / ("fold_" + f) / "checkpoint_final.pth", ec);
    if (ec)
      throw InputError(path, "holds no checkpoint for fold " + f);
  }
  package.folder = folder.string();
  return package;
}

} // namespace medseg
