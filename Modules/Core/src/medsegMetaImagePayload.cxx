// The MetaImage (.mha, .mhd) part of the payload checks: MetaIO's header read back as text, as
// MetaIO will understand it, so that a header MetaIO would misread is refused before it is parsed
// and voxel data that could not be there is refused before it is allocated.

#include "medsegImagePayload.h"

#include "medsegError.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace medseg::detail
{

namespace fs = std::filesystem;

namespace
{

/** What a MetaImage header says about its size and where its voxels are. */
struct MetaLayout
{
  uint64_t    headerBytes{ 0 }; //!< up to the end of the ElementDataFile line; 0: no such line
  std::string dataFile;         //!< "LOCAL", a file name, "LIST [dimension]" or a pattern
  bool        compressed{ false };
  uint64_t    compressedSize{ 0 }; //!< CompressedDataSize, 0 when not stated
  std::optional<std::string> nDims;
  std::optional<std::string> dimSize;
};

/** The value of a `Key = value` (or `Key: value`) MetaImage line: after the separators and
 * blanks that follow the key, as MetaIO's MET_SkipToVal skips them; trailing blanks trimmed. */
std::string
MetaValue(const std::string & line)
{
  const auto  separator = line.find_first_of("=:");
  std::string value = separator == std::string::npos ? "" : line.substr(separator);
  value.erase(0, value.find_first_not_of("=: \t"));
  value.erase(value.find_last_not_of(" \t\r") + 1);
  return value;
}

/** The key of a MetaImage line as MetaIO's MET_Read reads it: leading white space skipped, up
 * to '=' or ':', trailing blanks trimmed ("Patient Name" is one key). */
std::string
MetaKey(const std::string & line)
{
  const auto  start = line.find_first_not_of(" \t\r\v\f");
  std::string key = start == std::string::npos ? "" : line.substr(start, line.find_first_of("=:", start) - start);
  key.erase(key.find_last_not_of(" \t\r") + 1);
  return key;
}

/** The keys whose repetition changes what MetaIO's two header reads see (other keys, such as
 * the metadata fields ITK writes, may repeat harmlessly). */
bool
IsStructuralKey(const std::string & key)
{
  static const std::set<std::string> keys = { "ObjectType", "NDims", "DimSize", "ElementType",
                                              "ElementNumberOfChannels", "ElementDataFile", "CompressedData",
                                              "CompressedDataSize", "HeaderSize", "BinaryData",
                                              "BinaryDataByteOrderMSB", "ElementByteOrderMSB" };
  return keys.count(key) > 0;
}

/** The white-space separated words of `text`. */
std::vector<std::string>
Words(const std::string & text)
{
  std::istringstream       in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;)
  {
    words.push_back(word);
  }
  return words;
}

/** `text` as a whole number from `low` to `high` (decimal digits only), or nothing. MetaIO reads
 * sizes as floating point and casts them to int: "2e32" or "-3" become whatever the cast gives. */
std::optional<int64_t>
WholeNumber(const std::string & text, int64_t low, int64_t high)
{
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
  {
    return std::nullopt;
  }
  const int64_t value = std::strtoll(text.c_str(), nullptr, 10);
  return value >= low && value <= high ? std::optional<int64_t>(value) : std::nullopt;
}

MetaLayout
ReadMetaLayout(const std::string & path)
{
  MetaLayout            layout;
  std::set<std::string> keys;
  ForEachHeaderLine(path, [&](const std::string & line, uint64_t consumed) {
    const std::string key = MetaKey(line);
    // Found by fuzzing: ITK's MetaIO reads a header twice (information, then voxels) and a key
    // given twice (NDims, DimSize, ElementType) can mean different images to the two reads: a
    // free of a pointer never allocated, a division by zero, a 32 GiB allocation. MetaIO never
    // writes a key twice, so such a header is corrupt.
    if (IsStructuralKey(key) && !keys.insert(key).second)
    {
      throw InputError(path, "its MetaImage header gives '" + key + "' twice; the file is corrupt");
    }
    if (key == "CompressedData")
    {
      const std::string value = MetaValue(line);
      layout.compressed = !value.empty() && (value[0] == 'T' || value[0] == 't' || value[0] == '1'); // as MetaIO
    }
    else if (key == "CompressedDataSize")
    {
      layout.compressedSize = std::strtoull(MetaValue(line).c_str(), nullptr, 10);
    }
    else if (key == "NDims")
    {
      layout.nDims = MetaValue(line);
    }
    else if (key == "DimSize")
    {
      layout.dimSize = MetaValue(line);
    }
    else if (key == "ElementDataFile")
    {
      layout.headerBytes = consumed;
      layout.dataFile = MetaValue(line);
      return false; // MetaIO's header ends here
    }
    return true;
  });
  return layout;
}

/** MetaIO's three spellings of "the voxels follow the header". */
bool
IsLocal(const std::string & dataFile)
{
  return dataFile == "LOCAL" || dataFile == "Local" || dataFile == "local";
}

/** Refuses sizes MetaIO would turn into other numbers (found by fuzzing: a DimSize of 2e32 became
 * a 32 GiB allocation; an NDims of -3 made the header parse loop for minutes). */
void
CheckSizes(const std::string & path, const MetaLayout & meta)
{
  constexpr int64_t maxDims = 10; // MetaIO's limit
  std::optional<int64_t> nDims;
  if (meta.nDims)
  {
    nDims = WholeNumber(*meta.nDims, 1, maxDims);
    if (!nDims)
    {
      throw InputError(path, "its MetaImage NDims '" + meta.nDims->substr(0, 40) +
                               "' is not a whole number from 1 to " + std::to_string(maxDims));
    }
  }
  if (meta.dimSize)
  {
    const std::vector<std::string> sizes = Words(*meta.dimSize);
    bool                           valid = !sizes.empty() && (!nDims || sizes.size() == static_cast<size_t>(*nDims));
    for (const std::string & size : sizes)
    {
      valid = valid && WholeNumber(size, 1, std::numeric_limits<int32_t>::max());
    }
    if (!valid)
    {
      throw InputError(path, "its MetaImage DimSize '" + meta.dimSize->substr(0, 60) + "' is not " +
                               (nDims ? std::to_string(*nDims) : std::string("NDims")) +
                               " whole number(s) from 1 to 2147483647");
    }
  }
}

/** The sizes of a validated DimSize. */
std::vector<int64_t>
Sizes(const MetaLayout & meta)
{
  std::vector<int64_t> sizes;
  for (const std::string & word : Words(meta.dimSize.value_or("")))
  {
    sizes.push_back(std::strtoll(word.c_str(), nullptr, 10));
  }
  return sizes;
}

/** A slice-file pattern as MetaIO reads `name%03d.raw [first [last [step]]]`: the name's one
 * integer conversion (zero flag, width) and the slice numbers it is given. */
struct SlicePattern
{
  std::string prefix, suffix;
  bool        zeros{ false };
  int         width{ 0 };
  int64_t     first{ 1 }, step{ 1 }, count{ 0 };

  std::string
  Name(int64_t i) const
  {
    std::string number = std::to_string(i);
    if (static_cast<int>(number.size()) < width)
    {
      number.insert(0, static_cast<size_t>(width) - number.size(), zeros ? '0' : ' ');
    }
    return prefix + number + suffix;
  }
};

/** The LIST form's slice dimension (`LIST`, `LIST 2`, `LIST 2D`): 1 to NDims - 1, NDims - 1 when
 * not given; nothing for anything else. MetaIO indexes its size array with it. */
std::optional<int64_t>
ListDimension(const std::vector<std::string> & words, int64_t nDims)
{
  if (words.front() != "LIST" || words.size() > 2)
  {
    return std::nullopt;
  }
  if (words.size() == 1)
  {
    return nDims - 1;
  }
  std::string number = words[1];
  if (!number.empty() && (number.back() == 'D' || number.back() == 'd'))
  {
    number.pop_back();
  }
  return WholeNumber(number, 1, std::max<int64_t>(1, nDims - 1));
}

/** Refuses an ElementDataFile that MetaIO would misread: empty (it would read the folder) or with
 * control characters (binary data taken for a name; a bad free found by fuzzing), a LIST whose
 * slice dimension is out of range (an index past its size array), or a pattern that is not one
 * printf integer conversion with whole-number bounds and a positive step (MetaIO passes the
 * pattern to printf as the format, so "%s" reads a pointer that is not there; a step of 0 is a
 * division by zero, found by fuzzing; a negative one never ends). Returns the pattern, if any. */
std::optional<SlicePattern>
CheckDataFileName(const std::string & path, const std::string & dataFile, const MetaLayout & meta)
{
  if (dataFile.empty())
  {
    throw InputError(path, "its MetaImage ElementDataFile is empty");
  }
  if (std::any_of(dataFile.begin(), dataFile.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
  {
    throw InputError(path, "its MetaImage ElementDataFile holds control characters; the header is corrupt");
  }
  const std::vector<std::string> words = Words(dataFile);
  const std::vector<int64_t>     sizes = Sizes(meta);
  const int64_t nDims = meta.nDims ? *WholeNumber(*meta.nDims, 1, 10) : static_cast<int64_t>(sizes.size());
  if (dataFile.compare(0, 4, "LIST") == 0)
  {
    if (!ListDimension(words, nDims))
    {
      throw InputError(path, "its MetaImage ElementDataFile '" + dataFile.substr(0, 60) +
                               "' is not LIST or LIST followed by a slice dimension from 1 to NDims - 1");
    }
    return std::nullopt;
  }
  if (dataFile.find('%') == std::string::npos)
  {
    return std::nullopt; // one data file, spaces allowed
  }
  // One conversion: '%', an optional 0 flag and width, 'd' or 'i'; no other '%'.
  const std::string & name = words.front();
  const size_t        percent = name.find('%');
  const size_t        end = percent == std::string::npos ? percent : name.find_first_not_of("0123456789", percent + 1);
  const bool          conversion = end != std::string::npos && end - percent <= 3 &&
                          (name[end] == 'd' || name[end] == 'i') && name.find('%', end) == std::string::npos;
  std::vector<int64_t> numbers;
  for (size_t i = 1; i < words.size(); ++i)
  {
    numbers.push_back(WholeNumber(words[i], 0, 1000000000).value_or(-1));
  }
  const bool bounds = words.size() <= 4 && std::count(numbers.begin(), numbers.end(), -1) == 0;
  if (!conversion || !bounds || sizes.empty())
  {
    throw InputError(path, "its MetaImage ElementDataFile pattern '" + dataFile.substr(0, 60) +
                             "' is not a file name with one %d conversion followed by up to three whole numbers "
                             "(first, last, step)");
  }
  SlicePattern pattern;
  pattern.prefix = name.substr(0, percent);
  pattern.suffix = name.substr(end + 1);
  pattern.zeros = name[percent + 1] == '0';
  pattern.width = end > percent + 1 ? std::atoi(name.substr(percent + 1, end - percent - 1).c_str()) : 0;
  const int64_t slices = sizes.back();
  pattern.first = numbers.empty() ? 1 : numbers[0];
  int64_t last = pattern.first + slices - 1;
  if (numbers.size() >= 2)
  {
    last = numbers[1];
    pattern.step = (last - pattern.first) / slices; // as MetaIO derives it
  }
  if (numbers.size() == 3)
  {
    pattern.step = numbers[2];
  }
  if (pattern.step <= 0 || last < pattern.first)
  {
    throw InputError(path, "its MetaImage ElementDataFile pattern '" + dataFile.substr(0, 60) + "' gives a step of " +
                             std::to_string(pattern.step) + " from slice " + std::to_string(pattern.first) + " to " +
                             std::to_string(last) + " for " + std::to_string(slices) + " slices");
  }
  pattern.count = std::min(slices, 1 + (last - pattern.first) / pattern.step);
  return pattern;
}

/** Refuses slice files (a LIST or a pattern) that are missing or short of `sliceBytes` each, or
 * fewer than `wanted` (MetaIO leaves the missing slices zero). */
void
CheckSliceFiles(const std::string & path, const std::vector<std::string> & names, int64_t wanted, uint64_t sliceBytes)
{
  if (static_cast<int64_t>(names.size()) < wanted)
  {
    throw InputError(path, "its MetaImage ElementDataFile names " + std::to_string(names.size()) +
                             " slice file(s) but its DimSize needs " + std::to_string(wanted));
  }
  for (const std::string & name : names)
  {
    const fs::path  file = fs::path(name).is_absolute() ? fs::path(name) : fs::path(path).parent_path() / name;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
    {
      throw InputError(path, "its slice file " + file.string() + " does not exist");
    }
    if (FileSize(file) < sliceBytes)
    {
      throw InputError(path, "is truncated: " + std::to_string(FileSize(file)) + " of " + std::to_string(sliceBytes) +
                               " bytes of voxel data present in " + file.filename().string());
    }
  }
}

/** The file names a LIST header gives on the lines after its ElementDataFile line (at most
 * `count`), trimmed at the end as MetaIO trims them. */
std::vector<std::string>
ListedFiles(const std::string & path, uint64_t headerBytes, int64_t count)
{
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(headerBytes));
  std::vector<std::string> names;
  for (std::string line; static_cast<int64_t>(names.size()) < count && std::getline(in, line);)
  {
    while (!line.empty() && (std::isspace(static_cast<unsigned char>(line.back())) ||
                             !std::isprint(static_cast<unsigned char>(line.back()))))
    {
      line.pop_back();
    }
    names.push_back(line);
  }
  return names;
}

} // namespace

void
CheckMetaImageText(const std::string & path)
{
  const MetaLayout meta = ReadMetaLayout(path);
  CheckSizes(path, meta);
  if (meta.headerBytes > 0)
  {
    (void)CheckDataFileName(path, meta.dataFile, meta);
  }
}

void
CheckMetaImage(const std::string & path, uint64_t payload)
{
  const MetaLayout meta = ReadMetaLayout(path);
  if (meta.headerBytes == 0)
  {
    return; // no ElementDataFile: ITK refuses the header itself
  }
  CheckSizes(path, meta);
  const std::optional<SlicePattern> pattern = CheckDataFileName(path, meta.dataFile, meta);
  const bool                        local = IsLocal(meta.dataFile);
  const bool                        list = meta.dataFile.compare(0, 4, "LIST") == 0;
  if (!local && (list || pattern))
  {
    // Slice files, each holding a part of the payload; compressed ones: the cap only.
    if (meta.compressed)
    {
      CheckCompressedClaim(path, payload, 0, 0);
      return;
    }
    const std::vector<int64_t> sizes = Sizes(meta);
    int64_t                    files = 1;
    if (pattern)
    {
      files = sizes.back();
      std::vector<std::string> names;
      for (int64_t k = 0; k < pattern->count; ++k)
      {
        names.push_back(pattern->Name(pattern->first + k * pattern->step));
      }
      CheckSliceFiles(path, names, files, payload / static_cast<uint64_t>(files));
      return;
    }
    const int64_t dimension = *ListDimension(Words(meta.dataFile), static_cast<int64_t>(sizes.size()));
    for (size_t i = static_cast<size_t>(dimension); i < sizes.size(); ++i)
    {
      files *= sizes[i];
    }
    const int64_t listed = std::min<int64_t>(files, 1000000);
    CheckSliceFiles(path, ListedFiles(path, meta.headerBytes, listed), files, payload / static_cast<uint64_t>(files));
    return;
  }
  fs::path        dataPath = local ? fs::path(path) : fs::path(path).parent_path() / meta.dataFile;
  bool            compressed = meta.compressed;
  std::error_code ec;
  if (!local && !fs::is_regular_file(dataPath, ec))
  {
    // MetaIO then opens name.gz or name.Z, and reads it as compressed.
    const fs::path named = dataPath;
    for (const char * extension : { ".gz", ".Z" })
    {
      if (fs::path alternative = fs::path(named) += extension; fs::is_regular_file(alternative, ec))
      {
        dataPath = alternative;
        compressed = true;
        break;
      }
    }
    if (dataPath == named)
    {
      throw InputError(path, "its data file " + dataPath.string() + " does not exist");
    }
  }
  const uint64_t present =
    local ? FileSize(dataPath) - std::min(FileSize(dataPath), meta.headerBytes) : FileSize(dataPath);
  const std::string where = local ? std::string() : " in " + dataPath.filename().string();
  if (compressed)
  {
    // The header may state the size of the zlib stream; the file must hold at least that much.
    if (meta.compressedSize > 0 && present < meta.compressedSize)
    {
      throw InputError(path, "is truncated: " + std::to_string(present) + " of " +
                               std::to_string(meta.compressedSize) + " bytes of compressed voxel data present" + where);
    }
    CheckCompressedClaim(path, payload, meta.compressedSize > 0 ? std::min(present, meta.compressedSize) : present,
                         DeflateMaxRatio);
    return;
  }
  if (present < payload)
  {
    throw InputError(path, "is truncated: " + std::to_string(present) + " of " + std::to_string(payload) +
                             " bytes of voxel data present" + where);
  }
}

} // namespace medseg::detail
