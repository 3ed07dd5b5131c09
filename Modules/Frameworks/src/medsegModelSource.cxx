#include "medsegModelSource.h"

#include "medsegMONAIBundle.h"
#include "medsegNNUNetFolder.h"

#include <filesystem>

namespace medseg
{

ModelSource
ModelSource::Resolve(const std::string & path)
{
  ModelSource source;
  source.path = path;
  if (IsPackageArchive(path))
  {
    source.archive = ExtractToTemporaryFolder(path);
    source.nnunetPackage = OpenNNUNetPackage(*source.archive);
  }
  std::error_code ec;
  if (source.nnunetPackage || IsNNUNetModelFolder(path))
    source.kind = Kind::NNUNet;
  else if (IsMONAIBundle(path))
    source.kind = Kind::MONAI;
  else if (source.archive || HasPackageArchiveName(path) || std::filesystem::is_directory(path, ec) ||
           std::filesystem::path(path).filename() == "model.json") // a missing one is refused by Load
    source.kind = Kind::Package;
  else
    source.kind = Kind::TorchScript;
  return source;
}

std::string
ModelSource::NNUNetFolder() const
{
  return nnunetPackage ? nnunetPackage->folder : path;
}

ModelPackage
ModelSource::LoadPackage() const
{
  return archive ? ModelPackage::Load(*archive) : ModelPackage::Load(path);
}

} // namespace medseg
