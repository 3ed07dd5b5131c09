#ifndef medsegMONAIPython_h
#define medsegMONAIPython_h

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace medseg
{
namespace detail
{

/** \brief The expression uses Python outside the subset MONAIConfig evaluates (an attribute, a
 * module, a lambda, an unknown name or call, a syntax this parser does not read). */
class MONAIExpressionUnsupported : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

/** \brief The expression is in the subset but fails as Python would fail on it (a TypeError,
 * ZeroDivisionError, IndexError, KeyError or ValueError); what() says which, Python-like. */
class MONAIExpressionFailed : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

/** \name Python's semantics over JSON values
 * None is null, bool is a boolean (and an int in arithmetic, as in Python), int a 64-bit integer
 * (overflow fails rather than growing), float a double, str a UTF-8 string indexed by code point,
 * list and tuple an array, dict an object. Failures throw MONAIExpressionFailed with Python's
 * message; operations outside the subset (printf-style `%` on strings, complex powers, `is` on
 * values other than None/True/False) throw MONAIExpressionUnsupported. */
///@{

/** The most a value made by an expression may hold: PythonSize() units (65536; a config's lists
 * and strings are far smaller). Repetition and concatenation beyond it fail
 * ("'a' * 10**12" would otherwise take the memory). */
constexpr size_t PythonMaxSize = size_t(1) << 16;

/** The size of a value for the limits: one per value, list item and dict entry, plus the bytes of
 * its strings and keys. Counting stops once it passes `cap` (returning a number above it). */
inline size_t
PythonSize(const nlohmann::json & value, size_t cap = PythonMaxSize)
{
  size_t size = 1;
  if (value.is_string())
    size += value.get_ref<const std::string &>().size();
  else if (value.is_object())
    for (auto it = value.begin(); it != value.end() && size <= cap; ++it)
      size += it.key().size() + PythonSize(it.value(), cap - std::min(size, cap));
  else if (value.is_array())
    for (auto it = value.begin(); it != value.end() && size <= cap; ++it)
      size += PythonSize(*it, cap - std::min(size, cap));
  return size;
}

/** Fails when a result of `size` (PythonSize() units) would be larger than PythonMaxSize. */
inline void
CheckPythonResultSize(uint64_t size)
{
  if (size > PythonMaxSize)
    throw MONAIExpressionFailed("the result would hold more than " + std::to_string(PythonMaxSize) +
                                " values or characters, more than MedSeg evaluates in a config");
}

/** `int`, `float`, `str`, `list`, `dict`, `bool`, `NoneType`. */
std::string
PythonTypeName(const nlohmann::json & value);

bool
PythonTruthy(const nlohmann::json & value);

/** `op` is one of == != < <= > >= in, not in, is, is not. */
bool
PythonCompare(const std::string & op, const nlohmann::json & a, const nlohmann::json & b);

/** `op` is one of + - * / // % **: true division, floor division and modulo as Python's,
 * str + str, list + list, str or list * int. */
nlohmann::json
PythonBinary(const std::string & op, const nlohmann::json & a, const nlohmann::json & b);

/** Unary `-` or `+` of a number. */
nlohmann::json
PythonUnary(const std::string & op, const nlohmann::json & value);

/** `value[index]`: lists and strings with negative indices, dicts by key. */
nlohmann::json
PythonIndex(const nlohmann::json & value, const nlohmann::json & index);

/** `value[lower:upper:step]` of a list or string; null bounds are omitted ones. */
nlohmann::json
PythonSlice(const nlohmann::json & value,
            const nlohmann::json & lower,
            const nlohmann::json & upper,
            const nlohmann::json & step);

/** Whether `name` is one of the builtins PythonCall runs: max, min, int, float, str, len, abs,
 * round, list, tuple, bool, and `os.path.join`. */
bool
IsPythonBuiltin(const std::string & name);

/** Calls the builtin `name` with positional arguments. round() rounds half to even and gives an
 * int with one argument; os.path.join is posixpath.join. */
nlohmann::json
PythonCall(const std::string & name, const std::vector<nlohmann::json> & args);

/** Python's str(): ints in decimal, floats as repr() writes them (`0.1`, `1e-05`, `1e+16`, `2.0`),
 * True/False/None, lists and dicts as their repr (`[1, 'a']`; dict keys in sorted order). */
std::string
PythonStr(const nlohmann::json & value);

///@}

} // namespace detail
} // namespace medseg

#endif
