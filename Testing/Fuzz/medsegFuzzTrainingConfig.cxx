// libFuzzer target: the `medseg train` config (JSON): TrainingConfig::FromJson on whatever
// nlohmann::json makes of the input, then ToJson and the learning-rate schedule of what was
// accepted (the values the trainer would use).

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegTrainingConfig.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const nlohmann::json document = nlohmann::json::parse(data, data + size, nullptr, false);
  if (document.is_discarded())
  {
    return 0;
  }
  try
  {
    const medseg::TrainingConfig config = medseg::TrainingConfig::FromJson(document, "config.json");
    (void)config.ToJson().dump();
    for (const int64_t step : { int64_t{ 1 }, config.warmupSteps, config.warmupSteps + 1, config.steps / 2, config.steps })
    {
      (void)config.LearningRateAt(step);
    }
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
