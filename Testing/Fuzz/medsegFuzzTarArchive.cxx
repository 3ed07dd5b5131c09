// libFuzzer target: medseg::ExtractTar, which unpacks `.medseg` model packages (gzip or plain
// tar; names, links, sizes, duplicates, the gzip trailer and the end-of-archive marker checked).
// The input is the archive file; members are extracted into a scratch folder.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegTarArchive.h"

#include <filesystem>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const medseg::fuzz::ScratchFolder folder;
  const std::string                 archive = folder.Write("package.medseg", data, size);
  const std::string                 target = folder.Path() + "/out";
  std::filesystem::create_directory(target);
  try
  {
    const std::vector<std::string> names = medseg::ExtractTar(archive, target);
    // Whatever was accepted must have landed inside the target folder as a plain file.
    for (const std::string & name : names)
    {
      const std::filesystem::path extracted = std::filesystem::path(target) / name;
      if (name.find('/') != std::string::npos || !std::filesystem::is_regular_file(extracted) ||
          std::filesystem::is_symlink(extracted))
      {
        __builtin_trap();
      }
    }
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
