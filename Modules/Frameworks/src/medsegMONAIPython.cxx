#include "medsegMONAIPython.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

namespace medseg
{
namespace detail
{

namespace
{

using json = nlohmann::json;

const char * const BuiltinNames[] = { "max", "min", "int", "float", "str", "len", "abs", "round", "list", "tuple",
                                      "bool", "os.path.join" };

[[noreturn]] void
Fail(const std::string & message)
{
  throw MONAIExpressionFailed(message);
}

/** Python's bool is an int: True + 1 == 2. */
bool
IsIntLike(const json & v)
{
  return v.is_boolean() || v.is_number_integer();
}

bool
IsNumber(const json & v)
{
  return v.is_boolean() || v.is_number();
}

int64_t
AsInt(const json & v)
{
  if (v.is_boolean())
    return v.get<bool>() ? 1 : 0;
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    Fail("integer " + v.dump() + " is larger than MedSeg's 64-bit integers");
  return v.get<int64_t>();
}

double
AsFloat(const json & v)
{
  return IsIntLike(v) ? double(AsInt(v)) : v.get<double>();
}

/** The characters (UTF-8 sequences) of a string: Python indexes code points, not bytes. */
std::vector<std::string>
Characters(const std::string & s)
{
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();)
  {
    const auto   c = static_cast<unsigned char>(s[i]);
    const size_t n = c >= 0xF0 ? 4 : (c >= 0xE0 ? 3 : (c >= 0xC0 ? 2 : 1));
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

json
Items(const json & v)
{
  json out = json::array();
  if (v.is_array())
    return v;
  if (v.is_string())
    for (const auto & c : Characters(v.get<std::string>()))
      out.push_back(c);
  else if (v.is_object())
    for (const auto & item : v.items())
      out.push_back(item.key());
  else
    Fail("'" + PythonTypeName(v) + "' object is not iterable");
  return out;
}

bool
Equal(const json & a, const json & b)
{
  if (IsNumber(a) && IsNumber(b))
    return (IsIntLike(a) && IsIntLike(b)) ? AsInt(a) == AsInt(b) : AsFloat(a) == AsFloat(b);
  if (a.type() != b.type())
    return false;
  if (a.is_array())
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), Equal);
  if (a.is_object())
  {
    if (a.size() != b.size())
      return false;
    for (const auto & item : a.items())
      if (!b.contains(item.key()) || !Equal(item.value(), b.at(item.key())))
        return false;
    return true;
  }
  return a == b;
}

/** -1, 0 or 1 as Python orders numbers, strings (by code point) and lists (element-wise). */
int
Order(const json & a, const json & b, const std::string & op)
{
  if (IsNumber(a) && IsNumber(b))
  {
    if (IsIntLike(a) && IsIntLike(b))
      return AsInt(a) < AsInt(b) ? -1 : (AsInt(a) > AsInt(b) ? 1 : 0);
    const double x = AsFloat(a), y = AsFloat(b);
    return x < y ? -1 : (x > y ? 1 : 0); // NaN compares as neither, as in Python
  }
  if (a.is_string() && b.is_string())
    return a == b ? 0 : (a.get<std::string>() < b.get<std::string>() ? -1 : 1); // UTF-8 bytes sort as code points
  if (a.is_array() && b.is_array())
  {
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      if (!Equal(a[i], b[i]))
        return Order(a[i], b[i], op);
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
  }
  Fail("'" + op + "' not supported between instances of '" + PythonTypeName(a) + "' and '" + PythonTypeName(b) + "'");
}

/** `value` is read after `overflow`, the result of a __builtin_*_overflow that wrote it. */
int64_t
CheckedInt(bool overflow, const int64_t & value)
{
  if (overflow)
    Fail("integer overflow (MedSeg's integers are 64-bit)");
  return value;
}

/** Python's float // and % (the quotient floored, the remainder with the divisor's sign). */
std::pair<double, double>
FloatDivMod(double a, double b)
{
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0 && (b < 0) != (mod < 0))
  {
    mod += b;
    div -= 1.0;
  }
  if (mod == 0.0)
    mod = std::copysign(0.0, b);
  const double floorDiv =
    div == 0.0 ? std::copysign(0.0, a / b) : std::floor(div) + (div - std::floor(div) > 0.5 ? 1.0 : 0.0);
  return { floorDiv, mod };
}

json
IntPower(int64_t base, int64_t exponent)
{
  if (exponent < 0)
  {
    if (base == 0)
      Fail("0.0 cannot be raised to a negative power");
    return std::pow(double(base), double(exponent));
  }
  int64_t result = 1;
  while (exponent > 0)
  {
    if (exponent & 1)
      result = CheckedInt(__builtin_mul_overflow(result, base, &result), result);
    exponent >>= 1;
    if (exponent > 0)
      base = CheckedInt(__builtin_mul_overflow(base, base, &base), base);
  }
  return result;
}

/** `sequence * count`, refused past PythonMaxSize before anything is allocated. */
json
Repeat(const json & sequence, int64_t count)
{
  const int64_t n = PythonSize(sequence) > 1 ? count : 0; // '' * n and [] * n are empty whatever n
  if (n > 0)
    CheckPythonResultSize(uint64_t(n) > PythonMaxSize ? uint64_t(n) : uint64_t(n) * PythonSize(sequence));
  json out = sequence.is_string() ? json("") : json::array();
  for (int64_t i = 0; i < n; ++i)
    if (out.is_string())
      out.get_ref<std::string &>() += sequence.get_ref<const std::string &>();
    else
      out.insert(out.end(), sequence.begin(), sequence.end());
  return out;
}

int64_t
NormalisedIndex(const json & index, size_t size, const std::string & what)
{
  if (!IsIntLike(index))
    Fail(what + " indices must be integers, not " + PythonTypeName(index));
  int64_t i = AsInt(index);
  if (i < 0)
    i += int64_t(size);
  if (i < 0 || i >= int64_t(size))
    Fail(what + " index out of range");
  return i;
}

std::string
FloatRepr(double x)
{
  if (std::isnan(x))
    return "nan";
  if (std::isinf(x))
    return x < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, laid out as Python's repr() (float_repr_style 'short'):
  // positional for -4 < decpt <= 16, exponent notation otherwise.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, x, std::chars_format::scientific);
  std::string sci(buffer, result.ptr);
  const std::string sign = sci[0] == '-' ? "-" : "";
  sci.erase(0, sign.size());
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::atoi(sci.c_str() + e + 1);
  const int decpt = exponent + 1;
  const int n = int(digits.size());
  if (decpt > -4 && decpt <= 16)
  {
    if (decpt <= 0)
      return sign + "0." + std::string(size_t(-decpt), '0') + digits;
    if (decpt >= n)
      return sign + digits + std::string(size_t(decpt - n), '0') + ".0";
    return sign + digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
  }
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return sign + digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "") + exp;
}

