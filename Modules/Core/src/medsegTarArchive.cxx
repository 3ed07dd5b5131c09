#include "medsegTarArchive.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace medseg
{

namespace fs = std::filesystem;

namespace
{
constexpr size_t blockSize = 512;

bool
IsPlainName(const std::string & name)
{
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

void
WriteOctal(char * field, size_t width, uint64_t value)
{
  // width - 1 octal digits and a NUL, as ustar wants.
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

uint64_t
ReadOctal(const char * field, size_t width)
{
  uint64_t value = 0;
  for (size_t i = 0; i < width && field[i] != '\0' && field[i] != ' '; ++i)
  {
    if (field[i] < '0' || field[i] > '7')
    {
      throw std::runtime_error("bad octal field");
    }
    value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return value;
}

unsigned
Checksum(const char * header)
{
  unsigned sum = 0;
  for (size_t i = 0; i < blockSize; ++i)
  {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum;
}
} // namespace

void
WriteTarGz(const std::string & archivePath, const std::vector<std::pair<std::string, std::string>> & members)
{
  AtomicFile out(archivePath);
  gzFile     gz = gzopen(out.GetTemporaryPath().c_str(), "wb9");
  if (gz == nullptr)
  {
    throw InputError(archivePath, "cannot create the archive");
  }
  const auto write = [&](const void * data, size_t n) {
    if (n > 0 && gzwrite(gz, data, static_cast<unsigned>(n)) != static_cast<int>(n))
    {
      gzclose(gz);
      throw InputError(archivePath, "cannot write the archive");
    }
  };
  for (const auto & [name, file] : members)
  {
    if (!IsPlainName(name) || name.size() >= 100)
    {
      gzclose(gz);
      throw InputError(archivePath, "member name '" + name + "' is not a plain file name");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in)
    {
      gzclose(gz);
      throw InputError(file, "cannot open the file");
    }
    std::error_code sizeError;
    const uint64_t  size = fs::file_size(file, sizeError);
    if (sizeError || size >= (uint64_t{ 1 } << 33))
    {
      gzclose(gz);
      throw InputError(file, sizeError ? "cannot read its size" : "is 8 GiB or larger; ustar members cannot hold it");
    }
    char           header[blockSize] = {};
    std::memcpy(header, name.data(), name.size());
    WriteOctal(header + 100, 8, 0644);
    WriteOctal(header + 108, 8, 0);
    WriteOctal(header + 116, 8, 0);
    WriteOctal(header + 124, 12, size);
    WriteOctal(header + 136, 12, 0);
    header[156] = '0';
    std::memcpy(header + 257, "ustar", 6);
    std::memcpy(header + 263, "00", 2);
    std::snprintf(header + 148, 8, "%06o", Checksum(header));
    header[155] = ' ';
    write(header, blockSize);
    std::vector<char> buffer(1 << 20);
    uint64_t          written = 0;
    while (in)
    {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      write(buffer.data(), static_cast<size_t>(in.gcount()));
      written += static_cast<uint64_t>(in.gcount());
    }
    const char zeros[blockSize] = {};
    write(zeros, (blockSize - written % blockSize) % blockSize);
  }
  const char end[2 * blockSize] = {};
  write(end, sizeof(end));
  if (gzclose(gz) != Z_OK)
  {
    throw InputError(archivePath, "cannot finish the archive");
  }
  out.Commit();
}

std::vector<std::string>
ExtractTar(const std::string & archivePath, const std::string & directory)
{
  gzFile gz = gzopen(archivePath.c_str(), "rb"); // reads plain files transparently too
  if (gz == nullptr)
  {
    throw InputError(archivePath, "cannot open the archive");
  }
  std::vector<std::string> names;
  const auto               fail = [&](const std::string & problem) {
    gzclose(gz);
    throw InputError(archivePath, problem);
  };
  const auto read = [&](void * data, size_t n) {
    return gzread(gz, data, static_cast<unsigned>(n)) == static_cast<int>(n);
  };
  bool              ended = false;
  std::vector<char> buffer(1 << 20); // one buffer for every member
  while (true)
  {
    char header[blockSize];
    if (!read(header, blockSize))
    {
      break;
    }
    if (std::all_of(header, header + blockSize, [](char c) { return c == 0; }))
    {
      ended = true;
      break;
    }
    uint64_t size = 0;
    unsigned stored = 0;
    try
    {
      size = ReadOctal(header + 124, 12);
      stored = static_cast<unsigned>(ReadOctal(header + 148, 8));
    }
    catch (const std::runtime_error &)
    {
      fail("is not a tar archive (bad header)");
    }
    if (stored != Checksum(header))
    {
      fail("is not a tar archive or is corrupt (header checksum mismatch)");
    }
    std::string name(header, strnlen(header, 100));
    const char  type = header[156];
    const bool  hasPrefix = std::memcmp(header + 257, "ustar", 5) == 0 && header[345] != '\0';
    const auto skip = [&](uint64_t bytes) {
      bytes += (blockSize - bytes % blockSize) % blockSize;
      while (bytes > 0)
      {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(bytes, buffer.size()));
        if (!read(buffer.data(), take))
          fail("is truncated (an entry is incomplete)");
        bytes -= take;
      }
    };
    // Metadata that tar programs add (pax headers; the "./" folder entry) carries no file.
    if (type == 'x' || type == 'g' || (type == '5' && (name == "./" || name == ".")))
    {
      skip(type == '5' ? 0 : size);
      continue;
    }
    if (name.rfind("./", 0) == 0)
    {
      name = name.substr(2);
    }
    if (type != '0' && type != '\0')
    {
      fail("member '" + name + "' is not a regular file; only plain files are accepted");
    }
    if (hasPrefix || !IsPlainName(name))
    {
      fail("member '" + name + "' is not a plain file name; sub-folders and paths are refused");
    }
    if (std::find(names.begin(), names.end(), name) != names.end())
    {
      fail("member '" + name + "' appears twice");
    }
    {
      std::ofstream out(fs::path(directory) / name, std::ios::binary);
      uint64_t      remaining = size;
      while (remaining > 0)
      {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, buffer.size()));
        if (!read(buffer.data(), take))
        {
          fail("is truncated (member '" + name + "' is incomplete)");
        }
        out.write(buffer.data(), static_cast<std::streamsize>(take));
        remaining -= take;
      }
      out.close();
      if (!out)
      {
        fail("cannot extract member '" + name + "' into " + directory + " (disk full?)");
      }
    }
    const size_t padding = static_cast<size_t>((blockSize - size % blockSize) % blockSize);
    if (padding > 0 && !read(buffer.data(), padding))
    {
      fail("is truncated (member '" + name + "' is incomplete)");
    }
    names.push_back(name);
  }
  int          code = Z_OK;
  const char * message = gzerror(gz, &code);
  if (code != Z_OK && code != Z_STREAM_END)
  {
    fail(std::string("the compressed data are truncated or corrupt (") + (message ? message : "") + ")");
  }
  gzclose(gz);
  if (!ended)
  {
    throw InputError(archivePath, "is truncated (no end-of-archive marker)");
  }
  return names;
}

} // namespace medseg
