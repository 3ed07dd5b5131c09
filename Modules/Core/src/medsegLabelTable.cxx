#include "medsegLabelTable.h"

#include "medsegError.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <sstream>

namespace medseg
{

namespace
{

constexpr std::array<std::array<std::uint8_t, 3>, 12> Palette = { {
  { 230, 25, 75 },
  { 60, 180, 75 },
  { 255, 225, 25 },
  { 0, 130, 200 },
  { 245, 130, 48 },
  { 145, 30, 180 },
  { 70, 240, 240 },
  { 240, 50, 230 },
  { 210, 245, 60 },
  { 250, 190, 212 },
  { 0, 128, 128 },
  { 170, 110, 40 },
} };

bool
EndsWith(const std::string & text, const std::string & tail)
{
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

std::uint8_t
ColorComponent(long v, const std::string & subject, const std::string & where)
{
  if (v < 0 || v > 255)
  {
    throw InputError(subject, where + ": colour component " + std::to_string(v) + " is not in 0..255");
  }
  return static_cast<std::uint8_t>(v);
}

LabelInfo
ParseJsonEntry(const nlohmann::json & entry, const std::string & subject, std::size_t index)
{
  const std::string where = "labels[" + std::to_string(index) + "]";
  if (!entry.is_object() || !entry.contains("value") || !entry["value"].is_number_integer())
  {
    throw InputError(subject, where + " needs an integer \"value\"");
  }
  const long long value = entry["value"].get<long long>();
  if (value < 0 || value > 65535)
  {
    throw InputError(subject, where + ": value " + std::to_string(value) + " is not in 0..65535");
  }
  LabelInfo info;
  info.value = static_cast<unsigned int>(value);
  info.name = entry.contains("name") && entry["name"].is_string() ? entry["name"].get<std::string>()
                                                                   : "label_" + std::to_string(value);
  info.rgb = LabelTable::DefaultColor(info.value);
  const char * colorKey = entry.contains("color") ? "color" : (entry.contains("colour") ? "colour" : nullptr);
  if (colorKey != nullptr)
  {
    const auto & c = entry[colorKey];
    if (!c.is_array() || c.size() < 3 || c.size() > 4)
    {
      throw InputError(subject, where + ": \"color\" must be [r, g, b] with 0..255 integers");
    }
    for (unsigned int i = 0; i < 3; ++i)
    {
      if (!c[i].is_number_integer())
      {
        throw InputError(subject, where + ": \"color\" must be [r, g, b] with 0..255 integers");
      }
      info.rgb[i] = ColorComponent(c[i].get<long>(), subject, where);
    }
  }
  return info;
}

} // namespace

std::array<std::uint8_t, 3>
LabelTable::DefaultColor(unsigned int value)
{
  if (value == 0)
  {
    return { 0, 0, 0 };
  }
  return Palette[(value - 1) % Palette.size()];
}

LabelTable
LabelTable::Read(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
  {
    throw InputError(path, "cannot open the label table");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (EndsWith(path, ".json"))
  {
    return ParseJson(text.str(), path);
  }
  return ParseColorTable(text.str(), path);
}

LabelTable
LabelTable::ParseColorTable(const std::string & text, const std::string & subject)
{
  LabelTable         table;
  std::istringstream in(text);
  std::string        line;
  int                lineNumber = 0;
  while (std::getline(in, line))
  {
    ++lineNumber;
    const auto hash = line.find('#');
    if (hash != std::string::npos)
    {
      line.erase(hash);
    }
    std::istringstream fields(line);
    std::string        first;
    if (!(fields >> first))
    {
      continue; // blank or comment
    }
    const std::string where = "line " + std::to_string(lineNumber);
    long              value = 0, r = 0, g = 0, b = 0;
    std::string       name;
    try
    {
      std::size_t used = 0;
      value = std::stol(first, &used);
      if (used != first.size())
      {
        throw std::invalid_argument(first);
      }
    }
    catch (const std::exception &)
    {
      throw InputError(subject, where + ": expected 'value name r g b a', got '" + first + "'");
    }
    if (!(fields >> name >> r >> g >> b))
    {
      throw InputError(subject, where + ": expected 'value name r g b a'");
    }
    if (value < 0 || value > 65535)
    {
      throw InputError(subject, where + ": value " + std::to_string(value) + " is not in 0..65535");
    }
    LabelInfo info;
    info.value = static_cast<unsigned int>(value);
    info.name = name;
    info.rgb = { ColorComponent(r, subject, where), ColorComponent(g, subject, where),
                 ColorComponent(b, subject, where) };
    table.Set(info);
  }
  return table;
}

LabelTable
LabelTable::ParseJson(const std::string & text, const std::string & subject)
{
  nlohmann::json document;
  try
  {
    document = nlohmann::json::parse(text);
  }
  catch (const nlohmann::json::exception & e)
  {
    throw InputError(subject, std::string("not valid JSON (") + OneLine(e.what()) + ")");
  }
  const nlohmann::json * list = &document;
  if (document.is_object())
  {
    if (!document.contains("labels"))
    {
      throw InputError(subject, "no \"labels\" array");
    }
    list = &document["labels"];
  }
  if (!list->is_array())
  {
    throw InputError(subject, "\"labels\" must be an array");
  }
  LabelTable table;
  for (std::size_t i = 0; i < list->size(); ++i)
  {
    table.Set(ParseJsonEntry((*list)[i], subject, i));
  }
  return table;
}

void
LabelTable::Set(const LabelInfo & info)
{
  m_Entries[info.value] = info;
}

bool
LabelTable::Has(unsigned int value) const
{
  return m_Entries.count(value) != 0;
}

LabelInfo
LabelTable::Get(unsigned int value) const
{
  const auto it = m_Entries.find(value);
  if (it != m_Entries.end())
  {
    return it->second;
  }
  LabelInfo info;
  info.value = value;
  info.name = value == 0 ? "background" : "label_" + std::to_string(value);
  info.rgb = DefaultColor(value);
  return info;
}

std::vector<LabelInfo>
LabelTable::GetEntries() const
{
  std::vector<LabelInfo> entries;
  for (const auto & e : m_Entries)
  {
    entries.push_back(e.second);
  }
  return entries;
}

std::string
SanitizeLabelName(const std::string & name)
{
  std::string safe;
  for (const char c : name)
  {
    const auto u = static_cast<unsigned char>(c);
    safe += (std::isalnum(u) || c == '-' || c == '_') ? c : '_';
  }
  return safe.empty() ? "unnamed" : safe;
}

} // namespace medseg