std::string
StringRepr(const std::string & s)
{
  const bool dquote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = dquote ? '"' : '\'';
  static const std::map<char, const char *> escapes = { { '\n', "\\n" }, { '\r', "\\r" }, { '\t', "\\t" }, { '\\', "\\\\" } };
  std::string out(1, quote);
  for (const char c : s)
  {
    if (c == quote)
      out += { '\\', c };
    else if (escapes.count(c))
      out += escapes.at(c);
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
    {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    }
    else
      out += c;
  }
  return out + quote;
}

std::string
Repr(const json & v)
{
  if (v.is_string())
    return StringRepr(v.get<std::string>());
  if (v.is_array())
  {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i)
      out += (i ? ", " : "") + Repr(v[i]);
    return out + "]";
  }
  if (v.is_object())
  {
    std::string out = "{";
    for (const auto & item : v.items())
      out += (out.size() > 1 ? ", " : "") + StringRepr(item.key()) + ": " + Repr(item.value());
    return out + "}";
  }
  return PythonStr(v);
}

/** The text of int(str) / float(str) after Python's stripping, with '_' between digits removed. */
std::string
NumberText(const std::string & s)
{
  const size_t b = s.find_first_not_of(" \t\n\r\f\v");
  const size_t e = s.find_last_not_of(" \t\n\r\f\v");
  std::string t = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  std::string out;
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] != '_' || (i > 0 && i + 1 < t.size() && std::isdigit((unsigned char)t[i - 1]) &&
                        std::isdigit((unsigned char)t[i + 1])))
      out += t[i];
  return out;
}

json
IntOf(const json & v)
{
  if (IsIntLike(v))
    return AsInt(v);
  if (v.is_number_float())
  {
    const double x = std::trunc(v.get<double>());
    if (std::isnan(x))
      Fail("cannot convert float NaN to integer");
    if (!(x >= -9.2233720368547758e18 && x < 9.2233720368547758e18))
      Fail("cannot convert float " + FloatRepr(x) + " to a 64-bit integer");
    return int64_t(x);
  }
  if (v.is_string())
  {
    const std::string t = NumberText(v.get<std::string>());
    int64_t value = 0;
    const char * first = t.c_str() + (!t.empty() && t[0] == '+' ? 1 : 0);
    const auto r = std::from_chars(first, t.c_str() + t.size(), value);
    if (t.empty() || first == t.c_str() + t.size() || r.ptr != t.c_str() + t.size() || r.ec != std::errc())
      Fail("invalid literal for int() with base 10: " + StringRepr(v.get<std::string>()));
    return value;
  }
  Fail("int() argument must be a string or a real number, not '" + PythonTypeName(v) + "'");
}

