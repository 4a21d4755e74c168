// rdzd's RPC connections, for every transport (Unix socket, TCP, TLS). What a connection that
// has not authenticated yet may cost is bounded (SPEC §8.1: the bootstrap interface only
// authenticates):
//  - its messages: at most ConnectionLimits::maxMessageBytesBeforeAuth each, checked on the
//    frame header before Cap'n Proto allocates the frame; past it the connection is closed;
//  - its time: closed when not authenticated within authTimeout of its accept;
//  - how many there are: at most maxUnauthenticatedPerPeer per peer (uid on the Unix socket, IP
//    address over TCP) and maxUnauthenticated in all; past a cap a new connection is closed at
//    once. Authenticated connections do not count.
// Once a token is accepted on a connection these limits no longer apply to it (Cap'n Proto's
// own traversal limit, 64 MiB, still does).
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <map>
#include <string>

#include "daemon/service/server.h"

namespace rdz {

struct ConnectionLimits {
  size_t maxMessageBytesBeforeAuth = 64 * 1024;
  kj::Duration authTimeout = 10 * kj::SECONDS;
  size_t maxUnauthenticated = 256;
  size_t maxUnauthenticatedPerPeer = 32;
};

// Serves RPC connections with the Bootstrap of `context`, in place of capnp::TwoPartyServer.
// Event-loop thread only. Destroying it closes every connection.
class RpcServer {
 public:
  RpcServer(ServiceContext& context, kj::Timer& timer, ConnectionLimits limits);
  ~RpcServer() noexcept(false);

  // A connection's place among the unauthenticated ones, from its accept until it authenticates
  // or closes. Must not outlive the RpcServer.
  class Admission {
   public:
    Admission(RpcServer& server, std::string peer, kj::TimePoint deadline)
        : server_(server), peer_(kj::mv(peer)), deadline_(deadline) {}
    ~Admission() { server_.release(peer_); }
    KJ_DISALLOW_COPY(Admission);

    const std::string& peer() const { return peer_; }
    kj::TimePoint deadline() const { return deadline_; }

   private:
    RpcServer& server_;
    std::string peer_;
    kj::TimePoint deadline_;
  };

  // A place for a new connection from `peer`, or null when a cap is reached (the caller then
  // closes the connection). The authentication deadline starts now.
  kj::Maybe<kj::Own<Admission>> admit(std::string peer);
  // Serves `stream` until it disconnects, fails a limit, or misses its deadline.
  void serve(kj::Own<kj::AsyncIoStream> stream, kj::Own<Admission> admission);
  // admit() then serve(); a refused stream is closed.
  void accept(kj::Own<kj::AsyncIoStream> stream, std::string peer);
  // Accepts from `listener` (peers named by peerOfLocalStream) until an accept fails; the
  // promise then breaks.
  kj::Promise<void> listenLocal(kj::ConnectionReceiver& listener);

  size_t unauthenticated() const { return total_; }

 private:
  class Connection;
  class ErrorHandler : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override;
  };
  void release(const std::string& peer);
  void refused(const std::string& peer, const char* which);

  ServiceContext& context_;
  kj::Timer& timer_;
  ConnectionLimits limits_;
  size_t total_ = 0;
  std::map<std::string, size_t> perPeer_;
  size_t refusedSinceLog_ = 0;
  kj::Maybe<kj::TimePoint> lastRefusalLog_;
  ErrorHandler errors_;
  kj::TaskSet connections_;
};

// "uid:1000" for a Unix socket peer (SO_PEERCRED); "local" when the stream cannot tell.
std::string peerOfLocalStream(kj::AsyncIoStream& stream);
// "ip:192.0.2.7" for a TCP peer; "tcp" when the stream cannot tell.
std::string peerOfTcpStream(kj::AsyncIoStream& stream);

}  // namespace rdz
