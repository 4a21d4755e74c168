// SHA-256 (OpenSSL), for token hashes, idempotency body hashes and scoped keys. Pure.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace rdz {

std::array<unsigned char, 32> sha256(std::string_view data);
// Lower-case hex of `size` bytes.
std::string toHex(const unsigned char* data, size_t size);
// sha256(data) in lower-case hex: 64 characters.
std::string sha256Hex(std::string_view data);

}  // namespace rdz
