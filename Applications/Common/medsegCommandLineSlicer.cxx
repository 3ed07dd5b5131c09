// The command-line table in 3D Slicer's forms: its argument conventions (SlicerCommandLine,
// ParseSlicer) and the module description XML (SlicerXml), valid against ModuleDescription.xsd.
#include "medsegCommandLine.h"
#include "medsegCommandLineKinds.h"
#include "medsegError.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace medseg::cli
{

using namespace detail;

namespace
{

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
  const std::vector<std::string> groups = GroupsInOrder(m_Parameters);

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
