// libFuzzer target: the input as one MONAI `$` expression, evaluated by medseg::MONAIConfig in the
// config {"x": "$<input>", "a": 1, "b": [1, 2], "s": "text"} with Resolve("x"): the tokenizer,
// parser and Python semantics of medsegMONAIExpression.cxx / medsegMONAIPython.cxx, with `@a`,
// `@b` and `@s` to refer to. A refusal is an InputError; a hang, a huge allocation (`'a' * 10**12`),
// a deep recursion or any other exception is a finding.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegMONAIConfig.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string code = medseg::fuzz::AsString(data, size);
  // The config holds strings as JSON does (a YAML or JSON file cannot give it invalid UTF-8 text
  // through nlohmann::json's parser, but the evaluator must not rely on it).
  nlohmann::json root = { { "x", "$" + code }, { "a", 1 }, { "b", { 1, 2 } }, { "s", "text" } };
  try
  {
    const medseg::MONAIConfig config("fuzz.json", std::move(root));
    const nlohmann::json      value = config.Resolve("x");
    (void)value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
