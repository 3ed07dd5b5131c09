#include "medsegJsonFields.h"

#include "medsegError.h"

#include <cmath>
#include <cstdint>
#include <sstream>

namespace medseg
{

using nlohmann::json;

JsonFields::JsonFields(const json & object, std::string subject, std::string path)
  : m_Object(object)
  , m_Subject(std::move(subject))
  , m_Path(std::move(path))
{
  if (!m_Object.is_object())
  {
    throw InputError(m_Subject, m_Path.empty() ? std::string("must be a JSON object, not ") + m_Object.type_name()
                                               : "field '" + m_Path + "' must be an object");
  }
}

std::string
JsonFields::PathOf(const std::string & key) const
{
  return m_Path.empty() ? key : key.empty() ? m_Path : m_Path + "." + key;
}

void
JsonFields::Fail(const std::string & key, const std::string & problem) const
{
  throw InputError(m_Subject, "field '" + PathOf(key) + "' " + problem);
}

void
JsonFields::AllowOnly(const std::set<std::string> & known) const
{
  for (const auto & item : m_Object.items())
  {
    if (known.count(item.key()) == 0)
    {
      std::string list;
      for (const auto & k : known)
        list += (list.empty() ? "" : ", ") + k;
      Fail(item.key(), "is not a known key (known: " + list + ")");
    }
  }
}

const json *
JsonFields::Find(const std::string & key) const
{
  const json * node = &m_Object;
  size_t       start = 0;
  while (true)
  {
    const size_t      dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(part))
      return nullptr;
    node = &(*node)[part];
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  return node->is_null() ? nullptr : node;
}

const json &
JsonFields::Required(const std::string & key) const
{
  const json * node = Find(key);
  if (node == nullptr)
    Fail(key, "is missing");
  return *node;
}

JsonFields
JsonFields::Object(const std::string & key) const
{
  return JsonFields(Required(key), m_Subject, PathOf(key));
}

namespace
{
/** "in [low, high]", or ">= low" when there is no upper bound. */
std::string
Bounds(double low, double high)
{
  return std::isinf(high) ? ">= " + JsonFields::Show(low) : "in [" + JsonFields::Show(low) + ", " + JsonFields::Show(high) + "]";
}
} // namespace

std::string
JsonFields::Show(double value)
{
  std::ostringstream s;
  s << value;
  return s.str();
}

void
JsonFields::Boolean(const std::string & key, bool & value) const
{
  const json * v = Find(key);
  if (v == nullptr)
    return;
  if (!v->is_boolean())
    Fail(key, "must be true or false");
  value = v->get<bool>();
}

void
JsonFields::Number(const std::string & key, double & value, double low, double high) const
{
  const json * v = Find(key);
  if (v == nullptr)
    return;
  if (!v->is_number() || !std::isfinite(v->get<double>()) || !(v->get<double>() >= low && v->get<double>() <= high))
    Fail(key, "must be a number " + Bounds(low, high));
  value = v->get<double>();
}

bool
JsonFields::ReadInteger(const std::string & key, int64_t & value, int64_t low, int64_t high) const
{
  const json * v = Find(key);
  if (v == nullptr)
    return false;
  // An unsigned value past int64_t's range is out of range, not wrapped around.
  const bool fits = v->is_number_integer() && (!v->is_number_unsigned() || v->get<uint64_t>() <= INT64_MAX);
  if (!fits || v->get<int64_t>() < low || v->get<int64_t>() > high)
    Fail(key, "must be an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  value = v->get<int64_t>();
  return true;
}

void
JsonFields::String(const std::string & key, std::string & value, const std::set<std::string> & choices) const
{
  const json * v = Find(key);
  if (v == nullptr)
    return;
  if (!v->is_string())
    Fail(key, "must be a string");
  const std::string text = v->get<std::string>();
  if (!choices.empty() && choices.count(text) == 0)
  {
    std::string list;
    for (const auto & c : choices)
      list += (list.empty() ? "" : ", ") + c;
    Fail(key, "is '" + text + "'; expected one of " + list);
  }
  value = text;
}

void
JsonFields::Numbers(const std::string & key, std::vector<double> & value, size_t count, double low,
                    double high) const
{
  const json * v = Find(key);
  if (v == nullptr)
    return;
  if (!v->is_array() || v->size() != count)
    Fail(key, "must be a list of " + std::to_string(count) + " numbers");
  std::vector<double> numbers;
  for (const auto & item : *v)
  {
    if (!item.is_number() || !std::isfinite(item.get<double>()) ||
        !(item.get<double>() >= low && item.get<double>() <= high))
      Fail(key, "must hold numbers " + Bounds(low, high));
    numbers.push_back(item.get<double>());
  }
  value = numbers;
}

void
JsonFields::Integers(const std::string & key, std::vector<int64_t> & value, size_t minimum, size_t maximum,
                     int64_t low, int64_t high) const
{
  const json * v = Find(key);
  if (v == nullptr)
    return;
  const std::string what = "must be a list of " +
                           (minimum == maximum ? std::to_string(minimum)
                                               : std::to_string(minimum) + " to " + std::to_string(maximum)) +
                           " integers in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  if (!v->is_array() || v->size() < minimum || v->size() > maximum)
    Fail(key, what);
  std::vector<int64_t> integers;
  for (const auto & item : *v)
  {
    const bool fits = item.is_number_integer() && (!item.is_number_unsigned() || item.get<uint64_t>() <= INT64_MAX);
    if (!fits || item.get<int64_t>() < low || item.get<int64_t>() > high)
      Fail(key, what);
    integers.push_back(item.get<int64_t>());
  }
  value = integers;
}

} // namespace medseg
