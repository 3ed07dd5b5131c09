// libFuzzer target: `medseg batch` manifests, CSV and JSON, through batch::CollectCases as
// `medseg batch --input MANIFEST` calls it (rows, quoting, the input columns, ids made safe,
// duplicate ids). The first byte chooses the form (even: .csv, odd: .json); the rest is the file.
// The manifest readers themselves are private to medsegBatchCases.cxx, which this target compiles in.

#include "medsegFuzzCommon.h"

#include "medsegBatchCases.h"
#include "medsegError.h"
#include "medsegUsageError.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  if (size == 0)
  {
    return 0;
  }
  const medseg::fuzz::ScratchFolder folder;
  const std::string manifest = folder.Write((data[0] & 1u) ? "cases.json" : "cases.csv", data + 1, size - 1);
  try
  {
    const auto cases = medseg::cli::batch::CollectCases({ manifest }, folder.Path() + "/out");
    for (const auto & c : cases)
    {
      // Every case id names an output folder: never empty, never a path.
      if (c.id.empty() || c.id.find('/') != std::string::npos || c.id == "." || c.id == ".." || c.inputs.empty())
      {
        __builtin_trap();
      }
    }
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  catch (const medseg::UsageError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
