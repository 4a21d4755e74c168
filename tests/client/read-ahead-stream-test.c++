// ReadAheadStream (schema/read-ahead-stream.h): what a reader gets is exactly the bytes written,
// in order, whatever the sizes of the reads and of the writes; end of stream is reported as
// such; a pipe's many small reads become few.
#include "schema/read-ahead-stream.h"

#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <string>
#include <vector>

namespace rdz {
namespace {

// Counts the reads that reach the stream under the ReadAheadStream.
class CountingStream final : public kj::AsyncIoStream {
 public:
  explicit CountingStream(kj::Own<kj::AsyncIoStream> inner) : inner_(kj::mv(inner)) {}
  size_t reads = 0;
  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    ++reads;
    return inner_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }

 private:
  kj::Own<kj::AsyncIoStream> inner_;
};

std::string pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return out;
}

TEST(ReadAheadStream, HandsOutExactlyTheBytesWrittenWhateverTheReadSizes) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();  // a socket pair, as under RPC
  auto counting = kj::heap<CountingStream>(kj::mv(pipe.ends[1]));
  CountingStream& below = *counting;
  ReadAheadStream stream(kj::mv(counting));

  // 100 KiB written in uneven pieces, then the end of the stream.
  std::string written = pattern(100 * 1024 + 17);
  auto writing = [&]() -> kj::Promise<void> {
    kj::Promise<void> chain = kj::READY_NOW;
    for (size_t at = 0, piece = 1; at < written.size(); at += piece, piece = piece * 3 % 9001 + 1) {
      size_t n = std::min(piece, written.size() - at);
      chain = chain.then([&, at, n]() { return pipe.ends[0]->write(written.data() + at, n); });
    }
    return chain.then([&]() { pipe.ends[0]->shutdownWrite(); }).eagerlyEvaluate(nullptr);
  }();

  // Reads of 8 bytes (as Cap'n Proto's first word), odd sizes, and large ones.
  std::string read;
  std::vector<size_t> sizes = {8, 8, 1, 24, 3, 40000, 8, 100, 16384, 5, 70000};
  size_t turn = 0;
  for (;;) {
    size_t want = sizes[turn++ % sizes.size()];
    std::vector<char> buffer(want);
    size_t got = stream.tryRead(buffer.data(), want, want).wait(io.waitScope);
    read.append(buffer.data(), got);
    if (got < want) break;  // the end: only there may a read come back short
  }
  writing.wait(io.waitScope);
  EXPECT_EQ(read.size(), written.size());
  EXPECT_TRUE(read == written);
  EXPECT_EQ(stream.tryRead(read.data(), 1, 1).wait(io.waitScope), 0u);
  (void)below;
}

TEST(ReadAheadStream, ManySmallMessagesInOneWriteTakeOneRead) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();  // a socket pair, as under RPC
  auto counting = kj::heap<CountingStream>(kj::mv(pipe.ends[1]));
  CountingStream& below = *counting;
  ReadAheadStream stream(kj::mv(counting));

  std::string batch = pattern(20 * 64);  // twenty 64-byte messages
  pipe.ends[0]->write(batch.data(), batch.size()).wait(io.waitScope);
  std::string read;
  for (int i = 0; i < 20; ++i) {
    char header[8], body[56];
    ASSERT_EQ(stream.tryRead(header, 8, 8).wait(io.waitScope), 8u);
    ASSERT_EQ(stream.tryRead(body, 56, 56).wait(io.waitScope), 56u);
    read.append(header, 8).append(body, 56);
  }
  EXPECT_TRUE(read == batch);
  EXPECT_EQ(below.reads, 1u);  // 40 reads served by one read of the pipe
}

}  // namespace
}  // namespace rdz
