// libFuzzer target: a MONAI bundle config file through medseg::MONAIConfig, as ReadMONAIBundle reads
// one: ReadFile (JSON, or YAML typed as PyYAML's SafeLoader), the `bundle_root` override, then
// Resolve of every top-level id and of the direct children of those that are dicts or lists
// (references, relative ids, `_disabled_`, `$` expressions).
//
// Built twice with MEDSEG_FUZZ_EXTENSION ".json" or ".yaml". A refusal is an InputError; anything
// else that escapes (yaml-cpp's or nlohmann::json's own exceptions, std::out_of_range) is a finding.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegMONAIConfig.h"

#ifndef MEDSEG_FUZZ_EXTENSION
#  error "define MEDSEG_FUZZ_EXTENSION, \".json\" or \".yaml\""
#endif

namespace
{

/** Resolves `id`; false when it was refused. */
bool
Resolve(const medseg::MONAIConfig & config, const std::string & id)
{
  try
  {
    const nlohmann::json value = config.Resolve(id);
    // What a caller does with a value: reads it, puts it in a message.
    (void)value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return true;
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
    return false;
  }
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const medseg::fuzz::ScratchFolder folder;
  const std::string                 path = folder.Write(std::string("config") + MEDSEG_FUZZ_EXTENSION, data, size);
  try
  {
    medseg::MONAIConfig config = medseg::MONAIConfig::ReadFile(path);
    config.Set("bundle_root", "/bundle");
    const nlohmann::json root = config.Raw();
    for (const auto & item : root.items())
    {
      (void)Resolve(config, item.key());
      const nlohmann::json & raw = item.value();
      if (raw.is_object())
        for (const auto & child : raw.items())
          (void)Resolve(config, item.key() + "::" + child.key());
      else if (raw.is_array())
        for (size_t i = 0; i < raw.size(); ++i)
          (void)Resolve(config, item.key() + "::" + std::to_string(i));
    }
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
