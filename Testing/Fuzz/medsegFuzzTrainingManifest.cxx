// libFuzzer target: the `medseg train` manifest readers, CSV and JSON. The first byte chooses the
// form (even: .csv, odd: .json); the rest is the file.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegTrainingConfig.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  if (size == 0)
  {
    return 0;
  }
  const medseg::fuzz::ScratchFolder folder;
  const std::string path = folder.Write((data[0] & 1u) ? "manifest.json" : "manifest.csv", data + 1, size - 1);
  try
  {
    (void)medseg::ReadTrainingManifest(path);
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
