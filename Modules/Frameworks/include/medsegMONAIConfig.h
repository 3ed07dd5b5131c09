#ifndef medsegMONAIConfig_h
#define medsegMONAIConfig_h

#include <nlohmann/json.hpp>

#include <string>

namespace medseg
{

/** \brief A MONAI bundle configuration file, read and resolved as MONAI's ConfigParser does for
 * the plain cases (monai.bundle.config_parser, reference_resolver, config_item).
 *
 * - `.json` files are parsed as JSON; `.yaml` / `.yml` files with yaml-cpp, their scalars typed
 *   as PyYAML's SafeLoader types them (YAML 1.1): true/false/yes/no/on/off in any of their
 *   spellings are booleans, `~`/`null`/empty are null, integers (with `_`, 0x, 0b, leading-0
 *   octal `017`, base 60 `1:30`; `0o17` and `08` stay strings, as in PyYAML), floats only with a
 *   dot or .inf/.nan and a signed exponent (`1e-3` and `1.0e3` stay strings, `1.0e-3` is a
 *   float), quoted and block scalars strings, timestamps strings; `<<` merge keys are applied;
 *   a key is the str() of what PyYAML makes of it (`yes:` is the key "True").
 * - Every string value has `#` replaced by `::` (MONAI's old id separator).
 * - Ids are `::`-separated keys of dicts and indices of lists: `preprocessing::transforms::3`.
 * - Resolve() replaces a string that is exactly `@id` by the resolved item `id`; `@::x` is a
 *   sibling in the same container, each further `::` one level up. A string starting with `$` is
 *   an expression: the plain ones are evaluated (below); anything else is refused as Python code.
 *   Other strings are literal (`mail@host` stays). Dicts with `_target_` stay dicts, their values
 *   resolved except `_target_`, `_requires_`, `_mode_` and `_desc_`, which are kept as written;
 *   a component (a dict with `_target_`) whose `_disabled_` resolves to true (or the string
 *   "true" in any case) is dropped from its list or dict, unresolved, and resolves to null itself.
 * - Expressions: int, float, string ('..' or "..", r'..'), True/False/None literals, lists and
 *   tuples (both arrays), `@id` references, unary - +, + - * / // % ** (Python semantics: / is
 *   true division, // and % floor), comparisons == != < <= > >= (chained), in, not in, is (with
 *   None/True/False), `and` `or` `not`, `x if c else y` (only the branch taken is evaluated),
 *   indexing `x[i]` (negative too) of lists and strings and `d['key']` of dicts, slicing
 *   `x[a:b:c]` of lists and strings, the calls max, min, int, float, str (floats as Python's
 *   repr), len, abs, round (half to even, an int with one argument), list, tuple, bool, and
 *   os.path.join (posixpath.join). Strings concatenate with +, lists with +; ints are 64-bit
 *   (overflow is an error). Every `@id` of an expression is resolved before it runs, as MONAI
 *   does, taken branch or not; a `@` inside a string literal of an expression is text.
 *
 * Errors are InputError(file, "<id>: <problem>"): a missing reference ("<id>: refers to 'x',
 * which is not in the file"), a reference cycle, an expression that is not one of the above
 * ("<id>: is Python code MedSeg does not run: <text>"), one that fails as Python would ("<id>:
 * cannot evaluate <text>: division by zero"), a `%file::id` macro. Object keys come back in
 * nlohmann::json's sorted order, not the file's.
 *
 * Limits (a reference or a YAML alias is a copy here, where MONAI shares the Python object): an
 * expression nests at most 200 levels, makes values of at most 65536 items or characters and
 * 2^20 in all; one Resolve() hands out at most 65536 values and follows chains of at most 100
 * references; a YAML file expands to at most 32768 values, 1000 levels deep. */
class MONAIConfig
{
public:
  using json = nlohmann::json;

  /** Reads `path` (.json, .yaml or .yml). Throws InputError(path, ...) for a file that cannot be
   * read or parsed, or whose top level is not a mapping. */
  static MONAIConfig
  ReadFile(const std::string & path);

  /** `file` names the configuration in error messages; `root` must be an object. */
  MONAIConfig(std::string file, json root);

  /** Sets an item, adding it (and missing parent dicts) when absent; as ConfigParser's
   * `parser[id] = value` with overrides such as `bundle_root`. `value`'s strings get the `#`
   * normalisation too. */
  void
  Set(const std::string & id, json value);

  /** Whether the id names an item (dict key or list index) of the unresolved content. */
  bool
  Has(const std::string & id) const;

  /** The item as written (after `#` normalisation); "" is the root. Throws InputError when absent. */
  const json &
  Raw(const std::string & id = "") const;

  /** The item `id` with every reference and expression inside it resolved, recursively. Only what
   * `id` contains (and what it refers to) is evaluated, so Python code elsewhere in the file (a
   * `device` item, a `$import`) does not stop a caller that never asks for it. */
  json
  Resolve(const std::string & id) const;

  /** The file name given to the constructor (for messages). */
  const std::string &
  File() const
  {
    return m_File;
  }

private:
  std::string m_File;
  json        m_Root;
};

} // namespace medseg

#endif
