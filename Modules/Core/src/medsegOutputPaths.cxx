#include "medsegOutputPaths.h"

#include "medsegError.h"
#include "medsegFileNameSuffix.h"

#include <filesystem>

namespace medseg
{
using detail::NameEndsWith;
namespace fs = std::filesystem;

bool
IsAtomicallyWritable(const std::string & path)
{
  return NameEndsWith(path, { ".nii.gz", ".nii", ".nrrd", ".mha" });
}

void
CheckOutputPath(const std::string & path, bool overwrite)
{
  if (!IsAtomicallyWritable(path))
  {
    throw InputError(path, "unsupported output format; use .nii.gz, .nii, .nrrd or .mha");
  }
  CheckOutputFile(path, overwrite);
}

bool
IsSameFile(const std::string & a, const std::string & b)
{
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec))
  {
    return fs::equivalent(a, b, ec);
  }
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

void
CheckOutputFile(const std::string & path, bool overwrite)
{
  std::error_code ec;
  fs::path        parent = fs::path(path).parent_path();
  if (parent.empty())
  {
    parent = ".";
  }
  if (!fs::is_directory(parent, ec))
  {
    throw InputError(path, "its folder " + parent.string() + " does not exist");
  }
  if (fs::is_directory(path, ec))
  {
    throw InputError(path, "is a folder, not a file name");
  }
  if (fs::exists(path, ec) && !overwrite)
  {
    throw InputError(path, "already exists; pass --overwrite to replace it");
  }
}

} // namespace medseg
