#include "schema/read-ahead-stream.h"

#include <algorithm>
#include <cstring>

namespace rdz {

size_t ReadAheadStream::takeAhead(kj::byte* out, size_t max) {
  size_t n = std::min(max, end_ - begin_);
  if (n > 0) {
    std::memcpy(out, ahead_ + begin_, n);
    begin_ += n;
  }
  return n;
}

kj::Promise<size_t> ReadAheadStream::tryRead(void* buffer, size_t minBytes, size_t maxBytes) {
  auto* out = static_cast<kj::byte*>(buffer);
  size_t n = takeAhead(out, maxBytes);
  if (n >= minBytes) return n;
  if (maxBytes - n >= SIZE) {
    return inner_->tryRead(out + n, minBytes - n, maxBytes - n).then([n](size_t got) {
      return n + got;
    });
  }
  return inner_->tryRead(ahead_, minBytes - n, SIZE).then([this, out, n, maxBytes](size_t got) {
    begin_ = 0;
    end_ = got;
    return n + takeAhead(out + n, maxBytes - n);
  });
}

kj::Maybe<uint64_t> ReadAheadStream::tryGetLength() {
  KJ_IF_MAYBE(length, inner_->tryGetLength()) {
    return *length + (end_ - begin_);
  }
  return nullptr;
}

}  // namespace rdz
