#include "daemon/domain/digest.h"

#include <kj/debug.h>
#include <openssl/evp.h>

namespace rdz {

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  KJ_ASSERT(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

std::string toHex(const unsigned char* data, size_t size) {
  static const char DIGITS[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += DIGITS[data[i] >> 4];
    out += DIGITS[data[i] & 15];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  auto h = sha256(data);
  return toHex(h.data(), h.size());
}

}  // namespace rdz
