#include "medsegSha256.h"

#include "medsegError.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace medseg
{

namespace
{
constexpr uint32_t roundConstants[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

inline uint32_t
RotateRight(uint32_t x, int n)
{
  return (x >> n) | (x << (32 - n));
}
} // namespace

Sha256::Sha256()
  : m_State{ { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 } }
{}

void
Sha256::Block(const uint8_t * block)
{
  uint32_t w[64];
  for (int i = 0; i < 16; ++i)
  {
    w[i] = (uint32_t{ block[4 * i] } << 24) | (uint32_t{ block[4 * i + 1] } << 16) |
           (uint32_t{ block[4 * i + 2] } << 8) | uint32_t{ block[4 * i + 3] };
  }
  for (int i = 16; i < 64; ++i)
  {
    const uint32_t s0 = RotateRight(w[i - 15], 7) ^ RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = RotateRight(w[i - 2], 17) ^ RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = m_State[0], b = m_State[1], c = m_State[2], d = m_State[3];
  uint32_t e = m_State[4], f = m_State[5], g = m_State[6], h = m_State[7];
  for (int i = 0; i < 64; ++i)
  {
    const uint32_t s1 = RotateRight(e, 6) ^ RotateRight(e, 11) ^ RotateRight(e, 25);
    const uint32_t choose = (e & f) ^ (~e & g);
    const uint32_t t1 = h + s1 + choose + roundConstants[i] + w[i];
    const uint32_t s0 = RotateRight(a, 2) ^ RotateRight(a, 13) ^ RotateRight(a, 22);
    const uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = s0 + majority;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  m_State[0] += a;
  m_State[1] += b;
  m_State[2] += c;
  m_State[3] += d;
  m_State[4] += e;
  m_State[5] += f;
  m_State[6] += g;
  m_State[7] += h;
}

void
Sha256::Update(const void * data, size_t size)
{
  const auto * bytes = static_cast<const uint8_t *>(data);
  m_Length += size;
  while (size > 0)
  {
    const size_t take = std::min(size, m_Buffer.size() - m_Buffered);
    std::memcpy(m_Buffer.data() + m_Buffered, bytes, take);
    m_Buffered += take;
    bytes += take;
    size -= take;
    if (m_Buffered == m_Buffer.size())
    {
      Block(m_Buffer.data());
      m_Buffered = 0;
    }
  }
}

std::string
Sha256::HexDigest()
{
  const uint64_t bits = m_Length * 8;
  const uint8_t  one = 0x80, zero = 0;
  Update(&one, 1);
  while (m_Buffered != 56)
  {
    Update(&zero, 1);
  }
  uint8_t length[8];
  for (int i = 0; i < 8; ++i)
  {
    length[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  }
  Update(length, 8);
  static const char hex[] = "0123456789abcdef";
  std::string       digest;
  for (const uint32_t word : m_State)
  {
    for (int shift = 28; shift >= 0; shift -= 4)
    {
      digest.push_back(hex[(word >> shift) & 0xf]);
    }
  }
  return digest;
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
