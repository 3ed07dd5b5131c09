#include "medsegCommandLine.h"

#include "medsegError.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace medseg::cli
{

namespace
{

bool
TakesValue(ParameterKind kind)
{
  return kind != ParameterKind::Flag;
}

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
Option(const std::string & name)
{
  return "--" + name;
}

/** Checks one value against its parameter's kind; throws UsageError naming the option. */
void
CheckValue(const Parameter & p, const std::string & value)
{
  const std::string who = p.positional ? p.name : Option(p.name);
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

bool
IsImageKind(ParameterKind kind)
{
  return kind == ParameterKind::InputImage || kind == ParameterKind::InputLabelMap ||
         kind == ParameterKind::OutputImage || kind == ParameterKind::OutputLabelMap;
}

bool
IsFileKind(ParameterKind kind)
{
  return IsImageKind(kind) || kind == ParameterKind::InputFile || kind == ParameterKind::OutputFile;
}

bool
IsOutputKind(ParameterKind kind)
{
  return kind == ParameterKind::OutputImage || kind == ParameterKind::OutputLabelMap ||
         kind == ParameterKind::OutputFile;
}

/** One parameter of a table as Slicer sees it. */
struct SlicerEntry
{
  const Parameter * original{ nullptr };
  bool              indexed{ false }; //!< positional, `<index>` in the XML
  int               index{ -1 };
  std::string       identifier;       //!< `<name>` and, when not indexed, `<longflag>`
};

/** Required file-like parameters become positional in declaration order, then the first optional
 * image: Slicer leaves out an index parameter that has no value, so only the last may be optional. */
std::vector<SlicerEntry>
SlicerEntries(const std::vector<Parameter> & parameters)
{
  std::vector<SlicerEntry> entries;
  for (const auto & p : parameters)
  {
    entries.push_back({ &p, false, -1, CommandLine::SlicerIdentifier(p.name) });
  }
  int next = 0;
  for (auto & e : entries)
  {
    if (IsFileKind(e.original->kind) && e.original->required)
    {
      e.indexed = true;
      e.index = next++;
    }
  }
  for (auto & e : entries)
  {
    if (IsImageKind(e.original->kind) && !e.original->required)
    {
      e.indexed = true;
      e.index = next++;
      break;
    }
  }
  return entries;
}

std::string
EscapeXml(const std::string & text)
{
  std::string out;
  for (const char c : text)
  {
    switch (c)
    {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** Help text is wrapped for a terminal; Slicer wants one paragraph. */
std::string
OneParagraph(const std::string & text)
{
  std::string out;
  bool        space = false;
  for (const char c : text)
  {
    if (c == '\n' || c == ' ' || c == '\t')
    {
      space = true;
      continue;
    }
    if (space && !out.empty())
    {
      out += ' ';
    }
    space = false;
    out += c;
  }
  return out;
}

std::string
LabelOf(const Parameter & p)
{
  if (!p.label.empty())
  {
    return p.label;
  }
  std::string label = p.name;
  for (auto & c : label)
  {
    c = c == '-' || c == '_' ? ' ' : c;
  }
  if (!label.empty())
  {
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
  }
  return label;
}

std::string
Element(const std::string & tag, const std::string & text)
{
  return "<" + tag + ">" + EscapeXml(text) + "</" + tag + ">";
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
    throw UsageError(Option(name) + " needs an integer, got '" + Get(name) + "'");
  }
  return value;
}

double
ParsedArguments::GetFloat(const std::string & name) const
{
  double value = 0;
  if (!ParseDouble(Get(name), value))
  {
    throw UsageError(Option(name) + " needs a number, got '" + Get(name) + "'");
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
      throw UsageError(Option(name) + " needs comma-separated integers, got '" + Get(name) + "'");
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
      throw UsageError(Option(name) + " needs comma-separated numbers, got '" + Get(name) + "'");
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
      throw UsageError((p.positional ? p.name : Option(p.name)) + " is required (see " + m_Program + " --help)");
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
  std::string group;
  for (const auto & p : m_Parameters)
  {
    if (p.group != group)
    {
      group = p.group;
      os << '\n' << group << ":\n";
    }
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
  }
  os << "\n  --help\n      Show this help and exit.\n";
  return os.str();
}

std::string
CommandLine::SlicerIdentifier(const std::string & name)
{
  std::string id;
  bool        upper = false;
  for (const char c : name)
  {
    if (std::isalnum(static_cast<unsigned char>(c)))
    {
      id += upper && !id.empty() ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
    else
    {
      upper = true;
    }
  }
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0])))
  {
    id = "p" + id;
  }
  return id;
}

CommandLine
CommandLine::SlicerCommandLine() const
{
  CommandLine                    slicer(m_Program, m_Title, m_Description, m_Category);
  const std::vector<SlicerEntry> entries = SlicerEntries(m_Parameters);
  for (int index = 0;; ++index)
  {
    bool found = false;
    for (const auto & e : entries)
    {
      if (e.indexed && e.index == index)
      {
        Parameter p = *e.original;
        p.positional = true;
        p.repeatable = false;
        slicer.Add(p);
        found = true;
      }
    }
    if (!found)
    {
      break;
    }
  }
  for (const auto & e : entries)
  {
    if (!e.indexed)
    {
      Parameter p = *e.original;
      p.name = e.identifier;
      p.positional = false;
      p.repeatable = false;
      slicer.Add(p);
    }
  }
  return slicer;
}

ParsedArguments
CommandLine::ParseSlicer(const std::vector<std::string> & arguments) const
{
  const CommandLine                  slicer = SlicerCommandLine();
  std::map<std::string, std::string> toOriginal; // identifier -> name in this table
  std::map<std::string, std::string> toIdentifier; // dashed medseg spelling -> identifier
  for (const auto & e : SlicerEntries(m_Parameters))
  {
    if (!e.indexed)
    {
      toOriginal[e.identifier] = e.original->name;
      toIdentifier[e.original->name] = e.identifier;
    }
  }
  std::vector<std::string> cleaned;
  for (size_t i = 0; i < arguments.size(); ++i)
  {
    std::string arg = arguments[i];
    if (arg.rfind("--", 0) != 0 || arg.size() <= 2)
    {
      cleaned.push_back(arg);
      continue;
    }
    const auto  eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (toIdentifier.count(name))
    {
      name = toIdentifier[name];
      arg = "--" + name + (eq == std::string::npos ? std::string() : arg.substr(eq));
    }
    const Parameter * p = slicer.Find(name);
    if (p == nullptr || !TakesValue(p->kind))
    {
      cleaned.push_back(arg);
      continue;
    }
    if (eq != std::string::npos)
    {
      if (eq + 1 < arg.size())
        cleaned.push_back(arg);
      continue;
    }
    if (i + 1 < arguments.size())
    {
      const std::string & value = arguments[++i];
      if (!value.empty())
      {
        cleaned.push_back(arg);
        cleaned.push_back(value);
      }
      continue;
    }
    cleaned.push_back(arg); // Parse reports the missing value
  }
  const ParsedArguments parsed = slicer.Parse(cleaned);
  const auto            original = [&toOriginal](const std::string & key) {
    const auto it = toOriginal.find(key);
    return it == toOriginal.end() ? key : it->second;
  };
  ParsedArguments result;
  for (const auto & [key, values] : parsed.m_Values)
  {
    result.m_Values[original(key)] = values;
  }
  for (const auto & [key, value] : parsed.m_Defaults)
  {
    result.m_Defaults[original(key)] = value;
  }
  return result;
}

std::string
CommandLine::SlicerXml(const SlicerModuleInfo & info) const
{
  const std::vector<SlicerEntry> entries = SlicerEntries(m_Parameters);
  std::string                    reference; // the first input image: output images take its place in Slicer
  for (const auto & e : entries)
  {
    if (e.indexed && reference.empty() &&
        (e.original->kind == ParameterKind::InputImage || e.original->kind == ParameterKind::InputLabelMap))
    {
      reference = e.identifier;
    }
  }
  std::vector<std::string> groups;
  for (const auto & p : m_Parameters)
  {
    if (std::find(groups.begin(), groups.end(), p.group) == groups.end())
    {
      groups.push_back(p.group);
    }
  }

  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<executable>\n"
     << "  " << Element("category", info.category.empty() ? m_Category + ".MedSeg" : info.category) << '\n'
     << "  " << Element("title", m_Title) << '\n'
     << "  " << Element("description", OneParagraph(m_Description)) << '\n'
     << "  " << Element("version", info.version) << '\n'
     << "  " << Element("documentation-url", info.documentationUrl) << '\n'
     << "  " << Element("license", info.license) << '\n'
     << "  " << Element("contributor", info.contributor) << '\n';
  for (const auto & group : groups)
  {
    os << "  <parameters>\n"
       << "    " << Element("label", group) << '\n'
       << "    " << Element("description", group + " parameters") << '\n';
    for (const auto & e : entries)
    {
      const Parameter & p = *e.original;
      if (p.group != group)
      {
        continue;
      }
      std::string description = OneParagraph(p.help);
      if (e.indexed)
      {
        const bool  image = IsImageKind(p.kind);
        std::string tag = image ? "image" : "file";
        std::string attributes;
        if (image)
        {
          const bool label = p.kind == ParameterKind::InputLabelMap || p.kind == ParameterKind::OutputLabelMap;
          attributes = std::string(" type=\"") + (label ? "label" : "scalar") + "\"";
          if (IsOutputKind(p.kind) && !reference.empty())
          {
            attributes += " reference=\"" + reference + "\"";
          }
        }
        if (!p.required)
        {
          description += " Optional.";
        }
        os << "    <" << tag << attributes << ">\n"
           << "      " << Element("name", e.identifier) << '\n'
           << "      " << Element("label", LabelOf(p)) << '\n'
           << "      " << Element("description", description) << '\n'
           << "      " << Element("channel", IsOutputKind(p.kind) ? "output" : "input") << '\n'
           << "      " << Element("index", std::to_string(e.index)) << '\n'
           << "    </" << tag << ">\n";
        continue;
      }
      std::string tag = "string";
      std::string defaultValue = p.defaultValue;
      switch (p.kind)
      {
        case ParameterKind::Flag:
          tag = "boolean";
          defaultValue = "false";
          break;
        case ParameterKind::Integer:
          tag = p.defaultValue.empty() ? "string" : "integer";
          if (p.defaultValue.empty())
            description += " Leave empty for the default.";
          break;
        case ParameterKind::Float:
          tag = p.defaultValue.empty() ? "string" : "double";
          if (p.defaultValue.empty())
            description += " Leave empty for the default.";
          break;
        case ParameterKind::IntegerVector:
          tag = "integer-vector";
          break;
        case ParameterKind::FloatVector:
          tag = "double-vector";
          break;
        case ParameterKind::Enumeration:
        {
          std::string list;
          for (const auto & c : p.choices)
            list += (list.empty() ? "" : ", ") + c;
          description += " One of: " + list + ".";
          break;
        }
        case ParameterKind::Directory:
          tag = "directory";
          break;
        default:
          if (IsFileKind(p.kind))
            description += std::string(" Path of a file to ") + (IsOutputKind(p.kind) ? "write." : "read.");
          break;
      }
      if (p.required)
      {
        description += " Required.";
      }
      os << "    <" << tag << ">\n"
         << "      " << Element("name", e.identifier) << '\n'
         << "      " << Element("longflag", e.identifier) << '\n'
         << "      " << Element("label", LabelOf(p)) << '\n'
         << "      " << Element("description", description) << '\n';
      if (!defaultValue.empty())
      {
        os << "      " << Element("default", defaultValue) << '\n';
      }
      os << "    </" << tag << ">\n";
    }
    os << "  </parameters>\n";
  }
  os << "</executable>\n";
  return os.str();
}

} // namespace medseg::cli
