// Server-assigned ids: unique, time-ordered, printable (SPEC §3.1).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz {

// 13 characters of Crockford base32 (0-9, A-Z without I L O U) of a 64-bit value, so that the
// lexicographic order of ids is the numeric order of values.
std::string encodeId(uint64_t value);
// The inverse; nullopt when `text` is not such an id.
std::optional<uint64_t> decodeId(std::string_view text);

// Hands out strictly increasing values derived from the clock (µs since epoch): max(now,
// last + 1). Seeded with the largest value already used, so ids stay unique across restarts
// even when the clock steps back. Thread-safe.
class IdGenerator {
 public:
  explicit IdGenerator(uint64_t lastUsed = 0) : last_(lastUsed) {}
  std::string next(Timestamp now);

 private:
  std::mutex mutex_;
  uint64_t last_;
};

}  // namespace rdz
