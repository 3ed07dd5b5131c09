#ifndef medsegLabelTable_h
#define medsegLabelTable_h

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace medseg
{

/** One entry of a label table: a label value, its name and its display colour (8-bit sRGB). */
struct LabelInfo
{
  unsigned int                 value{ 0 };
  std::string                  name;
  std::array<std::uint8_t, 3> rgb{ 128, 128, 128 };
};

/** \brief Names and colours of label values, for meshes, pictures and reports.
 *
 * Labels without an entry get the name "label_<value>" and a colour from the default palette:
 * twelve well-separated colours (the "Paired"-like palette below, chosen so that neighbouring
 * values differ), cycled by (value - 1) modulo 12. Value 0 is the background and is never drawn.
 *
 * Palette, in order: red (230,25,75), green (60,180,75), yellow (255,225,25), blue (0,130,200),
 * orange (245,130,48), purple (145,30,180), cyan (70,240,240), magenta (240,50,230),
 * lime (210,245,60), pink (250,190,212), teal (0,128,128), brown (170,110,40).
 *
 * Files are read with Read(): 3D Slicer colour-table text ("value name r g b a" per line, '#'
 * starts a comment, alpha ignored), or JSON: either {"labels": [{"value": 1, "name": "liver",
 * "color": [r, g, b]}, ...]} or a bare array of such objects (the "labels" block of model.json). */
class LabelTable
{
public:
  /** The colour the default palette gives `value` (value 0 gets black). */
  static std::array<std::uint8_t, 3>
  DefaultColor(unsigned int value);

  /** Reads a Slicer colour table (.txt/.ctbl) or a JSON file (.json). Throws InputError("<path>",
   * "<problem>") naming the line for malformed input. */
  static LabelTable
  Read(const std::string & path);

  /** Parses Slicer colour-table text; `subject` names the source in error messages. */
  static LabelTable
  ParseColorTable(const std::string & text, const std::string & subject);

  /** Parses the JSON forms described above. */
  static LabelTable
  ParseJson(const std::string & text, const std::string & subject);

  /** Adds or replaces the entry for info.value. */
  void
  Set(const LabelInfo & info);

  bool
  Has(unsigned int value) const;

  /** The entry for `value`, or the default name and palette colour. */
  LabelInfo
  Get(unsigned int value) const;

  /** The entries that were set, ordered by value. */
  std::vector<LabelInfo>
  GetEntries() const;

  bool
  IsEmpty() const
  {
    return m_Entries.empty();
  }

private:
  std::map<unsigned int, LabelInfo> m_Entries;
};

/** A file-name-safe form of a label name: letters, digits, '-' and '_' kept, others become '_'. */
std::string
SanitizeLabelName(const std::string & name);

} // namespace medseg

#endif
