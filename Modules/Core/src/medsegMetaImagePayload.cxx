// The MetaImage (.mha, .mhd) part of the payload checks: MetaIO's header read back as text, as
// MetaIO will understand it, so that a header MetaIO would misread is refused before it is parsed
// and voxel data that could not be there is refused before it is allocated.

#include "medsegImagePayload.h"

#include "medsegError.h"

#include <algorithm>
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

/** The value of a `Key = value` MetaImage line, trimmed. */
std::string
MetaValue(const std::string & line)
{
  const auto  eq = line.find('=');
  std::string value = eq == std::string::npos ? "" : line.substr(eq + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  value.erase(value.find_last_not_of(" \t\r") + 1);
  return value;
}

/** The key of a MetaImage line: up to '=' or white space. */
std::string
MetaKey(const std::string & line)
{
  const auto end = line.find_first_of(" \t=");
  return line.substr(0, end);
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
  std::ifstream         in(path, std::ios::binary);
  std::string           line;
  MetaLayout            layout;
  uint64_t              consumed = 0;
  std::set<std::string> keys;
  // A header is a few hundred bytes; stop at 1 MiB so that a binary file is not read line by line.
  while (consumed < (1u << 20) && std::getline(in, line))
  {
    consumed += line.size() + 1;
    const std::string key = MetaKey(line);
    // Found by fuzzing: ITK's MetaIO reads a header twice (information, then voxels) and a key
    // given twice (NDims, DimSize, ElementType) can mean different images to the two reads: a
    // free of a pointer never allocated, a division by zero, a 32 GiB allocation. MetaIO never
    // writes a key twice, so such a header is corrupt.
    if (!key.empty() && line.find('=') != std::string::npos && !keys.insert(key).second)
    {
      throw InputError(path, "its MetaImage header gives '" + key + "' twice; the file is corrupt");
    }
    if (key == "CompressedData")
    {
      const std::string value = MetaValue(line);
      layout.compressed = value == "True" || value == "true" || value == "1";
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
      return layout;
    }
  }
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

/** Refuses an ElementDataFile that MetaIO would misread: empty (it would read the folder) or with
 * control characters (binary data taken for a name; a bad free found by fuzzing), a
 * LIST whose slice dimension is out of range (an index before its size array), or a pattern that
 * is not one printf integer conversion with whole-number bounds (MetaIO passes the pattern to
 * printf as the format, so "%s" reads a pointer that is not there; a step of 0 was a division by
 * zero). All found by fuzzing. */
void
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
  const int64_t nDims = meta.nDims ? *WholeNumber(*meta.nDims, 1, 10) : 10;
  if (dataFile.compare(0, 4, "LIST") == 0)
  {
    if (words.front() != "LIST" || words.size() > 2 || (words.size() == 2 && !WholeNumber(words[1], 1, nDims)))
    {
      throw InputError(path, "its MetaImage ElementDataFile '" + dataFile.substr(0, 60) +
                               "' is not LIST or LIST followed by a slice dimension from 1 to NDims");
    }
    return;
  }
  if (dataFile.find('%') == std::string::npos)
  {
    return; // one data file, spaces allowed
  }
  // One conversion: '%', an optional 0 flag and width, 'd' or 'i'; no other '%'.
  const std::string & pattern = words.front();
  const size_t        percent = pattern.find('%');
  size_t              end = pattern.find_first_not_of("0123456789", percent + 1);
  const bool          conversion = percent != std::string::npos && end != std::string::npos && end - percent <= 3 &&
                          (pattern[end] == 'd' || pattern[end] == 'i') &&
                          pattern.find('%', end) == std::string::npos;
  bool bounds = words.size() <= 4; // name [first [last [step]]]
  for (size_t i = 1; i < words.size(); ++i)
  {
    const std::string & word = words[i];
    const bool          negative = !word.empty() && word[0] == '-' && i == 3;
    bounds = bounds && WholeNumber(negative ? word.substr(1) : word, 0, 1000000000).has_value();
  }
  if (!conversion || !bounds)
  {
    throw InputError(path, "its MetaImage ElementDataFile pattern '" + dataFile.substr(0, 60) +
                             "' is not a file name with one %d conversion followed by up to three whole numbers "
                             "(first, last, step)");
  }
  if (words.size() == 4 && std::strtol(words[3].c_str(), nullptr, 10) == 0)
  {
    throw InputError(path, "its ElementDataFile pattern '" + dataFile + "' has a step of 0");
  }
}

} // namespace

void
CheckMetaImageText(const std::string & path)
{
  const MetaLayout meta = ReadMetaLayout(path);
  CheckSizes(path, meta);
  if (meta.headerBytes > 0)
  {
    CheckDataFileName(path, meta.dataFile, meta);
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
  CheckDataFileName(path, meta.dataFile, meta);
  const bool local = IsLocal(meta.dataFile);
  if (!local && (meta.dataFile.compare(0, 4, "LIST") == 0 || meta.dataFile.find('%') != std::string::npos))
  {
    // A list of slice files or a file pattern: ITK opens each; only the cap is checked here.
    CheckCompressedClaim(path, payload, 0, 0);
    return;
  }
  const fs::path  dataPath = local ? fs::path(path) : fs::path(path).parent_path() / meta.dataFile;
  std::error_code ec;
  if (!local && !fs::is_regular_file(dataPath, ec))
  {
    throw InputError(path, "its data file " + dataPath.string() + " does not exist");
  }
  const uint64_t present =
    local ? FileSize(dataPath) - std::min(FileSize(dataPath), meta.headerBytes) : FileSize(dataPath);
  const std::string where = local ? std::string() : " in " + dataPath.filename().string();
  if (meta.compressed)
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
