// The byte stream under every Cap'n Proto RPC connection of RDZ (rdzd's side and its clients').
//
// Cap'n Proto 0.9.2 reads each message in two or three small reads (its first word, the rest of
// its segment table, its segments), each one a system call on a socket. ReadAheadStream serves
// small reads from one larger read of what the socket holds, so a busy connection (several
// requests and answers in flight, a request and the Finish of the one before arriving together)
// costs about one read per batch of messages instead of two or three per message. Large reads go
// straight into the caller's buffer. Writes and socket options pass through.
#pragma once

#include <kj/async-io.h>

namespace rdz {

class ReadAheadStream final : public kj::AsyncIoStream {
 public:
  explicit ReadAheadStream(kj::Own<kj::AsyncIoStream> inner) : inner_(kj::mv(inner)) {}
  KJ_DISALLOW_COPY(ReadAheadStream);

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override;
  kj::Maybe<uint64_t> tryGetLength() override;
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }

 private:
  static constexpr size_t SIZE = 8192;
  // Moves up to `max` bytes read ahead into `out`; returns how many.
  size_t takeAhead(kj::byte* out, size_t max);

  kj::Own<kj::AsyncIoStream> inner_;
  kj::byte ahead_[SIZE];  // read from the socket, not yet handed out: ahead_[begin_, end_)
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace rdz