json
FloatOf(const json & v)
{
  if (IsNumber(v))
    return AsFloat(v);
  if (!v.is_string())
    Fail("float() argument must be a string or a real number, not '" + PythonTypeName(v) + "'");
  std::string t = NumberText(v.get<std::string>());
  std::string lower = t;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string body = (!lower.empty() && (lower[0] == '+' || lower[0] == '-')) ? lower.substr(1) : lower;
  const bool named = body == "inf" || body == "infinity" || body == "nan";
  const bool plain = !body.empty() && body.find_first_not_of("0123456789.e+-") == std::string::npos;
  char * end = nullptr;
  const double x = std::strtod(t.c_str(), &end);
  if (!(named || plain) || end != t.c_str() + t.size())
    Fail("could not convert string to float: " + StringRepr(v.get<std::string>()));
  return x;
}

json
RoundOf(const json & x, const json & digits)
{
  if (!IsNumber(x))
    Fail("type " + PythonTypeName(x) + " doesn't define __round__ method");
  if (!digits.is_null() && !IsIntLike(digits))
    Fail("'" + PythonTypeName(digits) + "' object cannot be interpreted as an integer");
  if (IsIntLike(x))
  {
    if (digits.is_null() || AsInt(digits) >= 0)
      return AsInt(x);
    return IntOf(RoundOf(AsFloat(x), digits)); // round(1250, -2): exact below 2**53
  }
  const double a = x.get<double>();
  if (digits.is_null())
  {
    if (std::isnan(a))
      Fail("cannot convert float NaN to integer");
    return IntOf(std::nearbyint(a)); // ties to even under the default rounding mode
  }
  const int64_t n = AsInt(digits);
  if (!std::isfinite(a) || n > 323)
    return a;
  if (n >= 0)
  {
    // printf rounds the exact binary value, ties to even, as Python's round() does.
    std::vector<char> text(size_t(n) + 400);
    std::snprintf(text.data(), text.size(), "%.*f", int(n), a);
    return std::strtod(text.data(), nullptr);
  }
  if (n < -308)
    return std::copysign(0.0, a);
  const double p = std::pow(10.0, double(-n));
  return std::nearbyint(a / p) * p;
}

json
MinMax(const std::string & name, const std::vector<json> & args)
{
  if (args.empty())
    Fail(name + " expected at least 1 argument, got 0");
  const json items = args.size() == 1 ? Items(args[0]) : json(args);
  if (items.empty())
    Fail(name + "() arg is an empty sequence");
  json best = items[0];
  for (size_t i = 1; i < items.size(); ++i)
    if (Order(items[i], best, name == "max" ? ">" : "<") == (name == "max" ? 1 : -1))
      best = items[i];
  return best;
}

} // namespace

std::string
PythonTypeName(const json & v)
{
  static const char * const names[] = { "NoneType", "dict", "list", "str", "bool", "int", "int", "float" };
  const auto t = static_cast<size_t>(v.type());
  return t < sizeof names / sizeof names[0] ? names[t] : "object";
}

bool
PythonTruthy(const json & v)
{
  if (IsIntLike(v))
    return AsInt(v) != 0;
  if (v.is_number_float())
    return v.get<double>() != 0.0;
  if (v.is_string())
    return !v.get_ref<const std::string &>().empty();
  return !v.empty(); // None, [] and {} are empty
}

bool
PythonCompare(const std::string & op, const json & a, const json & b)
{
  if (op == "==")
    return Equal(a, b);
  if (op == "!=")
    return !Equal(a, b);
  if (op == "in" || op == "not in")
  {
    bool found = false;
    if (b.is_string())
    {
      if (!a.is_string())
        Fail("'in <string>' requires string as left operand, not " + PythonTypeName(a));
      found = b.get_ref<const std::string &>().find(a.get_ref<const std::string &>()) != std::string::npos;
    }
    else if (b.is_array())
      found = std::any_of(b.begin(), b.end(), [&a](const json & x) { return Equal(a, x); });
    else if (b.is_object())
      found = a.is_string() && b.contains(a.get<std::string>());
    else
      Fail("argument of type '" + PythonTypeName(b) + "' is not iterable");
    return op == "in" ? found : !found;
  }
  if (op == "is" || op == "is not")
  {
    // Identity is only meaningful here for the singletons None, True and False.
    if (!(a.is_null() || a.is_boolean() || b.is_null() || b.is_boolean()))
      throw MONAIExpressionUnsupported("'is' between values that are not None, True or False");
    const bool same = a.type() == b.type() && a == b;
    return op == "is" ? same : !same;
  }
  if (IsNumber(a) && IsNumber(b) && !(IsIntLike(a) && IsIntLike(b)))
  {
    const double x = AsFloat(a), y = AsFloat(b); // every comparison with NaN is false
    return op == "<" ? x < y : (op == "<=" ? x <= y : (op == ">" ? x > y : x >= y));
  }
  const int c = Order(a, b, op);
  return op == "<" ? c < 0 : (op == "<=" ? c <= 0 : (op == ">" ? c > 0 : c >= 0));
}

