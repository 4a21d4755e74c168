#include "daemon/service/rpc-server.h"

#include <arpa/inet.h>
#include <kj/debug.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <limits>
#include <vector>

#include "daemon/service/log.h"
#include "schema/read-ahead-stream.h"

namespace rdz {

namespace {

// Reads the Cap'n Proto frames coming in on `inner` as they pass (Cap'n Proto 0.9.2 framing: a
// u32 segment count - 1, a u32 size in words per segment, padding to a word, then the segments)
// and fails the read that completes a frame header announcing more than `limit` bytes. So the
// frame is refused before the message reader allocates it. Everything else is forwarded. It reads
// through a ReadAheadStream (a few socket reads for many frames), and inspects the bytes as they
// are handed to the message reader.
class FrameLimitStream final : public kj::AsyncIoStream {
 public:
  FrameLimitStream(kj::AsyncIoStream& inner, size_t limit) : inner_(inner), limit_(limit) {}

  void lift() { limit_ = std::numeric_limits<uint64_t>::max(); }

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return inner_.tryRead(buffer, minBytes, maxBytes).then([this, buffer](size_t n) {
      inspect(static_cast<const kj::byte*>(buffer), n);
      return n;
    });
  }
  kj::Maybe<uint64_t> tryGetLength() override { return inner_.tryGetLength(); }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_.write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_.write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_.whenWriteDisconnected(); }
  void shutdownWrite() override { inner_.shutdownWrite(); }
  void abortRead() override { inner_.abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_.getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_.setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_.getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_.getpeername(addr, length);
  }

 private:
  static uint32_t u32At(const std::vector<kj::byte>& bytes, size_t at) {
    return uint32_t(bytes[at]) | uint32_t(bytes[at + 1]) << 8 | uint32_t(bytes[at + 2]) << 16 |
           uint32_t(bytes[at + 3]) << 24;
  }

  void inspect(const kj::byte* data, size_t size) {
    while (size > 0) {
      if (bodyLeft_ > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(bodyLeft_, size));
        bodyLeft_ -= n;
        data += n;
        size -= n;
        continue;
      }
      header_.push_back(*data++);
      --size;
      if (header_.size() < 4) continue;
      // Cap'n Proto refuses 512 segments and more; so does this, to bound the header.
      uint64_t segments = uint64_t(u32At(header_, 0)) + 1;
      KJ_REQUIRE(segments < 512, "RPC message refused: too many segments");
      size_t headerBytes = static_cast<size_t>(((segments + 2) & ~uint64_t(1)) * 4);
      if (header_.size() < headerBytes) continue;
      uint64_t words = 0;
      for (uint64_t i = 0; i < segments; ++i) words += u32At(header_, 4 + 4 * i);
      header_.clear();
      KJ_REQUIRE(words * 8 <= limit_,
                 "RPC message refused: too large for a connection that has not authenticated",
                 words * 8, limit_);
      bodyLeft_ = words * 8;
    }
  }

  kj::AsyncIoStream& inner_;
  uint64_t limit_;
  std::vector<kj::byte> header_;  // the frame header read so far
  uint64_t bodyLeft_ = 0;          // bytes of the current frame's segments still to come
};

// Tells a connection that its Bootstrap accepted a token; outlives the connection harmlessly
// (the Bootstrap capability may be held a little longer by the RPC system).
struct AuthLink : public kj::Refcounted {
  kj::Function<void()> onAuthenticated;
  bool open = true;
};

}  // namespace

class RpcServer::Connection {
 public:
  Connection(RpcServer& server, kj::Own<kj::AsyncIoStream> stream, kj::Own<Admission> admission)
      : server_(server),
        peer_(admission->peer()),
        deadline_(admission->deadline()),
        admission_(kj::mv(admission)),
        stream_(kj::heap<ReadAheadStream>(kj::mv(stream))),
        guard_(*stream_, server.limits_.maxMessageBytesBeforeAuth),
        link_(kj::refcounted<AuthLink>()),
        network_(guard_, capnp::rpc::twoparty::Side::SERVER),
        rpc_(capnp::makeRpcServer(network_, makeBootstrap())) {
    link_->onAuthenticated = [this]() { authenticated(); };
  }
  ~Connection() noexcept(false) { link_->open = false; }
  KJ_DISALLOW_COPY(Connection);

  // Resolves when the peer disconnects or breaks a limit, or at the deadline when not
  // authenticated by then.
  kj::Promise<void> run() {
    auto deadline = server_.timer_.atTime(deadline_).then([this]() -> kj::Promise<void> {
      if (authenticated_) return kj::NEVER_DONE;
      logInfo("rpc: closing a connection not authenticated within {} ms ({})",
              server_.limits_.authTimeout / kj::MILLISECONDS, peer_);
      return kj::READY_NOW;
    });
    return network_.onDisconnect().exclusiveJoin(kj::mv(deadline));
  }

 private:
  capnp::Capability::Client makeBootstrap() {
    return newBootstrap(
        server_.context_,
        [link = kj::addRef(*link_)]() mutable {
          if (link->open) link->onAuthenticated();
        },
        peer_);
  }

