#ifndef medsegSha256_h
#define medsegSha256_h

#include <cstddef>
#include <memory>
#include <string>

namespace medseg
{

/** \brief SHA-256 (FIPS 180-4), incremental. Used for model-weight hashes and batch manifests.
 *
 * The digest is computed by OpenSSL's libcrypto (EVP interface); its context stays inside the
 * library, so this header needs no OpenSSL header. A failure inside OpenSSL (it should not happen
 * for SHA-256) throws InputError("SHA-256", ...). */
class Sha256
{
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256 & other);
  Sha256 &
  operator=(const Sha256 & other);
  Sha256(Sha256 && other) noexcept;
  Sha256 &
  operator=(Sha256 && other) noexcept;

  void
  Update(const void * data, size_t size);
  /** Finishes and returns the digest as 64 lowercase hex characters; the object then starts over,
   * as if newly constructed. */
  std::string
  HexDigest();

private:
  struct Context;
  std::unique_ptr<Context> m_Context;
};

/** SHA-256 of a file's bytes; throws InputError(path, ...) if it cannot be read. */
std::string
Sha256OfFile(const std::string & path);

/** SHA-256 of a string. */
std::string
Sha256OfString(const std::string & text);

} // namespace medseg

#endif
