// rdzd's optional TCP transport (SPEC §8.1): `listen = host:port` serves the same Bootstrap as
// the Unix socket. TCP must use TLS (kj-tls, OpenSSL; `tls_cert` + `tls_key`, PEM) unless it is
// bound to loopback, where TLS is used when cert and key are given.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include <string>

#include "daemon/service/config.h"
#include "daemon/service/rpc-server.h"

namespace rdz {

// Refuses, with a message for the operator (std::runtime_error), a configuration rdzd must not
// start with: `listen` that is not host:port, tls_cert without tls_key (or the reverse), TLS
// files without `listen`, and a `listen` that is not loopback without tls_cert and tls_key.
void checkListenConfig(const Config& config);

// Listens on config.listen and hands every connection (after its TLS handshake, if TLS) to
// `server`, peers named by IP address: the limits on unauthenticated connections count from the
// accept, handshake included. Construction binds the port (throws if it cannot, or if the
// certificate or key cannot be read). Event-loop thread only; must be destroyed before `server`.
class TcpTransport {
 public:
  TcpTransport(kj::AsyncIoContext& io, const Config& config, RpcServer& server);
  ~TcpTransport();

  // Accepts connections until the listener fails (the promise then breaks) or is dropped. A
  // connection whose TLS handshake fails or takes over 10 s is closed and logged; others go on.
  kj::Promise<void> run();

  // "tcp:127.0.0.1:7000 (TLS)" for the log.
  const std::string& description() const { return description_; }

 private:
  class HandshakeErrors : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override;
  };
  kj::Promise<void> acceptLoop();

  kj::Timer& timer_;
  RpcServer& server_;
  kj::Maybe<kj::Own<kj::TlsKeypair>> keypair_;
  kj::Maybe<kj::Own<kj::TlsContext>> tls_;
  kj::Own<kj::ConnectionReceiver> listener_;
  std::string description_;
  HandshakeErrors errors_;
  kj::TaskSet handshakes_;
};

}  // namespace rdz