  void authenticated() {
    if (authenticated_) return;  // a second authenticate on the same connection
    authenticated_ = true;
    admission_ = nullptr;  // its place among the unauthenticated is free
    guard_.lift();
  }

  RpcServer& server_;
  std::string peer_;
  kj::TimePoint deadline_;
  bool authenticated_ = false;
  kj::Own<Admission> admission_;  // null once authenticated
  kj::Own<kj::AsyncIoStream> stream_;
  FrameLimitStream guard_;
  kj::Own<AuthLink> link_;
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc_;
};

void RpcServer::ErrorHandler::taskFailed(kj::Exception&& exception) {
  // One connection's failure (a refused frame, a reset) concerns that connection only.
  logInfo("rpc: connection closed: {}", exception.getDescription().cStr());
}

RpcServer::RpcServer(ServiceContext& context, kj::Timer& timer, ConnectionLimits limits)
    : context_(context), timer_(timer), limits_(limits), connections_(errors_) {}

RpcServer::~RpcServer() noexcept(false) = default;

kj::Maybe<kj::Own<RpcServer::Admission>> RpcServer::admit(std::string peer) {
  size_t& fromPeer = perPeer_[peer];
  if (fromPeer >= limits_.maxUnauthenticatedPerPeer) {
    if (fromPeer == 0) perPeer_.erase(peer);
    refused(peer, "per peer");
    return nullptr;
  }
  if (total_ >= limits_.maxUnauthenticated) {
    if (fromPeer == 0) perPeer_.erase(peer);
    refused(peer, "in all");
    return nullptr;
  }
  ++fromPeer;
  ++total_;
  return kj::heap<Admission>(*this, kj::mv(peer), timer_.now() + limits_.authTimeout);
}

void RpcServer::release(const std::string& peer) {
  auto it = perPeer_.find(peer);
  KJ_ASSERT(it != perPeer_.end() && it->second > 0 && total_ > 0);
  if (--it->second == 0) perPeer_.erase(it);
  --total_;
}

void RpcServer::refused(const std::string& peer, const char* which) {
  // A flood of connections must not become a flood of log lines: one line per 10 s at most.
  ++refusedSinceLog_;
  kj::TimePoint now = timer_.now();
  KJ_IF_MAYBE(last, lastRefusalLog_) {
    if (now - *last < 10 * kj::SECONDS) return;
  }
  logInfo("rpc: refused {} connection(s) over the cap of unauthenticated connections {} (last: {})",
          refusedSinceLog_, which, peer);
  refusedSinceLog_ = 0;
  lastRefusalLog_ = now;
}

void RpcServer::serve(kj::Own<kj::AsyncIoStream> stream, kj::Own<Admission> admission) {
  auto connection = kj::heap<Connection>(*this, kj::mv(stream), kj::mv(admission));
  auto running = connection->run();
  connections_.add(running.attach(kj::mv(connection)));
}

void RpcServer::accept(kj::Own<kj::AsyncIoStream> stream, std::string peer) {
  KJ_IF_MAYBE(admission, admit(kj::mv(peer))) {
    serve(kj::mv(stream), kj::mv(*admission));
  }
  // Else `stream` is dropped here: the connection is closed.
}

kj::Promise<void> RpcServer::listenLocal(kj::ConnectionReceiver& listener) {
  return listener.accept().then([this, &listener](kj::Own<kj::AsyncIoStream> stream) {
    std::string peer = peerOfLocalStream(*stream);
    accept(kj::mv(stream), kj::mv(peer));
    return listenLocal(listener);
  });
}

std::string peerOfLocalStream(kj::AsyncIoStream& stream) {
  struct ucred credentials {};
  kj::uint length = sizeof(credentials);
  KJ_IF_MAYBE(e, kj::runCatchingExceptions(
                     [&]() { stream.getsockopt(SOL_SOCKET, SO_PEERCRED, &credentials, &length); })) {
    (void)e;  // not a Unix socket (a test's pipe): one peer for all
    return "local";
  }
  return "uid:" + std::to_string(credentials.uid);
}

std::string peerOfTcpStream(kj::AsyncIoStream& stream) {
  sockaddr_storage address{};
  kj::uint length = sizeof(address);
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                stream.getpeername(reinterpret_cast<sockaddr*>(&address), &length);
              })) {
    (void)e;  // not a socket: one peer for all
    return "tcp";
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* bytes = nullptr;
  if (address.ss_family == AF_INET) {
    bytes = &reinterpret_cast<sockaddr_in*>(&address)->sin_addr;
  } else if (address.ss_family == AF_INET6) {
    // TODO(security): one IPv6 peer may hold a whole /64; count per /64 if that matters.
    bytes = &reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr;
  }
  if (bytes == nullptr || ::inet_ntop(address.ss_family, bytes, text, sizeof(text)) == nullptr) {
    return "tcp";
  }
  return std::string("ip:") + text;
}

}  // namespace rdz
