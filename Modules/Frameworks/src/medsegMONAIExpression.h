#ifndef medsegMONAIExpression_h
#define medsegMONAIExpression_h

#include "medsegMONAIPython.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace medseg
{
namespace detail
{

/** Gives the resolved value of the config item `id` (already absolute, `::`-separated). */
using MONAIReferenceFunction = std::function<nlohmann::json(const std::string & id)>;

/** \brief Evaluates `code` (a MONAI `$` expression without its `$`) as Python's eval would, for
 * the subset documented in medsegMONAIConfig.h (values and operators: medsegMONAIPython.h).
 *
 * The code is first read whole, so anything outside the subset is refused
 * (MONAIExpressionUnsupported) before anything runs, and every `@id` in it, in a taken branch or
 * not, is asked of `reference` once, as MONAI resolves all of them before eval. It is then
 * evaluated with Python's short-circuit rules (`and`, `or`, `x if c else y`, chained
 * comparisons). A `@` inside a string literal is literal text. Exceptions from `reference` pass
 * through unchanged. */
nlohmann::json
EvaluateMONAIExpression(const std::string & code, const MONAIReferenceFunction & reference);

} // namespace detail
} // namespace medseg

#endif