json
PythonBinary(const std::string & op, const json & a, const json & b)
{
  const auto typeError = [&]() {
    Fail("unsupported operand type(s) for " + op + ": '" + PythonTypeName(a) + "' and '" + PythonTypeName(b) + "'");
  };
  if (op == "+" && ((a.is_string() && b.is_string()) || (a.is_array() && b.is_array())))
  {
    CheckPythonResultSize(PythonSize(a) + PythonSize(b));
    if (a.is_string())
      return a.get<std::string>() + b.get<std::string>();
    json out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  if (op == "*" && (a.is_string() || a.is_array()) && IsIntLike(b))
    return Repeat(a, AsInt(b));
  if (op == "*" && IsIntLike(a) && (b.is_string() || b.is_array()))
    return Repeat(b, AsInt(a));
  if (op == "%" && a.is_string())
    throw MONAIExpressionUnsupported("printf-style string formatting");
  if (!IsNumber(a) || !IsNumber(b))
    typeError();
  if (IsIntLike(a) && IsIntLike(b))
  {
    const int64_t x = AsInt(a), y = AsInt(b);
    int64_t r = 0;
    if (op == "+" || op == "-" || op == "*")
      return CheckedInt(op == "+" ? __builtin_add_overflow(x, y, &r)
                                  : (op == "-" ? __builtin_sub_overflow(x, y, &r) : __builtin_mul_overflow(x, y, &r)),
                        r);
    if (op == "/")
    {
      if (y == 0)
        Fail("division by zero");
      return double(x) / double(y);
    }
    if (op == "**")
      return IntPower(x, y);
    if (y == 0)
      Fail("integer division or modulo by zero");
    if (x == std::numeric_limits<int64_t>::min() && y == -1)
      Fail("integer overflow (MedSeg's integers are 64-bit)");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0)))
    {
      q -= 1;
      m += y;
    }
    return op == "//" ? q : m;
  }
  const double x = AsFloat(a), y = AsFloat(b);
  if (y == 0.0 && (op == "/" || op == "//" || op == "%"))
    Fail(op == "/" ? "float division by zero" : (op == "//" ? "float floor division by zero" : "float modulo"));
  if (op == "+" || op == "-" || op == "*" || op == "/")
    return op == "+" ? x + y : (op == "-" ? x - y : (op == "*" ? x * y : x / y));
  if (op == "**")
  {
    if (x == 0.0 && y < 0)
      Fail("0.0 cannot be raised to a negative power");
    if (x < 0 && y != std::floor(y))
      throw MONAIExpressionUnsupported("a complex power");
    return std::pow(x, y);
  }
  const auto [q, m] = FloatDivMod(x, y);
  return op == "//" ? q : m;
}

json
PythonIndex(const json & v, const json & index)
{
  if (v.is_array())
    return v[size_t(NormalisedIndex(index, v.size(), "list"))];
  if (v.is_string())
  {
    const auto chars = Characters(v.get<std::string>());
    return chars[size_t(NormalisedIndex(index, chars.size(), "string"))];
  }
  if (v.is_object())
  {
    if (!index.is_string() || !v.contains(index.get<std::string>()))
      Fail("KeyError: " + PythonStr(index));
    return v.at(index.get<std::string>());
  }
  Fail("'" + PythonTypeName(v) + "' object is not subscriptable");
}

