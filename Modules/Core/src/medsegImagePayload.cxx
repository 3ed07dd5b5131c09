// What a file's header promises against what the file holds, checked before ITK reads a voxel:
// ITK's NIfTI and MetaImage readers fill missing voxels with zeros and only warn, NIfTI's reader
// replaces NaN with 0, and a compressed file may claim more voxels than it could ever hold.
#include "medsegImagePayload.h"

#include "medsegError.h"
#include "medsegNiftiHeader.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace medseg::detail
{
namespace fs = std::filesystem;

uint64_t
MaxDecompressedBytes()
{
  constexpr double defaultGiB = 4.0;
  double           gib = defaultGiB;
  if (const char * text = std::getenv("MEDSEG_MAX_DECOMPRESSED_GIB"))
  {
    char *       end = nullptr;
    const double value = std::strtod(text, &end);
    if (end != text && *end == '\0' && value > 0.0 && std::isfinite(value))
    {
      gib = value;
    }
  }
  return static_cast<uint64_t>(std::min(gib, 1.0e9) * static_cast<double>(1ull << 30));
}

void
ForEachHeaderLine(const std::string & path, const std::function<bool(const std::string &, uint64_t)> & visit)
{
  std::ifstream in(path, std::ios::binary);
  std::string   line;
  uint64_t      consumed = 0;
  while (consumed < (1u << 20) && std::getline(in, line))
  {
    consumed += line.size() + 1;
    if (!visit(line, consumed))
    {
      return;
    }
  }
}

uint64_t
FileSize(const fs::path & path)
{
  std::error_code ec;
  const auto      size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

std::string
Bytes(uint64_t n)
{
  return std::to_string(n) + " bytes";
}

void
CheckCompressedClaim(const std::string & path, uint64_t payload, uint64_t compressed, uint64_t maxRatio)
{
  constexpr uint64_t slack = 1u << 16; // stream headers, and ratios are asymptotic
  if (maxRatio > 0 && compressed < (payload - std::min(payload, slack)) / maxRatio)
  {
    throw InputError(path, "its header claims " + Bytes(payload) + " of voxel data, more than its " +
                             Bytes(compressed) + " of compressed data can hold (at most " + std::to_string(maxRatio) +
                             ":1); the file is corrupt, truncated or a decompression bomb");
  }
  const uint64_t cap = MaxDecompressedBytes();
  if (payload > cap)
  {
    std::ostringstream gib;
    gib.precision(3);
    gib << static_cast<double>(payload) / (1ull << 30) << " GiB of voxel data, more than the "
        << static_cast<double>(cap) / (1ull << 30) << " GiB limit for compressed images; set "
        << "MEDSEG_MAX_DECOMPRESSED_GIB to raise it";
    throw InputError(path, "would decompress to " + gib.str());
  }
}

namespace
{

bool
EndsWith(const std::string & text, const std::string & suffix)
{
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/** Streams a gzip file through `consume(bytes, count, offset)`; returns the decompressed size.
 * Throws InputError if the stream ends early or is corrupt. */
template <typename TConsumer>
uint64_t
StreamGzip(const std::string & path, TConsumer && consume)
{
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
  {
    throw InputError(path, "cannot open the file");
  }
  std::vector<char> buffer(1 << 20);
  uint64_t          total = 0;
  int               got = 0;
  while ((got = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0)
  {
    consume(buffer.data(), static_cast<size_t>(got), total);
    total += static_cast<uint64_t>(got);
  }
  int               code = Z_OK;
  const char *      message = gzerror(file, &code);
  const bool        failed = got < 0 || (code != Z_OK && code != Z_STREAM_END);
  const std::string reason = message ? message : "";
  gzclose(file);
  if (failed)
  {
    throw InputError(path, "the compressed data are truncated or corrupt (" + reason + ")");
  }
  return total;
}

/** Streams a plain file through `consume(bytes, count, offset)`; returns its size. */
template <typename TConsumer>
uint64_t
StreamFile(const std::string & path, TConsumer && consume)
{
  std::ifstream     in(path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  uint64_t          total = 0;
  while (in)
  {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0)
      break;
    consume(buffer.data(), got, total);
    total += got;
  }
  return total;
}

/** What a NIfTI header says about where and how its voxels are stored. */
struct NiftiLayout
{
  uint64_t voxelOffset{ 0 }; // 0: not a single-file NIfTI
  int      datatype{ 0 };
  bool     swapped{ false };
};

/** Counts NaN/Inf values in the float32/float64 voxels of a NIfTI stream as it goes by
 * (NIfTI's reader replaces them with 0 without a word, so the reader cannot see them). */
class NonFiniteScanner
{
public:
  void
  Start(const NiftiLayout & layout, uint64_t payload)
  {
    m_Layout = layout;
    m_Size = layout.datatype == 16 ? 4 : (layout.datatype == 64 ? 8 : 0);
    // trailing bytes after the voxels are not voxels (the sum saturates: a NIfTI-2 offset is 64 bits)
    if (__builtin_add_overflow(layout.voxelOffset, payload, &m_End))
      m_End = UINT64_MAX;
  }
  void
  operator()(const char * data, size_t n, uint64_t offset)
  {
    if (m_Size == 0)
      return;
    for (size_t i = 0; i < n; ++i)
    {
      const uint64_t position = offset + i;
      if (position < m_Layout.voxelOffset)
        continue;
      if (position >= m_End)
        break;
      m_Value[m_Filled++] = data[i];
      if (m_Filled == m_Size)
      {
        m_Filled = 0;
        if (m_Layout.swapped)
          std::reverse(m_Value, m_Value + m_Size);
        bool finite = true;
        if (m_Size == 4)
        {
          float f;
          std::memcpy(&f, m_Value, 4);
          finite = std::isfinite(f);
        }
        else
        {
          double d;
          std::memcpy(&d, m_Value, 8);
          finite = std::isfinite(d);
        }
        if (!finite && m_Count++ == 0)
          m_First = m_Voxel;
        ++m_Voxel;
      }
    }
  }
  uint64_t m_Count{ 0 };
  uint64_t m_First{ 0 };

private:
  NiftiLayout m_Layout;
  uint64_t    m_End{ 0 };
  size_t      m_Size{ 0 };
  char        m_Value[8]{};
  size_t      m_Filled{ 0 };
  uint64_t    m_Voxel{ 0 };
};

/** Where and how the voxels of a NIfTI-1 or NIfTI-2 single file are stored, from its header bytes. */
NiftiLayout
ReadNiftiLayout(const std::string & header, const std::string & path)
{
  NiftiLayout layout;
  if (header.size() < 348)
  {
    throw InputError(path, "the NIfTI header is truncated");
  }
  int32_t sizeofHeader = 0;
  std::memcpy(&sizeofHeader, header.data(), 4);
  const bool swapped = sizeofHeader != 348 && sizeofHeader != 540;
  if (swapped)
  {
    sizeofHeader = static_cast<int32_t>(__builtin_bswap32(static_cast<uint32_t>(sizeofHeader)));
  }
  if (sizeofHeader == 348)
  {
    uint32_t raw = 0;
    std::memcpy(&raw, header.data() + 108, 4);
    if (swapped)
    {
      raw = __builtin_bswap32(raw);
    }
    float offset = 0.0f;
    std::memcpy(&offset, &raw, 4);
    // Found by fuzzing: a vox_offset beyond 2^62 (or +inf) is held at 2^62, where no file ends
    // (converting it as it is was undefined behaviour), so the truncation check refuses the file;
    // one below 1 (0, NaN, or a tiny positive value, which became 0 and skipped the truncation
    // check, so ITK allocated what the sizes claimed) is NIfTI's default, 352.
    constexpr uint64_t beyondAnyFile = uint64_t{ 1 } << 62;
    layout.voxelOffset = offset >= 1.0f ? (offset < static_cast<float>(beyondAnyFile) ? static_cast<uint64_t>(offset)
                                                                                      : beyondAnyFile)
                                        : 352u;
    uint16_t type = 0;
    std::memcpy(&type, header.data() + 70, 2);
    layout.datatype = swapped ? __builtin_bswap16(type) : type;
  }
  else if (sizeofHeader == 540 && header.size() >= 176)
  {
    uint64_t offset = 0;
    std::memcpy(&offset, header.data() + 168, 8);
    layout.voxelOffset = swapped ? __builtin_bswap64(offset) : offset;
    uint16_t type = 0;
    std::memcpy(&type, header.data() + 12, 2);
    layout.datatype = swapped ? __builtin_bswap16(type) : type;
  }
  layout.swapped = swapped;
  return layout; // voxelOffset 0: not a single-file NIfTI (e.g. .hdr/.img): ITK checks those itself
}

/** What a NRRD header says about its encoding and where its voxels are. */
struct NrrdLayout
{
  uint64_t    headerBytes{ 0 }; //!< through the blank line that ends an attached header; 0: detached or none
  std::string encoding;         //!< raw, gzip, bzip2, ascii, hex ... (lower case, "gz" -> "gzip")
  std::string dataFile;         //!< "data file:" for a detached header, "" when attached
  bool        skips{ false };   //!< line or byte skip given: the data start is not at the header's end
};

NrrdLayout
ReadNrrdLayout(const std::string & path)
{
  NrrdLayout layout;
  ForEachHeaderLine(path, [&](std::string line, uint64_t consumed) {
    if (!line.empty() && line.back() == '\r')
    {
      line.pop_back();
    }
    if (line.empty())
    {
      layout.headerBytes = layout.dataFile.empty() ? consumed : 0;
      return false;
    }
    const auto colon = line.find(':');
    if (line[0] == '#' || colon == std::string::npos)
    {
      return true;
    }
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == '=')
    {
      return true; // key/value pairs (":="), not fields
    }
    value.erase(0, value.find_first_not_of(" \t"));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (key == "encoding")
    {
      std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
      layout.encoding = value == "gz" ? "gzip" : (value == "bz2" ? "bzip2" : (value == "txt" || value == "text" ? "ascii" : value));
    }
    else if (key == "data file" || key == "datafile")
    {
      layout.dataFile = value;
    }
    else if (key == "line skip" || key == "lineskip" || key == "byte skip" || key == "byteskip")
    {
      layout.skips = value != "0";
    }
    return true;
  });
  return layout;
}

void
CheckNrrd(const std::string & path, uint64_t payload)
{
  const NrrdLayout nrrd = ReadNrrdLayout(path);
  const bool       attached = nrrd.dataFile.empty();
  if (!attached && (nrrd.dataFile.find_first_of(" %") != std::string::npos || nrrd.dataFile.rfind("LIST", 0) == 0))
  {
    return; // several data files: ITK checks each
  }
  const fs::path dataPath = attached ? fs::path(path) : fs::path(path).parent_path() / nrrd.dataFile;
  std::error_code ec;
  if (!attached && !fs::exists(dataPath, ec))
  {
    throw InputError(path, "its data file " + dataPath.string() + " does not exist");
  }
  const uint64_t size = FileSize(dataPath);
  const uint64_t present = attached ? size - std::min(size, nrrd.headerBytes) : size;
  if (nrrd.encoding == "gzip")
  {
    CheckCompressedClaim(path, payload, present, DeflateMaxRatio);
  }
  else if (nrrd.encoding == "bzip2")
  {
    CheckCompressedClaim(path, payload, present, 0);
  }
  else if (nrrd.encoding == "raw" && !nrrd.skips && (attached ? nrrd.headerBytes > 0 : true) && present < payload)
  {
    throw InputError(path, "is truncated: " + std::to_string(present) + " of " + std::to_string(payload) +
                             " bytes of voxel data present" +
                             (attached ? std::string() : " in " + dataPath.filename().string()));
  }
}

/** Bytes one voxel takes in a NIfTI-1 (or Analyze 7.5) file of `datatype`; 0 for a code NIfTI-1
 * does not define. */
uint64_t
NiftiBytesPerVoxel(int datatype)
{
  switch (datatype)
  {
    case 2:    // uint8
    case 256:  // int8
      return 1;
    case 4:    // int16
    case 512:  // uint16
      return 2;
    case 128:  // RGB24
      return 3;
    case 8:    // int32
    case 16:   // float32
    case 768:  // uint32
    case 2304: // RGBA32
      return 4;
    case 32:   // complex64
    case 64:   // float64
    case 1024: // int64
    case 1280: // uint64
      return 8;
    case 1536: // float128
    case 1792: // complex128
      return 16;
    case 2048: // complex256
      return 32;
    default:
      return 0;
  }
}

/** The voxel bytes a NIfTI-1 file (or the .img of a pair with header `headerPath`) stores, from
 * `claimed`, the bytes ITK's header reports. They differ when the header scales its voxels
 * (scl_slope, scl_inter): ITK then reports float voxels (4 bytes) whatever the file stores (an
 * int16 CT volume with a slope stores 2), so the header's datatype is what the file must hold. */
uint64_t
StoredNiftiPayload(const itk::ImageIOBase & io, const std::string & headerPath, uint64_t claimed,
                   const std::string & path)
{
  const std::string head = ReadFileHead(headerPath, 348);
  if (head.size() < 348)
  {
    return claimed; // the streaming check below refuses the short header
  }
  const uint64_t stored = NiftiBytesPerVoxel(ReadNiftiLayout(head, path).datatype);
  const uint64_t reported = static_cast<uint64_t>(io.GetComponentSize()) * std::max(1u, io.GetNumberOfComponents());
  if (stored == 0 || reported == 0 || stored == reported)
  {
    return claimed;
  }
  uint64_t bytes = claimed / reported;
  if (__builtin_mul_overflow(bytes, stored, &bytes))
  {
    throw InputError(path, "its header claims an image too large to address (the sizes overflow 64 bits)");
  }
  return bytes;
}

/** The voxel bytes the header claims, or throws if the product of its sizes overflows. */
uint64_t
ClaimedPayload(const itk::ImageIOBase & io, const std::string & path)
{
  uint64_t bytes = io.GetComponentSize() * std::max(1u, io.GetNumberOfComponents());
  for (unsigned int i = 0; i < io.GetNumberOfDimensions(); ++i)
  {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(io.GetDimensions(i)), &bytes))
    {
      throw InputError(path, "its header claims an image too large to address (the sizes overflow 64 bits)");
    }
  }
  return bytes;
}

} // namespace

std::string
DescribeUnreadableFormat(const std::string & path)
{
  const std::string head = ReadFileHead(path, 8); // .nii and .nii.gz alike
  if (head.size() < 8)
  {
    return "";
  }
  uint32_t sizeofHeader = 0;
  std::memcpy(&sizeofHeader, head.data(), 4);
  const bool nifti2Size = sizeofHeader == 540 || __builtin_bswap32(sizeofHeader) == 540;
  const bool nifti2Magic = (head[4] == 'n' && head[5] == '+' && head[6] == '2') ||
                           (head[4] == 'n' && head[5] == 'i' && head[6] == '2');
  if (nifti2Size && nifti2Magic)
  {
    return "is a NIfTI-2 file (540-byte header); ITK 5.2, which MedSeg reads images with, reads NIfTI-1 only: "
           "save it as NIfTI-1 (.nii, .nii.gz), NRRD or MetaImage";
  }
  return "";
}

void
CheckNiftiSformText(const std::string & path)
{
  // Found by fuzzing: ITK tests whether an sform is affine with a float SVD, which never ends on
  // a matrix such as [[1, 0, 0], [1.3e28, 1.5, 0], [0, 0, 131072]]: the header parse hung.
  // A voxel is at most a metre across; an sform entry beyond 1e6 mm is corruption.
  const std::optional<Nifti1Header> header = ReadNifti1Header(path);
  if (!header || header->sformCode <= 0)
  {
    return;
  }
  for (const auto & row : header->srow)
  {
    for (size_t c = 0; c < 4; ++c)
    {
      const double limit = c < 3 ? 1.0e6 : 1.0e9;
      if (!std::isfinite(row[c]) || std::abs(row[c]) > limit)
      {
        std::ostringstream os;
        os << "its NIfTI sform holds " << row[c] << ", " << (c < 3 ? "a voxel axis" : "an offset")
           << " beyond " << limit << " mm; the header is corrupt";
        throw InputError(path, os.str());
      }
    }
  }
}

void
CheckHeaderText(const std::string & path)
{
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (EndsWith(lower, ".mha") || EndsWith(lower, ".mhd"))
  {
    CheckMetaImageText(path);
  }
  else if (EndsWith(lower, ".nii") || EndsWith(lower, ".nii.gz") || EndsWith(lower, ".hdr"))
  {
    CheckNiftiSformText(path);
  }
  else if (EndsWith(lower, ".img") && fs::exists(fs::path(path).replace_extension(".hdr")))
  {
    CheckNiftiSformText(fs::path(path).replace_extension(".hdr").string()); // a pair given by its voxels
  }
}

void
CheckPayloadComplete(itk::ImageIOBase & io, const std::string & path, bool refuseNonFinite)
{
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  uint64_t        payload = ClaimedPayload(io, path);
  std::error_code ec;
  if (EndsWith(lower, ".nii.gz") || EndsWith(lower, ".nii"))
  {
    payload = StoredNiftiPayload(io, path, payload, path);
    const bool compressed = EndsWith(lower, ".gz");
    if (compressed)
    {
      CheckCompressedClaim(path, payload, FileSize(path), DeflateMaxRatio); // before a byte is inflated
    }
    std::string      header;
    NonFiniteScanner scanner;
    bool             started = false;
    const auto       consume = [&](const char * data, size_t n, uint64_t offset) {
      if (header.size() < 544)
      {
        header.append(data, std::min<size_t>(544 - header.size(), n));
      }
      if (!started && (header.size() >= 544 || offset + n >= 544 || n < 544))
      {
        scanner.Start(ReadNiftiLayout(header, path), payload);
        started = true;
      }
      scanner(data, n, offset);
    };
    const uint64_t    total = compressed ? StreamGzip(path, consume) : StreamFile(path, consume);
    const NiftiLayout layout = ReadNiftiLayout(header, path);
    if (layout.voxelOffset > 0 && (total < layout.voxelOffset || total - layout.voxelOffset < payload))
    {
      throw InputError(path, "is truncated: " + std::to_string(total - std::min(total, layout.voxelOffset)) + " of " +
                               std::to_string(payload) + " bytes of voxel data present");
    }
    if (scanner.m_Count > 0 && refuseNonFinite)
    {
      const uint64_t nx = io.GetDimensions(0), ny = io.GetDimensions(1);
      const uint64_t f = scanner.m_First;
      throw InputError(path, "contains " + std::to_string(scanner.m_Count) +
                               " NaN or Inf voxel(s), the first at index [" + std::to_string(f % nx) + "," +
                               std::to_string((f / nx) % ny) + "," + std::to_string(f / (nx * ny)) + "]");
    }
  }
  else if (EndsWith(lower, ".hdr") || EndsWith(lower, ".img"))
  {
    // NIfTI/Analyze pairs: the voxels are the whole .img file.
    const fs::path image = fs::path(path).replace_extension(".img");
    if (!fs::exists(image, ec))
    {
      throw InputError(path, "its voxel file " + image.string() + " does not exist");
    }
    payload = StoredNiftiPayload(io, fs::path(path).replace_extension(".hdr").string(), payload, path);
    const uint64_t size = FileSize(image);
    if (size < payload)
    {
      throw InputError(path, "is truncated: " + std::to_string(size) + " of " + std::to_string(payload) +
                               " bytes of voxel data present in " + image.filename().string());
    }
  }
  else if (EndsWith(lower, ".mha") || EndsWith(lower, ".mhd"))
  {
    CheckMetaImage(path, payload);
  }
  else if (EndsWith(lower, ".nrrd") || EndsWith(lower, ".nhdr"))
  {
    CheckNrrd(path, payload);
  }
  else if (EndsWith(lower, ".png"))
  {
    CheckCompressedClaim(path, payload, FileSize(path), DeflateMaxRatio);
  }
  else
  {
    // JPEG, TIFF and others: no simple bound on their compression, only the cap.
    CheckCompressedClaim(path, payload, FileSize(path), 0);
  }
}

} // namespace medseg::detail
