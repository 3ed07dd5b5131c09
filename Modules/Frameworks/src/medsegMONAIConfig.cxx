#include "medsegMONAIConfig.h"

#include "medsegError.h"
#include "medsegMONAIExpression.h"
#include "medsegMONAIPython.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

namespace medseg
{

namespace
{

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string Separator = "::";

/** ReferenceResolver.normalize_id: `#` is MONAI's old id separator. */
std::string
NormaliseId(std::string text)
{
  for (size_t at = text.find('#'); at != std::string::npos; at = text.find('#', at + Separator.size()))
    text.replace(at, 1, Separator);
  return text;
}

/** ConfigParser normalises every string value (not the keys) as it resolves relative ids. */
void
NormaliseStrings(json & value)
{
  if (value.is_string())
    value = NormaliseId(value.get<std::string>());
  else if (value.is_structured())
    for (auto & item : value)
      NormaliseStrings(item);
}

/** "a::b::0" -> {"a", "b", "0"}; "" (the root) -> {}. Empty parts are kept, as str.split keeps them. */
std::vector<std::string>
SplitId(const std::string & id)
{
  std::vector<std::string> keys;
  if (id.empty())
    return keys;
  size_t start = 0;
  for (size_t at = id.find(Separator); at != std::string::npos; at = id.find(Separator, start))
  {
    keys.push_back(id.substr(start, at - start));
    start = at + Separator.size();
  }
  keys.push_back(id.substr(start));
  return keys;
}

std::string
JoinId(const std::string & parent, const std::string & key)
{
  return parent.empty() ? key : parent + Separator + key;
}

/** A list position in an id: digits only (MONAI's int(k) of a `\w` id part). */
std::optional<size_t>
ListIndex(const std::string & key, size_t size)
{
  if (key.empty() || key.size() > 18 || !std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  const size_t index = std::stoull(key);
  return index < size ? std::optional<size_t>(index) : std::nullopt;
}

/** The item `id` of `root`, or null when a key or index is missing (ConfigParser.__getitem__). */
const json *
Find(const json & root, const std::string & id)
{
  const json * node = &root;
  for (const auto & key : SplitId(id))
  {
    if (node->is_object() && node->contains(key))
      node = &node->at(key);
    else if (const auto index = node->is_array() ? ListIndex(key, node->size()) : std::nullopt)
      node = &node->at(*index);
    else
      return nullptr;
  }
  return node;
}

bool
IsWordChar(char c)
{
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

/** The whole string is `@id` in ReferenceResolver.id_matcher's pattern `@\w*(::\w*)*`. */
bool
IsReference(const std::string & text)
{
  if (text.empty() || text[0] != '@')
    return false;
  size_t i = 1;
  while (i < text.size() && IsWordChar(text[i]))
    ++i;
  while (text.compare(i, Separator.size(), Separator) == 0)
    for (i += Separator.size(); i < text.size() && IsWordChar(text[i]);)
      ++i;
  return i == text.size();
}

// ------------------------------------------------------------------------------------------------
// Reading: JSON as json.load, YAML as PyYAML's SafeLoader (MONAI's CheckKeyDuplicatesYamlLoader)
// ------------------------------------------------------------------------------------------------

json
ParseJson(std::istream & in, const std::string & path)
{
  try
  {
    return json::parse(in);
  }
  catch (const json::exception & e)
  {
    std::string message = e.what(); // "[json.exception.parse_error.101] parse error at line 3, ..."
    const size_t bracket = message.find("] ");
    throw InputError(path, "is not valid JSON: " + (bracket == std::string::npos ? message : message.substr(bracket + 2)));
  }
}

/** The implicit resolvers of yaml.resolver.Resolver (YAML 1.1), in the order PyYAML tries them. */
const std::regex &
YamlPattern(const std::string & tag)
{
  static const std::map<std::string, std::regex> patterns = {
    { "bool", std::regex("^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$") },
    { "float",
      std::regex("^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
                 "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$") },
    { "int",
      std::regex("^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
                 "|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$") },
    { "null", std::regex("^(?:~|null|Null|NULL|)$") }
  };
  return patterns.at(tag);
}

/** The parts of a YAML 1.1 base-60 number, "1:30:05" -> {"1", "30", "05"}. */
std::vector<std::string>
SplitColons(const std::string & text)
{
  std::vector<std::string> parts(1);
  for (const char c : text)
    if (c == ':')
      parts.emplace_back();
    else
      parts.back() += c;
  return parts;
}

/** SafeConstructor.construct_yaml_int: `_` dropped, 0b / 0x / leading-0 octal / base 60 (1:30). */
json
YamlInt(const std::string & text, const std::string & path, const std::string & where)
{
  std::string t;
  std::copy_if(text.begin(), text.end(), std::back_inserter(t), [](char c) { return c != '_'; });
  const bool negative = t[0] == '-';
  if (t[0] == '-' || t[0] == '+')
    t.erase(0, 1);
  uint64_t magnitude = 0;
  bool     ok = true;
  if (t.find(':') != std::string::npos)
  {
    for (const auto & part : SplitColons(t))
    {
      uint64_t digits = 0; // the first part may be longer than 64 bits: from_chars says so, stoull throws
      ok = ok && std::from_chars(part.data(), part.data() + part.size(), digits).ec == std::errc() &&
           !__builtin_mul_overflow(magnitude, uint64_t(60), &magnitude) &&
           !__builtin_add_overflow(magnitude, digits, &magnitude);
    }
  }
  else
  {
    const int    base = t.compare(0, 2, "0b") == 0 ? 2 : (t.compare(0, 2, "0x") == 0 ? 16 : (t[0] == '0' ? 8 : 10));
    const size_t skip = base == 2 || base == 16 ? 2 : 0;
    ok = std::from_chars(t.data() + skip, t.data() + t.size(), magnitude, base).ec == std::errc();
  }
  const uint64_t limit = uint64_t(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  if (!ok || magnitude > limit)
    throw InputError(path, where + ": the integer " + text + " is larger than MedSeg's 64-bit integers");
  return negative ? int64_t(0 - magnitude) : int64_t(magnitude);
}

/** SafeConstructor.construct_yaml_float: `_` dropped, .inf / .nan, base 60 (1:30.5). */
json
YamlFloat(const std::string & text)
{
  std::string t;
  for (const char c : text)
    if (c != '_')
      t += char(std::tolower(static_cast<unsigned char>(c)));
  const double sign = t[0] == '-' ? -1.0 : 1.0;
  if (t[0] == '-' || t[0] == '+')
    t.erase(0, 1);
  if (t == ".inf")
    return sign * std::numeric_limits<double>::infinity();
  if (t == ".nan")
    return std::numeric_limits<double>::quiet_NaN();
  double value = 0.0;
  for (const auto & part : SplitColons(t))
    value = value * 60.0 + std::strtod(part.c_str(), nullptr);
  return sign * value;
}

/** A scalar as SafeLoader gives it: a plain one (tag "?") typed by the implicit resolvers, a quoted
 * or block one (tag "!") a string, an explicit standard tag constructed as that type. */
json
YamlScalar(const YAML::Node & node, const std::string & path, const std::string & where)
{
  const std::string & text = node.Scalar();
  const std::string & tag = node.Tag();
  const std::string   standard = "tag:yaml.org,2002:";
  // Every match of the patterns starts with one of these (a quick no for most strings; std::regex
  // is slow, and an alias can make a scalar be typed many times).
  const auto starts = [&text](const char * first) { return text.empty() || std::strchr(first, text[0]) != nullptr; };
  const auto matches = [&](const char * type) {
    static const std::map<std::string, const char *> first = {
      { "bool", "yYnNtTfFoO" }, { "float", "+-.0123456789" }, { "int", "+-0123456789" }, { "null", "~nN" }
    };
    return starts(first.at(type)) && std::regex_match(text, YamlPattern(type));
  };
  const bool          plain = tag == "?";
  if (tag == "!" || tag == standard + "str")
    return text;
  if ((plain || tag == standard + "bool") && matches("bool"))
    return text[0] == 'y' || text[0] == 'Y' || text[0] == 't' || text[0] == 'T' || text == "on" || text == "On" ||
           text == "ON";
  if ((plain || tag == standard + "float") && matches("float"))
    return YamlFloat(text);
  if ((plain || tag == standard + "int" || tag == standard + "float") && matches("int"))
  {
    const json value = YamlInt(text, path, where);
    return tag == standard + "float" ? json(value.get<double>()) : value;
  }
  if ((plain || tag == standard + "null") && matches("null"))
    return nullptr;
  if (plain) // a timestamp (PyYAML's datetime) stays its text
    return text;
  throw InputError(path, where + ": the YAML tag '" + tag + "' on '" + text + "' is not one SafeLoader constructs");
}

/** What converting one YAML document may take: aliases share nodes in yaml-cpp but become copies
 * in JSON, so `a: &a [1, 1]`, `b: &b [*a, *a]`, ... doubles with each line (and an anchor used
 * inside itself never ends). */
struct YamlBudget
{
  static constexpr size_t MaxNodes = size_t(1) << 15;
  static constexpr size_t MaxDepth = 1000;
  size_t                  nodes = 0;
  size_t                  depth = 0;
};

json
YamlToJson(const YAML::Node & node, const std::string & path, const std::string & where, YamlBudget & budget);

json
YamlNode(const YAML::Node & node, const std::string & path, const std::string & where, YamlBudget & budget);

/** A mapping, with the `<<` merge keys of SafeLoader's flatten_mapping: explicit keys win, then the
 * merged mappings in their order; keys become the str() of what PyYAML makes of them. */
json
YamlMapping(const YAML::Node & node, const std::string & path, const std::string & where, YamlBudget & budget)
{
  json                    out = json::object();
  std::vector<YAML::Node> merged;
  for (const auto & entry : node)
  {
    const YAML::Node & key = entry.first;
    if (key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<")
    {
      if (entry.second.IsMap())
        merged.push_back(entry.second);
      else if (entry.second.IsSequence())
        for (size_t i = 0; i < entry.second.size(); ++i)
          merged.push_back(entry.second[i]);
      else
        throw InputError(path, JoinId(where, "<<") + ": a merge key needs a mapping or a list of mappings");
      continue;
    }
    if (!key.IsScalar() && !key.IsNull())
      throw InputError(path, where + ": has a key that is a list or a mapping, which PyYAML cannot use as a key");
    const std::string name = detail::PythonStr(key.IsNull() ? json() : YamlScalar(key, path, where));
    out[name] = YamlToJson(entry.second, path, JoinId(where, name), budget);
  }
  for (const auto & m : merged)
  {
    if (!m.IsMap())
      throw InputError(path, JoinId(where, "<<") + ": a merge key needs a mapping or a list of mappings");
    const json entries = YamlToJson(m, path, where, budget); // a mapping: counted like any other
    for (const auto & item : entries.items())
      if (!out.contains(item.key()))
        out[item.key()] = item.value();
  }
  return out;
}

json
YamlToJson(const YAML::Node & node, const std::string & path, const std::string & where, YamlBudget & budget)
{
  if (++budget.nodes > YamlBudget::MaxNodes)
    throw InputError(path, "is not valid YAML for MONAI: its aliases expand to more than " +
                             std::to_string(YamlBudget::MaxNodes) + " values");
  if (budget.depth >= YamlBudget::MaxDepth)
    throw InputError(path, (where.empty() ? std::string() : where.substr(0, where.find(Separator)) + ": ") + // its top-level key
                             "nests more than " + std::to_string(YamlBudget::MaxDepth) +
                             " levels deep (an alias inside its own anchor?)");
  ++budget.depth;
  json out = YamlNode(node, path, where, budget);
  --budget.depth;
  return out;
}

json
YamlNode(const YAML::Node & node, const std::string & path, const std::string & where, YamlBudget & budget)
{
  switch (node.Type())
  {
    case YAML::NodeType::Scalar:
      return YamlScalar(node, path, where);
    case YAML::NodeType::Sequence:
    {
      json out = json::array();
      for (size_t i = 0; i < node.size(); ++i)
        out.push_back(YamlToJson(node[i], path, JoinId(where, std::to_string(i)), budget));
      return out;
    }
    case YAML::NodeType::Map:
      return YamlMapping(node, path, where, budget);
    default:
      return node.Tag() == "tag:yaml.org,2002:str" ? json("") : json();
  }
}

json
ParseYaml(std::istream & file, const std::string & path)
{
  // PyYAML's Reader first: UTF-8 of printable characters only (tab, newlines, U+0020-U+007E, U+0085,
  // U+00A0-U+D7FF, U+E000-U+FFFD, U+10000 and up). yaml-cpp 0.7 loops without end on some
  // files with NUL or invalid bytes (found by fuzzing); PyYAML refuses them anyway.
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (size_t i = 0, line = 1; i < text.size(); line += text[i] == '\n', ++i)
  {
    const auto   c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 0 : (c >= 0xC2 && c < 0xE0 ? 1 : (c >= 0xE0 && c < 0xF0 ? 2 : (c >= 0xF0 && c < 0xF5 ? 3 : 9)));
    uint32_t     cp = n == 0 ? c : (c & (0x3F >> n));
    for (size_t k = 1; k <= n && n < 9; ++k)
      cp = i + k < text.size() && (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80
             ? (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F)
             : 0xFFFFFFFF;
    const bool shortest = n == 0 || cp >= (n == 1 ? 0x80u : (n == 2 ? 0x800u : 0x10000u));
    const bool printable = cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
                           (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                           (cp >= 0x10000 && cp <= 0x10FFFF);
    if (n == 9 || !shortest || !printable)
      throw InputError(path, "is not valid YAML: line " + std::to_string(line) +
                               ": a byte that is not UTF-8 of a printable character (PyYAML refuses it)");
    i += n == 9 ? 0 : n;
  }
  // One document, as yaml.load reads: a second "---" (or a "..." end) at the start of a line after
  // the content is refused. yaml-cpp 0.7's LoadAll loops without end after some errors (a stray
  // ",": jbeder/yaml-cpp#1040, fixed upstream after 0.7), so only YAML::Load is called.
  bool content = false, ended = false; // content seen; a "..." ended the document
  for (size_t start = 0, line = 1; start < text.size(); ++line)
  {
    size_t end = text.find_first_of("\r\n", start);
    end = end == std::string::npos ? text.size() : end;
    const std::string l = text.substr(start, end - start);
    const auto   marker = [&](const char * m) { return l.rfind(m, 0) == 0 && (l.size() == 3 || l[3] == ' ' || l[3] == '\t'); };
    const size_t first = l.find_first_not_of(" \t");
    const bool   hasText = first != std::string::npos && l[first] != '#';
    if ((marker("---") && (content || ended)) || (ended && hasText && !marker("...")))
      throw InputError(path, "is not valid YAML for MONAI: line " + std::to_string(line) +
                               " starts another document where yaml.load reads one");
    if (marker("..."))
      ended = content || ended;
    else if (hasText && !marker("---"))
      content = true;
    else if (marker("---") && l.find_first_not_of(" \t", 3) != std::string::npos && l[l.find_first_not_of(" \t", 3)] != '#')
      content = true; // "--- value"
    start = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
  }
  YAML::Node document;
  try
  {
    std::istringstream in(text);
    document = YAML::Load(in);
  }
  catch (const YAML::Exception & e)
  {
    const std::string where = e.mark.is_null() ? std::string()
                                               : "line " + std::to_string(e.mark.line + 1) + ", column " +
                                                   std::to_string(e.mark.column + 1) + ": ";
    throw InputError(path, "is not valid YAML: " + where + e.msg);
  }
  YamlBudget budget;
  return document.IsDefined() ? YamlToJson(document, path, "", budget) : json();
}

// ------------------------------------------------------------------------------------------------
// Resolution (ReferenceResolver._resolve_one_item, lazily from one id)
// ------------------------------------------------------------------------------------------------

/** Keys MONAI's ConfigComponent does not pass as arguments and MedSeg hands on unresolved. */
bool
IsKeptKey(const std::string & key)
{
  return key == "_target_" || key == "_requires_" || key == "_mode_" || key == "_desc_";
}

/** ConfigComponent.is_disabled: a string is "true" ignoring case and spaces, anything else bool(). */
bool
IsDisabled(const json & flag)
{
  if (!flag.is_string())
    return detail::PythonTruthy(flag);
  std::string text;
  for (const char c : flag.get<std::string>())
    if (!std::isspace(static_cast<unsigned char>(c)))
      text += char(std::tolower(static_cast<unsigned char>(c)));
  return text == "true";
}

/** One Resolve() call: each id it reaches is resolved once; the ids being resolved form a chain,
 * and reaching one of them again is a cycle.
 *
 * A reference is a copy of what it refers to, so `b: [@a, @a]`, `c: [@b, @b]`, ... doubles with
 * each item (MONAI shares the Python objects): every copy handed out counts its size
 * (detail::PythonSize) against MaxSize, and a chain of references deeper than MaxChain is
 * refused rather than run off the end of the stack. */
class Resolver
{
public:
  static constexpr size_t MaxSize = size_t(1) << 16;
  static constexpr size_t MaxChain = 100;

  Resolver(const std::string & file, const json & root)
    : m_File(file)
    , m_Root(root)
  {}

  /** The resolved item `id`; `referrer` is the id whose value refers to it ("" for the caller). */
  json
  Item(const std::string & id, const std::string & referrer)
  {
    if (const auto done = m_Done.find(id); done != m_Done.end())
      return Charge(done->second, id);
    if (const auto active = std::find(m_Active.begin(), m_Active.end(), id); active != m_Active.end())
    {
      std::string chain;
      for (auto it = active; it != m_Active.end(); ++it)
        chain += *it + " -> ";
      if (referrer != m_Active.back())
        chain += referrer + " -> ";
      throw InputError(m_File, referrer + ": refers to '" + id + "', a reference cycle (" + chain + id + ")");
    }
    const json * raw = Find(m_Root, id);
    if (raw == nullptr && referrer.empty())
      throw InputError(m_File, id + ": is not in the file");
    if (raw == nullptr)
      throw InputError(m_File, referrer + ": refers to '" + id + "', which is not in the file");
    if (m_Active.size() >= MaxChain)
      throw InputError(m_File, referrer + ": refers to '" + id + "' through a chain of more than " +
                                 std::to_string(MaxChain) + " references");
    m_Active.push_back(id);
    json value = Value(*raw, id).value_or(json());
    m_Active.pop_back();
    return Charge(m_Done.emplace(id, std::move(value)).first->second, id);
  }

private:
  /** The copy of a resolved item that is handed out, counted against MaxSize. */
  const json &
  Charge(const json & value, const std::string & id)
  {
    m_Size += detail::PythonSize(value, MaxSize);
    if (m_Size > MaxSize)
      throw InputError(m_File, id + ": its references expand to more than " + std::to_string(MaxSize) +
                                 " values (each reference is a copy)");
    return value;
  }

  /** The resolved value; nullopt for a disabled component, which its container drops
   * (ReferenceResolver.update_config_with_refs). */
  std::optional<json>
  Value(const json & raw, const std::string & id)
  {
    if (raw.is_object())
    {
      if (raw.contains("_target_") && raw.contains("_disabled_") &&
          IsDisabled(Value(raw.at("_disabled_"), JoinId(id, "_disabled_")).value_or(json())))
        return std::nullopt;
      json out = json::object();
      for (const auto & item : raw.items())
      {
        if (IsKeptKey(item.key()))
          out[item.key()] = item.value();
        else if (auto value = Value(item.value(), JoinId(id, item.key())))
          out[item.key()] = std::move(*value);
      }
      return out;
    }
    if (raw.is_array())
    {
      json out = json::array();
      for (size_t i = 0; i < raw.size(); ++i)
        if (auto value = Value(raw[i], JoinId(id, std::to_string(i))))
          out.push_back(std::move(*value));
      return out;
    }
    if (raw.is_string())
      return String(raw.get<std::string>(), id);
    return raw;
  }

  json
  String(const std::string & text, const std::string & id)
  {
    const std::string value = Absolute(text, id);
    if (!value.empty() && value[0] == '$')
    {
      const auto reference = [this, &id](const std::string & to) { return Item(to, id); };
      try
      {
        return detail::EvaluateMONAIExpression(value.substr(1), reference);
      }
      catch (const detail::MONAIExpressionUnsupported &)
      {
        throw InputError(m_File, id + ": is Python code MedSeg does not run: " + text);
      }
      catch (const detail::MONAIExpressionFailed & e)
      {
        throw InputError(m_File, id + ": cannot evaluate " + text + ": " + e.what());
      }
    }
    if (!value.empty() && value[0] == '%')
      throw InputError(m_File, id + ": is a MONAI macro (" + text + "), which MedSeg does not expand");
    if (IsReference(value))
      return Item(value.substr(1), id);
    return value;
  }

  /** ConfigParser.resolve_relative_ids: `@::x` is x beside the item `id`, each further `::` one
   * level up; the longest prefixes are replaced first, in the whole string. */
  std::string
  Absolute(const std::string & text, const std::string & id) const
  {
    std::set<std::string, std::greater<>> prefixes;
    for (size_t i = 0; i < text.size(); ++i)
    {
      size_t end = i + 1;
      while ((text[i] == '@' || text[i] == '%') && text.compare(end, Separator.size(), Separator) == 0)
        end += Separator.size();
      if (end > i + 1)
        prefixes.insert(text.substr(i, end - i));
    }
    std::string value = text;
    const auto  current = SplitId(id);
    for (const auto & prefix : prefixes)
    {
      const size_t levels = (prefix.size() - 1) / Separator.size();
      if (levels > current.size())
        throw InputError(m_File, id + ": the relative reference in '" + text + "' goes above the top of the file");
      std::string absolute = prefix.substr(0, 1);
      for (size_t k = 0; k + levels < current.size(); ++k)
        absolute += current[k] + Separator;
      for (size_t at = value.find(prefix); at != std::string::npos; at = value.find(prefix, at + absolute.size()))
        value.replace(at, prefix.size(), absolute);
    }
    return value;
  }

  const std::string &         m_File;
  const json &                m_Root;
  std::map<std::string, json> m_Done;
  std::vector<std::string>    m_Active;
  size_t                      m_Size = 0;
};

} // namespace

MONAIConfig
MONAIConfig::ReadFile(const std::string & path)
{
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  if (extension != ".json" && extension != ".yaml" && extension != ".yml")
    throw InputError(path, "is not a MONAI config file (.json, .yaml or .yml)");
  std::error_code error;
  if (!fs::is_regular_file(path, error))
    throw InputError(path, fs::exists(path, error) ? "is not a file" : "does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(path, "cannot be read");
  return MONAIConfig(path, extension == ".json" ? ParseJson(in, path) : ParseYaml(in, path));
}

MONAIConfig::MONAIConfig(std::string file, json root)
  : m_File(std::move(file))
  , m_Root(std::move(root))
{
  if (!m_Root.is_object())
    throw InputError(m_File, "is not a MONAI config: its top level is not a mapping");
  NormaliseStrings(m_Root);
}

void
MONAIConfig::Set(const std::string & id, json value)
{
  NormaliseStrings(value);
  const std::string normalised = NormaliseId(id);
  const auto        keys = SplitId(normalised);
  if (keys.empty())
  {
    if (!value.is_object())
      throw InputError(m_File, "the whole configuration can only be set to a mapping");
    m_Root = std::move(value);
    return;
  }
  json *      node = &m_Root;
  std::string parent;
  for (size_t i = 0; i < keys.size(); ++i)
  {
    const bool last = i + 1 == keys.size();
    if (node->is_object())
    {
      if (!last && !node->contains(keys[i]))
        (*node)[keys[i]] = json::object(); // ConfigParser.set(recursive=True) adds missing dicts
      node = &(*node)[keys[i]];
    }
    else if (const auto index = node->is_array() ? ListIndex(keys[i], node->size()) : std::nullopt)
      node = &(*node)[*index];
    else
      throw InputError(m_File, normalised + ": cannot be set, " + parent + " is " +
                                 (node->is_array() ? "a list without that index" : "not a mapping or a list"));
    parent = JoinId(parent, keys[i]);
  }
  *node = std::move(value);
}

bool
MONAIConfig::Has(const std::string & id) const
{
  return Find(m_Root, NormaliseId(id)) != nullptr;
}

const MONAIConfig::json &
MONAIConfig::Raw(const std::string & id) const
{
  const json * item = Find(m_Root, NormaliseId(id));
  if (item == nullptr)
    throw InputError(m_File, NormaliseId(id) + ": is not in the file");
  return *item;
}

MONAIConfig::json
MONAIConfig::Resolve(const std::string & id) const
{
  Resolver resolver(m_File, m_Root);
  return resolver.Item(NormaliseId(id), "");
}

} // namespace medseg
