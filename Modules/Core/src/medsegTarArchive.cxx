#include "medsegTarArchive.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace medseg
{

namespace fs = std::filesystem;

namespace
{
constexpr int64_t blockSize = 512;
/** ustar's size field holds 11 octal digits, so members stay under 8 GiB, reading and writing. */
constexpr uint64_t memberSizeLimit = uint64_t{ 1 } << 33;

bool
IsPlainName(const std::string & name)
{
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

struct ArchiveReadDeleter
{
  void
  operator()(archive * a) const noexcept
  {
    archive_read_free(a);
  }
};

struct ArchiveWriteDeleter
{
  void
  operator()(archive * a) const noexcept
  {
    archive_write_free(a);
  }
};

struct ArchiveEntryDeleter
{
  void
  operator()(archive_entry * e) const noexcept
  {
    archive_entry_free(e);
  }
};

std::string
ErrorText(archive * a)
{
  const char * text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

/** \brief The archive's bytes as a tar reader wants them: gunzipped, or as they are for a plain tar.
 *
 * libarchive parses the tar stream, fed from here by zlib's inflate(). libarchive's own gzip reader
 * (3.6) skips the CRC-32 and length check of the gzip trailer, and zlib's gzread() misses a trailer
 * cut off just where its output buffer fills; this loop checks both, so a corrupt or truncated
 * archive is refused. As with gzip, further gzip members are read on and other trailing bytes
 * ignored. */
class GzipSource
{
public:
  explicit GzipSource(const std::string & path)
    : m_File(path, std::ios::binary)
  {
    m_File.read(reinterpret_cast<char *>(m_Input.data()), 2); // recognize gzip by its magic bytes
    const auto count = static_cast<size_t>(m_File.gcount());
    m_Compressed = count == 2 && m_Input[0] == 0x1f && m_Input[1] == 0x8b;
    m_Stream.next_in = m_Input.data();
    m_Stream.avail_in = static_cast<uInt>(count);
    m_Initialized = m_Compressed && inflateInit2(&m_Stream, 15 + 16) == Z_OK; // 16: gzip wrapper only
  }
  ~GzipSource()
  {
    if (m_Initialized)
    {
      inflateEnd(&m_Stream);
    }
  }
  GzipSource(const GzipSource &) = delete;
  GzipSource &
  operator=(const GzipSource &) = delete;

  bool
  IsOpen() const
  {
    return m_File.is_open() && (!m_Compressed || m_Initialized);
  }

  /** libarchive's read callback. */
  static la_ssize_t
  Read(archive * a, void * self, const void ** block)
  {
    auto *           source = static_cast<GzipSource *>(self);
    const la_ssize_t count = source->ReadBlock();
    if (count < 0)
    {
      archive_set_error(a, EIO, "%s", source->m_Problem.c_str());
    }
    *block = source->m_Output.data();
    return count;
  }

  /** Reads on to the end of the file, past the end-of-archive marker, so that the gzip trailer is
   * checked too. Returns the problem found, or an empty string. */
  std::string
  Finish()
  {
    while (ReadBlock() > 0)
    {}
    return m_Problem;
  }

  /** What went wrong in the compressed stream (empty when nothing did). */
  const std::string &
  GetProblem() const
  {
    return m_Problem;
  }

private:
  /** Fills m_Input with the next bytes of the file; false at its end. */
  bool
  Refill()
  {
    m_File.read(reinterpret_cast<char *>(m_Input.data()), static_cast<std::streamsize>(m_Input.size()));
    const auto count = static_cast<size_t>(m_File.gcount());
    if (m_File.bad())
    {
      m_Problem = "cannot read the archive (read error)";
      return false;
    }
    m_Stream.next_in = m_Input.data();
    m_Stream.avail_in = static_cast<uInt>(count);
    return count > 0;
  }

  la_ssize_t
  ReadBlock()
  {
    if (!m_Problem.empty())
    {
      return -1;
    }
    if (m_Ended)
    {
      return 0;
    }
    if (!m_Compressed)
    {
      if (m_Stream.avail_in == 0 && !Refill())
      {
        m_Ended = true;
        return m_Problem.empty() ? 0 : -1;
      }
      std::copy(m_Stream.next_in, m_Stream.next_in + m_Stream.avail_in, m_Output.begin());
      const la_ssize_t count = m_Stream.avail_in;
      m_Stream.avail_in = 0;
      return count;
    }
    m_Stream.next_out = m_Output.data();
    m_Stream.avail_out = static_cast<uInt>(m_Output.size());
    while (m_Stream.avail_out == m_Output.size()) // until some output, the end, or a problem
    {
      if (m_Stream.avail_in == 0 && !Refill())
      {
        if (!m_Problem.empty())
        {
          return -1;
        }
        if (m_InMember)
        {
          m_Problem = "the compressed data are truncated or corrupt (unexpected end of file)";
          return -1;
        }
        m_Ended = true;
        return 0;
      }
      if (!m_InMember)
      {
        if (m_Stream.next_in[0] != 0x1f) // not another gzip member: trailing bytes, ignored as gzip does
        {
          m_Ended = true;
          return 0;
        }
        inflateReset(&m_Stream);
        m_InMember = true;
      }
      const int status = inflate(&m_Stream, Z_NO_FLUSH);
      if (status == Z_STREAM_END) // the trailer's CRC-32 and length have been checked
      {
        m_InMember = false;
      }
      else if (status != Z_OK && status != Z_BUF_ERROR)
      {
        m_Problem = std::string("the compressed data are truncated or corrupt (") +
                    (m_Stream.msg != nullptr ? m_Stream.msg : "zlib error " + std::to_string(status)) + ")";
        return -1;
      }
    }
    return static_cast<la_ssize_t>(m_Output.size() - m_Stream.avail_out);
  }

  std::ifstream              m_File;
  std::vector<unsigned char> m_Input = std::vector<unsigned char>(1 << 16);
  std::vector<unsigned char> m_Output = std::vector<unsigned char>(1 << 16);
  z_stream                   m_Stream{};
  bool                       m_Compressed{ false };
  bool                       m_Initialized{ false };
  bool                       m_InMember{ false };
  bool                       m_Ended{ false };
  std::string                m_Problem;
};
} // namespace

void
WriteTarGz(const std::string & archivePath, const std::vector<std::pair<std::string, std::string>> & members)
{
  AtomicFile                                    out(archivePath);
  std::unique_ptr<archive, ArchiveWriteDeleter> writer(archive_write_new());
  if (!writer)
  {
    throw InputError(archivePath, "cannot create the archive (libarchive: out of memory)");
  }
  archive *  w = writer.get();
  const auto check = [&](int status, const std::string & what) {
    if (status != ARCHIVE_OK)
    {
      throw InputError(archivePath, what + " (" + ErrorText(w) + ")");
    }
  };
  // ustar (what every tar reads, older MedSeg versions included), gzip level 9 with no timestamp
  // in its header: the same members give the same bytes.
  check(archive_write_set_format_ustar(w), "cannot create the archive");
  check(archive_write_add_filter_gzip(w), "cannot create the archive");
  check(archive_write_set_filter_option(w, "gzip", "compression-level", "9"), "cannot create the archive");
  check(archive_write_set_filter_option(w, "gzip", "timestamp", nullptr), "cannot create the archive");
  check(archive_write_open_filename(w, out.GetTemporaryPath().c_str()), "cannot create the archive");

  std::vector<char> buffer(1 << 20);
  for (const auto & [name, file] : members)
  {
    if (!IsPlainName(name) || name.size() >= 100)
    {
      throw InputError(archivePath, "member name '" + name + "' is not a plain file name");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in)
    {
      throw InputError(file, "cannot open the file");
    }
    std::error_code sizeError;
    const uint64_t  size = fs::file_size(file, sizeError);
    if (sizeError || size >= memberSizeLimit)
    {
      throw InputError(file, sizeError ? "cannot read its size" : "is 8 GiB or larger; ustar members cannot hold it");
    }
    std::unique_ptr<archive_entry, ArchiveEntryDeleter> entry(archive_entry_new());
    if (!entry)
    {
      throw InputError(archivePath, "cannot write the archive (libarchive: out of memory)");
    }
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry.get(), 0, 0);
    check(archive_write_header(w, entry.get()), "cannot write member '" + name + "'");
    uint64_t written = 0;
    while (written < size && in)
    {
      in.read(buffer.data(), static_cast<std::streamsize>(std::min<uint64_t>(buffer.size(), size - written)));
      const auto got = static_cast<size_t>(in.gcount());
      if (got > 0 && archive_write_data(w, buffer.data(), got) != static_cast<la_ssize_t>(got))
      {
        throw InputError(archivePath, "cannot write the archive (" + ErrorText(w) + ")");
      }
      written += got;
    }
    if (in.bad() || written != size || in.peek() != std::char_traits<char>::eof())
    {
      throw InputError(file,
                       in.bad() ? "read error while archiving the file" : "changed size while it was being archived");
    }
    check(archive_write_finish_entry(w), "cannot write member '" + name + "'");
  }
  check(archive_write_close(w), "cannot finish the archive");
  writer.reset();
  out.Commit();
}

std::vector<std::string>
ExtractTar(const std::string & archivePath, const std::string & directory)
{
  GzipSource source(archivePath); // gzip-compressed or plain
  if (!source.IsOpen())
  {
    throw InputError(archivePath, "cannot open the archive");
  }
  std::unique_ptr<archive, ArchiveReadDeleter> reader(archive_read_new());
  if (!reader)
  {
    throw InputError(archivePath, "cannot open the archive (libarchive: out of memory)");
  }
  archive *  r = reader.get();
  const auto fail = [&](const std::string & problem) { throw InputError(archivePath, problem); };
  // A problem zlib found in the compressed stream comes first: libarchive only saw its effect.
  const auto failWith = [&](const std::string & problem) {
    fail(source.GetProblem().empty() ? problem + " (" + ErrorText(r) + ")" : source.GetProblem());
  };
  // Only tar (ustar, pax and GNU forms); no other format or compression is tried.
  if (archive_read_support_format_tar(r) != ARCHIVE_OK)
  {
    failWith("cannot open the archive");
  }
  if (archive_read_open(r, &source, nullptr, &GzipSource::Read, nullptr) != ARCHIVE_OK)
  {
    failWith("is not a tar archive"); // libarchive recognizes the format when it opens
  }

  std::vector<std::string> names;
  std::vector<char>        buffer(1 << 20); // one buffer for every member
  int64_t                  membersEnd = 0;  // where the last member's padded data end in the tar stream
  while (true)
  {
    archive_entry * entry = nullptr;
    const int       status = archive_read_next_header(r, &entry);
    if (status == ARCHIVE_EOF)
    {
      break;
    }
    if (status != ARCHIVE_OK) // warnings too (a malformed pax record, for one): nothing half-understood
    {
      failWith("is truncated or corrupt");
    }
    const int64_t dataStart = archive_filter_bytes(r, 0);
    const char *  path = archive_entry_pathname(entry);
    std::string   name = path != nullptr ? path : "";
    const auto    type = archive_entry_filetype(entry);
    // The "./" folder entry that `tar -C dir .` adds carries no file. (pax headers never get here:
    // libarchive applies them to the member they describe.)
    if (type == AE_IFDIR && (name == "./" || name == "."))
    {
      membersEnd = dataStart;
      continue;
    }
    if (name.rfind("./", 0) == 0)
    {
      name = name.substr(2);
    }
    if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr || archive_entry_symlink(entry) != nullptr)
    {
      fail("member '" + name + "' is not a regular file; only plain files are accepted");
    }
    if (!IsPlainName(name))
    {
      fail("member '" + name + "' is not a plain file name; sub-folders and paths are refused");
    }
    if (archive_entry_sparse_count(entry) > 0)
    {
      fail("member '" + name + "' is a sparse file; only plain files are accepted");
    }
    if (std::find(names.begin(), names.end(), name) != names.end())
    {
      fail("member '" + name + "' appears twice");
    }
    const int64_t size = archive_entry_size(entry);
    if (!archive_entry_size_is_set(entry) || size < 0 || static_cast<uint64_t>(size) >= memberSizeLimit)
    {
      fail("member '" + name + "' is 8 GiB or larger (or has no size); ustar members stay under 8 GiB");
    }
    {
      std::ofstream out(fs::path(directory) / name, std::ios::binary);
      int64_t       extracted = 0;
      while (true)
      {
        const la_ssize_t count = archive_read_data(r, buffer.data(), buffer.size());
        if (count < 0)
        {
          failWith("member '" + name + "' is truncated or corrupt");
        }
        if (count == 0)
        {
          break;
        }
        out.write(buffer.data(), static_cast<std::streamsize>(count));
        extracted += count;
      }
      out.close();
      if (!out)
      {
        fail("cannot extract member '" + name + "' into " + directory + " (disk full?)");
      }
      if (extracted != size)
      {
        fail("is truncated (member '" + name + "' is incomplete)");
      }
    }
    membersEnd = dataStart + (size + blockSize - 1) / blockSize * blockSize;
    names.push_back(name);
  }
  // libarchive accepts a tar that just stops after its last member; a MedSeg archive must end with
  // the end-of-archive marker (zero blocks), so that losing whole trailing members is noticed.
  if (archive_filter_bytes(r, 0) <= membersEnd)
  {
    fail("is truncated (no end-of-archive marker)");
  }
  const std::string problem = source.Finish();
  if (!problem.empty())
  {
    fail(problem);
  }
  return names;
}

bool
HasPackageArchiveName(const std::string & path)
{
  const std::string name = fs::path(path).filename().string();
  const auto        ends = [&](const std::string & suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".medseg") || ends(".tar.gz") || ends(".tgz") || ends(".tar");
}

bool
IsPackageArchive(const std::string & path)
{
  std::error_code ec;
  return HasPackageArchiveName(path) && fs::is_regular_file(path, ec);
}

ExtractedArchive
ExtractToTemporaryFolder(const std::string & archivePath)
{
  std::string temp = (fs::temp_directory_path() / "medseg-package-XXXXXX").string();
  if (::mkdtemp(temp.data()) == nullptr)
  {
    throw InputError(archivePath, "cannot create a temporary folder to unpack it");
  }
  ExtractedArchive archive;
  archive.source = archivePath;
  archive.folder = temp;
  archive.owner = std::shared_ptr<void>(nullptr, [temp](void *) {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
  });
  archive.names = ExtractTar(archivePath, temp);
  return archive;
}

} // namespace medseg
