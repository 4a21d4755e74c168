#include "daemon/service/tcp-transport.h"

#include <kj/debug.h>

#include <stdexcept>

#include "daemon/domain/net-address.h"
#include "daemon/service/daemon.h"
#include "daemon/service/files.h"
#include "daemon/service/log.h"

namespace rdz {

namespace {

constexpr kj::Duration HANDSHAKE_TIMEOUT = 10 * kj::SECONDS;

// What the kernel bound: "127.0.0.1:7000" or "[::1]:7000" (kj's address text).
bool boundToLoopback(kj::StringPtr address) {
  std::string text(address.cStr());
  auto parsed = parseHostPort(text);
  return parsed && isLoopbackHost(parsed->host) && parsed->host != "localhost";
}

}  // namespace

void checkListenConfig(const Config& config) {
  bool cert = !config.tlsCert.empty();
  bool key = !config.tlsKey.empty();
  if (cert != key) {
    throw std::runtime_error("tls_cert and tls_key go together: give both or neither");
  }
  if (config.listen.empty()) {
    if (cert) throw std::runtime_error("tls_cert and tls_key need listen = host:port");
    return;
  }
  auto address = parseHostPort(config.listen);
  if (!address) {
    throw std::runtime_error("listen must be host:port (or [ipv6]:port), not '" + config.listen +
                             "'");
  }
  if (!isLoopbackHost(address->host) && !cert) {
    throw std::runtime_error("refusing to listen on " + config.listen +
                             " without TLS: TCP that is not loopback (127.0.0.0/8, ::1, "
                             "localhost) needs tls_cert and tls_key");
  }
}

void TcpTransport::HandshakeErrors::taskFailed(kj::Exception&& exception) {
  // One client's failed handshake (wrong CA, plain TCP to a TLS port, a port scan) concerns that
  // client only: logged, and the listener goes on.
  logInfo("tcp: connection refused before RPC: {}", exception.getDescription().cStr());
}

TcpTransport::TcpTransport(kj::AsyncIoContext& io, const Config& config, RpcServer& server)
    : timer_(io.provider->getTimer()), server_(server), handshakes_(errors_) {
  checkListenConfig(config);
  auto address = *parseHostPort(config.listen);
  if (!config.tlsCert.empty()) {
    std::string cert = readFile(config.tlsCert, "the TLS file tls_cert");
    std::string key = readFile(config.tlsKey, "the TLS file tls_key");
    auto keypair =
        kj::heap<kj::TlsKeypair>(kj::TlsKeypair{kj::TlsPrivateKey(kj::StringPtr(key.c_str())),
                                                kj::TlsCertificate(kj::StringPtr(cert.c_str()))});
    kj::TlsContext::Options options;
    options.useSystemTrustStore = false;  // no client certificates: the token authenticates
    options.minVersion = kj::TlsVersion::TLS_1_2;
    options.defaultKeypair = *keypair;
    tls_ = kj::heap<kj::TlsContext>(kj::mv(options));
    keypair_ = kj::mv(keypair);
  }
  auto bound = io.provider->getNetwork()
                   .parseAddress(kj::StringPtr(address.toString().c_str()))
                   .wait(io.waitScope);
  kj::String where = bound->toString();
  // A name such as "localhost" is resolved here: without TLS, what it resolved to must be
  // loopback too.
  KJ_REQUIRE(tls_ != nullptr || boundToLoopback(where),
             "listen without TLS resolved to an address that is not loopback", config.listen,
             where);
  listener_ = bound->listen();
  description_ = std::string("tcp:") + where.cStr() + (tls_ != nullptr ? " (TLS)" : " (plain)");
}

TcpTransport::~TcpTransport() = default;

kj::Promise<void> TcpTransport::run() { return acceptLoop(); }

kj::Promise<void> TcpTransport::acceptLoop() {
  return listener_->accept()
      .then(
          [this](kj::Own<kj::AsyncIoStream> connection) -> kj::Promise<void> {
            // Admitted before the handshake: a handshake is work done for an unknown peer.
            KJ_IF_MAYBE (admission, server_.admit(peerOfTcpStream(*connection))) {
              KJ_IF_MAYBE (tls, tls_) {
                handshakes_.add(
                    timer_.timeoutAfter(HANDSHAKE_TIMEOUT, (*tls)->wrapServer(kj::mv(connection)))
                        .then([this, admission = kj::mv(*admission)](
                                  kj::Own<kj::AsyncIoStream> secure) mutable {
                          server_.serve(kj::mv(secure), kj::mv(admission));
                        }));
              } else {
                server_.serve(kj::mv(connection), kj::mv(*admission));
              }
            }
            // Else the connection is dropped: closed at once.
            return kj::READY_NOW;
          },
          [this](kj::Exception&& e) {
            // Out of file descriptors, and the like: keep serving once it passes.
            return retryAfterAcceptFailure(timer_, e);
          })
      .then([this]() { return acceptLoop(); });
}

}  // namespace rdz
