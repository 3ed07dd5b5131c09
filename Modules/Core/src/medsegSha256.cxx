#include "medsegSha256.h"

#include "medsegError.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace medseg
{

namespace
{
/** Throws InputError("SHA-256", ...) naming the OpenSSL call and the first error on OpenSSL's queue. */
[[noreturn]] void
ThrowOpenSslError(const char * call)
{
  std::string problem = std::string("OpenSSL ") + call + " failed";
  const auto  code = ERR_get_error();
  if (code != 0)
  {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    problem += ": ";
    problem += text;
  }
  ERR_clear_error();
  throw InputError("SHA-256", problem);
}
} // namespace

/** Owns one EVP digest context, started for SHA-256. */
struct Sha256::Context
{
  Context()
    : m_Digest(EVP_MD_CTX_new())
  {
    if (m_Digest == nullptr)
    {
      ThrowOpenSslError("EVP_MD_CTX_new");
    }
    Restart();
  }
  ~Context() { EVP_MD_CTX_free(m_Digest); }
  Context(const Context &) = delete;
  Context &
  operator=(const Context &) = delete;

  void
  Restart()
  {
    if (EVP_DigestInit_ex(m_Digest, EVP_sha256(), nullptr) != 1)
    {
      ThrowOpenSslError("EVP_DigestInit_ex");
    }
  }

  EVP_MD_CTX * m_Digest;
};

Sha256::Sha256()
  : m_Context(std::make_unique<Context>())
{}

Sha256::~Sha256() = default;

Sha256::Sha256(const Sha256 & other)
  : m_Context(std::make_unique<Context>())
{
  if (other.m_Context && EVP_MD_CTX_copy_ex(m_Context->m_Digest, other.m_Context->m_Digest) != 1)
  {
    ThrowOpenSslError("EVP_MD_CTX_copy_ex");
  }
}

Sha256 &
Sha256::operator=(const Sha256 & other)
{
  if (this != &other)
  {
    Sha256 copy(other);
    m_Context = std::move(copy.m_Context);
  }
  return *this;
}

Sha256::Sha256(Sha256 && other) noexcept = default;

Sha256 &
Sha256::operator=(Sha256 && other) noexcept = default;

void
Sha256::Update(const void * data, size_t size)
{
  if (!m_Context) // moved from: start over
  {
    m_Context = std::make_unique<Context>();
  }
  if (size > 0 && EVP_DigestUpdate(m_Context->m_Digest, data, size) != 1)
  {
    ThrowOpenSslError("EVP_DigestUpdate");
  }
}

std::string
Sha256::HexDigest()
{
  if (!m_Context)
  {
    m_Context = std::make_unique<Context>();
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int  length = 0;
  if (EVP_DigestFinal_ex(m_Context->m_Digest, digest, &length) != 1 || length != 32)
  {
    ThrowOpenSslError("EVP_DigestFinal_ex");
  }
  m_Context->Restart();
  static const char hex[] = "0123456789abcdef";
  std::string       text;
  text.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i)
  {
    text.push_back(hex[digest[i] >> 4]);
    text.push_back(hex[digest[i] & 0xf]);
  }
  return text;
}

std::string
Sha256OfFile(const std::string & path)
{
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
  {
    throw InputError(path, "is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
  {
    throw InputError(path, "cannot open the file");
  }
  Sha256            hash;
  std::vector<char> buffer(1 << 20);
  while (in)
  {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.Update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad())
  {
    throw InputError(path, "read error while hashing the file");
  }
  return hash.HexDigest();
}

std::string
Sha256OfString(const std::string & text)
{
  Sha256 hash;
  hash.Update(text.data(), text.size());
  return hash.HexDigest();
}

} // namespace medseg
