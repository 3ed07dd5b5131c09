#include "medsegCommandLine.h"

#include "medsegCommandLineKinds.h"
#include "medsegError.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace medseg::cli
{

using namespace detail;

namespace
{

std::vector<std::string>
SplitComma(const std::string & text)
{
  std::vector<std::string> parts;
  std::string              part;
  std::istringstream       in(text);
  while (std::getline(in, part, ','))
  {
    parts.push_back(part);
  }
  if (!text.empty() && text.back() == ',')
  {
    parts.emplace_back();
  }
  return parts;
}

bool
ParseLong(const std::string & text, long & value)
{
  if (text.empty())
  {
    return false;
  }
  char * end = nullptr;
  errno = 0;
  value = std::strtol(text.c_str(), &end, 10);
  return errno == 0 && end != nullptr && *end == '\0';
}

bool
ParseDouble(const std::string & text, double & value)
{
  if (text.empty())
  {
    return false;
  }
  char * end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return errno == 0 && end != nullptr && *end == '\0' && std::isfinite(value);
}

std::string
Dashed(const std::string & name)
{
  return "--" + name;
}

/** Checks one value against its parameter's kind; throws UsageError naming the option. */
void
CheckValue(const Parameter & p, const std::string & value)
{
  const std::string who = p.positional ? p.name : Dashed(p.name);
  long              l = 0;
  double            d = 0;
  switch (p.kind)
  {
    case ParameterKind::Integer:
      if (!ParseLong(value, l))
        throw UsageError(who + " needs an integer, got '" + value + "'");
      break;
    case ParameterKind::Float:
      if (!ParseDouble(value, d))
        throw UsageError(who + " needs a number, got '" + value + "'");
      break;
    case ParameterKind::IntegerVector:
      for (const auto & part : SplitComma(value))
        if (!ParseLong(part, l))
          throw UsageError(who + " needs comma-separated integers, got '" + value + "'");
      break;
    case ParameterKind::FloatVector:
      for (const auto & part : SplitComma(value))
        if (!ParseDouble(part, d))
          throw UsageError(who + " needs comma-separated numbers, got '" + value + "'");
      break;
    case ParameterKind::Enumeration:
    {
      bool known = false;
      for (const auto & c : p.choices)
        known = known || c == value;
      if (!known)
      {
        std::string list;
        for (const auto & c : p.choices)
          list += (list.empty() ? "" : "|") + c;
        throw UsageError(who + " must be one of " + list + ", got '" + value + "'");
      }
      break;
    }
    default:
      if (value.empty())
        throw UsageError(who + " needs a non-empty value");
      break;
  }
}

/** One parameter's --help entry: its spelling, then its help text with default and rules. */
std::string
HelpEntry(const Parameter & p)
{
  std::string head = p.positional ? p.name : "--" + p.name;
  if (!p.positional && TakesValue(p.kind))
  {
    if (p.kind == ParameterKind::Enumeration)
    {
      std::string list;
      for (const auto & c : p.choices)
        list += (list.empty() ? "" : "|") + c;
      head += " " + list;
    }
    else
    {
      head += " VALUE";
    }
  }
  std::ostringstream os;
  os << "  " << head << '\n' << "      " << p.help;
  if (!p.defaultValue.empty())
  {
    os << " (default: " << p.defaultValue << ')';
  }
  if (p.required)
  {
    os << " (required)";
  }
  if (p.repeatable)
  {
    os << " (may be repeated)";
  }
  os << '\n';
  return os.str();
}

} // namespace

bool
ParsedArguments::Has(const std::string & name) const
{
  return m_Values.count(name) > 0;
}

bool
ParsedArguments::Flag(const std::string & name) const
{
  return Has(name);
}

std::string
ParsedArguments::Get(const std::string & name) const
{
  const auto it = m_Values.find(name);
  if (it != m_Values.end() && !it->second.empty())
  {
    return it->second.back();
  }
  const auto d = m_Defaults.find(name);
  return d == m_Defaults.end() ? std::string() : d->second;
}

std::vector<std::string>
ParsedArguments::GetAll(const std::string & name) const
{
  const auto it = m_Values.find(name);
  if (it != m_Values.end())
  {
    return it->second;
  }
  const std::string value = Get(name);
  return value.empty() ? std::vector<std::string>{} : std::vector<std::string>{ value };
}

long
ParsedArguments::GetInteger(const std::string & name) const
{
  long value = 0;
  if (!ParseLong(Get(name), value))
  {
    throw UsageError(Dashed(name) + " needs an integer, got '" + Get(name) + "'");
  }
  return value;
}

double
ParsedArguments::GetFloat(const std::string & name) const
{
  double value = 0;
  if (!ParseDouble(Get(name), value))
  {
    throw UsageError(Dashed(name) + " needs a number, got '" + Get(name) + "'");
  }
  return value;
}

std::vector<long>
ParsedArguments::GetIntegerVector(const std::string & name) const
{
  std::vector<long> values;
  for (const auto & part : SplitComma(Get(name)))
  {
    long v = 0;
    if (!ParseLong(part, v))
    {
      throw UsageError(Dashed(name) + " needs comma-separated integers, got '" + Get(name) + "'");
    }
    values.push_back(v);
  }
  return values;
}

std::vector<double>
ParsedArguments::GetFloatVector(const std::string & name) const
{
  std::vector<double> values;
  for (const auto & part : SplitComma(Get(name)))
  {
    double v = 0;
    if (!ParseDouble(part, v))
    {
      throw UsageError(Dashed(name) + " needs comma-separated numbers, got '" + Get(name) + "'");
    }
    values.push_back(v);
  }
  return values;
}

CommandLine::CommandLine(std::string program, std::string title, std::string description, std::string category)
  : m_Program(std::move(program))
  , m_Title(std::move(title))
  , m_Description(std::move(description))
  , m_Category(std::move(category))
{}

CommandLine &
CommandLine::Add(Parameter parameter)
{
  m_Parameters.push_back(std::move(parameter));
  return *this;
}

const Parameter *
CommandLine::Find(const std::string & name) const
{
  for (const auto & p : m_Parameters)
  {
    if (!p.positional && p.name == name)
    {
      return &p;
    }
  }
  return nullptr;
}

ParsedArguments
CommandLine::Parse(const std::vector<std::string> & arguments) const
{
  ParsedArguments parsed;
  for (const auto & p : m_Parameters)
  {
    if (!p.defaultValue.empty())
    {
      parsed.m_Defaults[p.name] = p.defaultValue;
    }
  }
  std::vector<const Parameter *> positionals;
  for (const auto & p : m_Parameters)
  {
    if (p.positional)
    {
      positionals.push_back(&p);
    }
  }
  size_t nextPositional = 0;
  for (size_t i = 0; i < arguments.size(); ++i)
  {
    const std::string & arg = arguments[i];
    if (arg == "--help" || arg == "-h")
    {
      parsed.m_Values["help"].push_back("true");
      return parsed;
    }
    if (arg.rfind("--", 0) == 0 && arg.size() > 2)
    {
      const auto        eq = arg.find('=');
      const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      const Parameter * p = Find(name);
      if (p == nullptr)
      {
        throw UsageError("unknown option --" + name + " (see " + m_Program + " --help)");
      }
      std::string value = "true";
      if (TakesValue(p->kind))
      {
        if (eq != std::string::npos)
        {
          value = arg.substr(eq + 1);
        }
        else if (i + 1 < arguments.size())
        {
          // "--output --overwrite" is a forgotten value, not a file named "--overwrite".
          if (arguments[i + 1].rfind("--", 0) == 0 && arguments[i + 1].size() > 2)
          {
            throw UsageError("--" + name + " needs a value, got the option " + arguments[i + 1] + " (write --" +
                             name + "=VALUE for a value that starts with --)");
          }
          value = arguments[++i];
        }
        else
        {
          throw UsageError("--" + name + " needs a value");
        }
        CheckValue(*p, value);
      }
      else if (eq != std::string::npos)
      {
        throw UsageError("--" + name + " takes no value");
      }
      auto & slot = parsed.m_Values[name];
      if (!slot.empty() && !p->repeatable && TakesValue(p->kind))
      {
        throw UsageError("--" + name + " given more than once");
      }
      slot.push_back(value);
      continue;
    }
    if (nextPositional >= positionals.size())
    {
      throw UsageError("unexpected argument '" + arg + "' (see " + m_Program + " --help)");
    }
    const Parameter * p = positionals[nextPositional];
    CheckValue(*p, arg);
    parsed.m_Values[p->name].push_back(arg);
    if (!p->repeatable)
    {
      ++nextPositional;
    }
  }
  for (const auto & p : m_Parameters)
  {
    if (p.required && !parsed.Has(p.name))
    {
      throw UsageError((p.positional ? p.name : Dashed(p.name)) + " is required (see " + m_Program + " --help)");
    }
  }
  return parsed;
}

std::string
CommandLine::Help() const
{
  std::ostringstream os;
  os << "Usage: " << m_Program;
  for (const auto & p : m_Parameters)
  {
    if (p.positional)
    {
      os << ' ' << (p.required ? "" : "[") << p.name << (p.repeatable ? "..." : "") << (p.required ? "" : "]");
    }
  }
  for (const auto & p : m_Parameters)
  {
    if (!p.positional && p.required)
    {
      os << " --" << p.name << " VALUE";
    }
  }
  os << " [options]\n\n" << m_Title << ".\n" << m_Description << "\n";
  for (const std::string & group : GroupsInOrder(m_Parameters))
  {
    os << '\n' << group << ":\n";
    for (const auto & p : m_Parameters)
    {
      if (p.group == group)
      {
        os << HelpEntry(p);
      }
    }
  }
  os << "\n  --help\n      Show this help and exit.\n";
  return os.str();
}

} // namespace medseg::cli
