// A synchronous connection to rdzd for command-line tools: connects to the Unix socket (or to
// rdzd's TCP listener, with TLS: SPEC §8.1), authenticates with a token and keeps the capabilities
// the token's role grants. One per thread (it owns that thread's event loop).
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <optional>
#include <stdexcept>
#include <chrono>
#include <string>

#include "daemon/domain/types.h"
#include "schema/rdz.capnp.h"

namespace rdz {

// rdzctl exit code 3: no daemon at the socket, or the token was refused.
class ConnectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  std::string socket;  // Unix socket path (used when `connect` is empty)
  // "host:port" of rdzd's TCP listener. With `caFile`: TLS, trusting only that CA. Without: TLS
  // trusting the system's store, except for a loopback host (127.0.0.0/8, ::1, localhost), which
  // is plain TCP.
  std::string connect;
  std::string caFile;  // PEM
  std::string token;
  // How long to keep trying when rdzd does not answer yet (starting, restarting): the connect is
  // retried every 500 ms until then. 0: one try. A refused token is never retried.
  std::chrono::seconds waitForRdzd{0};

  // "unix:PATH", "tcp:HOST:PORT" or "tls:HOST:PORT", for messages.
  std::string describe() const;
};

// Where tools find rdzd and their token when not told: flags, then RDZ_CONNECT / RDZ_SOCKET /
// RDZ_CA_FILE / RDZ_TOKEN_FILE / RDZ_TOKEN, then the embedded default in the current directory
// (./rdz-data/rdzd.sock and ./rdz-data/<defaultTokenFile>). A --socket flag wins over
// RDZ_CONNECT, a --connect flag over RDZ_SOCKET. Throws ConnectError when no token can be read.
Endpoint resolveEndpoint(const std::string& socketFlag, const std::string& tokenFileFlag,
                         const std::string& defaultTokenFile = "admin.token",
                         const std::string& connectFlag = "", const std::string& caFileFlag = "");

// Opens a stream to rdzd on this thread's event loop: the Unix socket of `endpoint`, or TCP to
// endpoint.connect, wrapped in TLS (verified against endpoint.caFile, or the system's store)
// unless it is plain loopback without a CA file; read through a ReadAheadStream. Used by
// Connection, the gateway and rdz-bench.
kj::Promise<kj::Own<kj::AsyncIoStream>> openStream(kj::Network& network, kj::UnixEventPort& port,
                                                   const Endpoint& endpoint);

// A KJ exception's description as a person should read it: without KJ's "remote exception: ",
// "requirement not met: " and "expected <condition>; " prefixes.
std::string cleanError(std::string description);

// Reads the first line of a token file, trimmed. Throws ConnectError.
std::string readTokenFile(const std::string& path);

class Connection {
 public:
  // Throws ConnectError when rdzd does not answer (10 s at most to connect, and for the TLS
  // handshake), its TLS certificate is not trusted, or the token is refused.
  explicit Connection(const Endpoint& endpoint);
  ~Connection();

  kj::WaitScope& waitScope() { return io_.waitScope; }
  kj::Timer& timer() { return io_.provider->getTimer(); }
  schema::Role role() const { return role_; }
  std::optional<Entity> entity() const { return entity_; }
  // The capabilities of the session; null ones throw "this token may not …" on use.
  schema::Ingest::Client ingest();
  schema::Viewer::Client viewer();
  schema::Admin::Client admin();

 private:
  kj::AsyncIoContext io_;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
  schema::Role role_ = schema::Role::VIEWER;
  std::optional<Entity> entity_;
  kj::Maybe<schema::Ingest::Client> ingest_;
  kj::Maybe<schema::Viewer::Client> viewer_;
  kj::Maybe<schema::Admin::Client> admin_;
};

}  // namespace rdz
