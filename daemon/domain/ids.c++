#include "daemon/domain/ids.h"

#include <optional>

namespace rdz {

namespace {
constexpr char ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t ID_LENGTH = 13;  // ceil(64 / 5)
}  // namespace

std::string encodeId(uint64_t value) {
  std::string out(ID_LENGTH, '0');
  for (size_t i = ID_LENGTH; i-- > 0;) {
    out[i] = ALPHABET[value & 31];
    value >>= 5;
  }
  return out;
}

std::optional<uint64_t> decodeId(std::string_view text) {
  if (text.size() != ID_LENGTH || text[0] > 'F') return std::nullopt;  // 65th bit would be set
  uint64_t value = 0;
  for (char c : text) {
    const char* pos = nullptr;
    for (const char* p = ALPHABET; *p; ++p) {
      if (*p == c) pos = p;
    }
    if (pos == nullptr) return std::nullopt;
    value = (value << 5) | static_cast<uint64_t>(pos - ALPHABET);
  }
  return value;
}

std::string IdGenerator::next(Timestamp now) {
  uint64_t candidate = static_cast<uint64_t>(now.time_since_epoch().count());
  std::lock_guard lock(mutex_);
  last_ = candidate > last_ ? candidate : last_ + 1;
  return encodeId(last_);
}

}  // namespace rdz
