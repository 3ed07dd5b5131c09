// libFuzzer target: medseg::LabelTable's readers, the 3D Slicer colour-table text form and the
// JSON forms ({"labels": [...]} or a bare array), both on every input.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegLabelTable.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string text = medseg::fuzz::AsString(data, size);
  for (const bool json : { false, true })
  {
    try
    {
      const medseg::LabelTable table = json ? medseg::LabelTable::ParseJson(text, "labels.json")
                                            : medseg::LabelTable::ParseColorTable(text, "labels.txt");
      for (const medseg::LabelInfo & entry : table.GetEntries())
      {
        (void)medseg::SanitizeLabelName(entry.name);
        (void)table.Get(entry.value);
      }
    }
    catch (const medseg::InputError &)
    {
    }
  }
  return 0;
}