/** Python's slice.indices and the slice itself, for lists and strings. */
json
PythonSlice(const json & v, const json & lower, const json & upper, const json & stepValue)
{
  for (const json * bound : { &lower, &upper, &stepValue })
    if (!bound->is_null() && !IsIntLike(*bound))
      Fail("slice indices must be integers or None");
  const int64_t step = stepValue.is_null() ? 1 : AsInt(stepValue);
  if (step == 0)
    Fail("slice step cannot be zero");
  std::vector<json> items;
  if (v.is_array())
    items.assign(v.begin(), v.end());
  else if (v.is_string())
    for (const auto & c : Characters(v.get<std::string>()))
      items.emplace_back(c);
  else
    Fail("'" + PythonTypeName(v) + "' object is not subscriptable");
  const int64_t n = int64_t(items.size());
  const auto clamp = [&](const json & bound, int64_t fallback) {
    if (bound.is_null())
      return fallback;
    const int64_t i = AsInt(bound);
    return i < 0 ? std::max(i + n, step < 0 ? int64_t(-1) : int64_t(0)) : std::min(i, step < 0 ? n - 1 : n);
  };
  const int64_t start = clamp(lower, step < 0 ? n - 1 : 0);
  const int64_t stop = clamp(upper, step < 0 ? -1 : n);
  json out = json::array();
  std::string text;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;)
  {
    if (v.is_string())
      text += items[size_t(i)].get<std::string>();
    else
      out.push_back(items[size_t(i)]);
    if (__builtin_add_overflow(i, step, &i)) // 'abc'[2::2**63 - 1]: past the end either way
      break;
  }
  return v.is_string() ? json(text) : out;
}

std::string
PythonStr(const json & value)
{
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_null())
    return "None";
  if (value.is_boolean())
    return value.get<bool>() ? "True" : "False";
  if (value.is_number_integer())
    return value.dump();
  if (value.is_number_float())
    return FloatRepr(value.get<double>());
  return Repr(value);
}

json
PythonCall(const std::string & name, const std::vector<json> & args)
{
  const auto arity = [&](size_t low, size_t high) {
    if (args.size() < low || args.size() > high)
      Fail(name + "() takes " + std::to_string(low) + (low == high ? "" : " to " + std::to_string(high)) +
           " arguments (" + std::to_string(args.size()) + " given)");
  };
  if (name == "max" || name == "min")
    return MinMax(name, args);
  if (name == "os.path.join")
  {
    arity(1, 1000);
    // posixpath.join: an absolute part restarts the path, '/' is added only where missing.
    std::string path;
    for (const auto & a : args)
    {
      if (!a.is_string())
        Fail("join() argument must be str, not '" + PythonTypeName(a) + "'");
      const std::string & part = a.get_ref<const std::string &>();
      if (!part.empty() && part[0] == '/')
        path = part;
      else if (path.empty() || path.back() == '/')
        path += part;
      else
        path += "/" + part;
    }
    return path;
  }
  if (name == "round")
  {
    arity(1, 2);
    return RoundOf(args[0], args.size() > 1 ? args[1] : json());
  }
  if (name == "int" || name == "float")
  {
    if (args.size() > 1)
      throw MONAIExpressionUnsupported(name + "() with a base");
    if (args.empty())
      return name == "int" ? json(0) : json(0.0);
    return name == "int" ? IntOf(args[0]) : FloatOf(args[0]);
  }
  if (name == "str" || name == "bool" || name == "list" || name == "tuple")
  {
    arity(0, 1);
    if (args.empty())
      return name == "str" ? json("") : (name == "bool" ? json(false) : json::array());
    return name == "str" ? json(PythonStr(args[0])) : (name == "bool" ? json(PythonTruthy(args[0])) : Items(args[0]));
  }
  arity(1, 1);
  const json & a = args[0];
  if (name == "len")
  {
    if (a.is_string())
      return int64_t(Characters(a.get<std::string>()).size());
    if (!a.is_array() && !a.is_object())
      Fail("object of type '" + PythonTypeName(a) + "' has no len()");
    return int64_t(a.size());
  }
  // abs
  if (!IsNumber(a))
    Fail("bad operand type for abs(): '" + PythonTypeName(a) + "'");
  if (IsIntLike(a))
    return AsInt(a) == std::numeric_limits<int64_t>::min() ? CheckedInt(true, 0) : std::abs(AsInt(a));
  return std::fabs(a.get<double>());
}

json
PythonUnary(const std::string & op, const json & value)
{
  if (!IsNumber(value))
    Fail("bad operand type for unary " + op + ": '" + PythonTypeName(value) + "'");
  if (op == "+")
    return IsIntLike(value) ? json(AsInt(value)) : value;
  return IsIntLike(value) ? PythonBinary("-", 0, value) : json(-value.get<double>());
}

bool
IsPythonBuiltin(const std::string & name)
{
  return std::find(std::begin(BuiltinNames), std::end(BuiltinNames), name) != std::end(BuiltinNames);
}

} // namespace detail
} // namespace medseg
