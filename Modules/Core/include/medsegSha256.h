#ifndef medsegSha256_h
#define medsegSha256_h

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace medseg
{

/** \brief SHA-256 (FIPS 180-4), incremental. Used for model-weight hashes and batch manifests. */
class Sha256
{
public:
  Sha256();
  void
  Update(const void * data, size_t size);
  /** Finishes and returns the digest as 64 lowercase hex characters. */
  std::string
  HexDigest();

private:
  void
  Block(const uint8_t * block);

  std::array<uint32_t, 8> m_State;
  std::array<uint8_t, 64> m_Buffer{};
  size_t                  m_Buffered{ 0 };
  uint64_t                m_Length{ 0 };
};

/** SHA-256 of a file's bytes; throws InputError(path, ...) if it cannot be read. */
std::string
Sha256OfFile(const std::string & path);

/** SHA-256 of a string. */
std::string
Sha256OfString(const std::string & text);

} // namespace medseg

#endif
