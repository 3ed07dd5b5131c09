// libFuzzer target: model.json validation, ModelPackage::Parse on whatever nlohmann::json makes of
// the input (the weights are not touched), then ToJson of what was accepted, which must parse again.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegModelPackage.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const nlohmann::json document = nlohmann::json::parse(data, data + size, nullptr, false);
  if (document.is_discarded())
  {
    return 0;
  }
  medseg::ModelPackage package;
  try
  {
    package = medseg::ModelPackage::Parse(document, "model.json");
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
    return 0;
  }
  // What Parse accepted and ToJson wrote must be accepted again (the package writer relies on it).
  try
  {
    (void)medseg::ModelPackage::Parse(package.ToJson(), "model.json (round trip)");
    for (size_t k = 0; k < package.labels.size(); ++k)
    {
      (void)package.LabelValue(k);
    }
  }
  catch (const medseg::InputError &)
  {
    __builtin_trap();
  }
  return 0;
}
