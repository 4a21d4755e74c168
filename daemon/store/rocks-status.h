// RocksDB at our boundary: its Status as an exception (the one place), its Slice as a view.
#pragma once

#include <kj/debug.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <string_view>

namespace rdz {

// OVERLOADED, not FAILED: the request was fine and nothing of it was stored, so a caller should
// retry (the gateway spools) rather than take it as a refusal.
inline void check(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) {
    kj::throwFatalException(KJ_EXCEPTION(OVERLOADED, "storage failure", what, status.ToString()));
  }
}

inline rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
inline std::string_view view(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace rdz
