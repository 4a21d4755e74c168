#include "client/connection.h"

#include <cstring>

#include <kj/debug.h>

#include <cstdlib>
#include <fstream>

#include "client/tls-client.h"
#include "daemon/domain/net-address.h"
#include "daemon/domain/validation.h"
#include "schema/read-ahead-stream.h"

namespace rdz {

namespace {

constexpr kj::Duration CONNECT_TIMEOUT = 10 * kj::SECONDS;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

std::string readTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConnectError("cannot read token file " + path);
  std::string line;
  std::getline(in, line);
  line = trim(line);
  if (line.empty()) throw ConnectError("token file is empty: " + path);
  return line;
}

std::string Endpoint::describe() const {
  if (connect.empty()) return "unix:" + socket;
  auto address = parseHostPort(connect);
  bool plain = caFile.empty() && address && isLoopbackHost(address->host);
  return (plain ? "tcp:" : "tls:") + connect;
}

Endpoint resolveEndpoint(const std::string& socketFlag, const std::string& tokenFileFlag,
                         const std::string& defaultTokenFile, const std::string& connectFlag,
                         const std::string& caFileFlag) {
  Endpoint endpoint;
  if (!connectFlag.empty()) {
    endpoint.connect = connectFlag;
  } else if (socketFlag.empty()) {
    endpoint.connect = env("RDZ_CONNECT");
  }
  endpoint.socket = !socketFlag.empty()          ? socketFlag
                    : !env("RDZ_SOCKET").empty() ? env("RDZ_SOCKET")
                                                 : "rdz-data/rdzd.sock";
  endpoint.caFile = !caFileFlag.empty() ? caFileFlag : env("RDZ_CA_FILE");
  if (!tokenFileFlag.empty()) {
    endpoint.token = readTokenFile(tokenFileFlag);
  } else if (!env("RDZ_TOKEN_FILE").empty()) {
    endpoint.token = readTokenFile(env("RDZ_TOKEN_FILE"));
  } else if (!env("RDZ_TOKEN").empty()) {
    endpoint.token = trim(env("RDZ_TOKEN"));
  } else {
    endpoint.token = readTokenFile("rdz-data/" + defaultTokenFile);
  }
  return endpoint;
}

namespace {

kj::Promise<kj::Own<kj::AsyncIoStream>> connectTo(kj::Network& network, kj::UnixEventPort& port,
                                                  const Endpoint& endpoint) {
  if (endpoint.connect.empty()) {
    return network.parseAddress(kj::str("unix:", endpoint.socket.c_str()))
        .then([](kj::Own<kj::NetworkAddress> address) {
          return address->connect().attach(kj::mv(address));
        });
  }
  auto tcp = parseHostPort(endpoint.connect);
  KJ_REQUIRE(tcp.has_value(), "rdzd's address must be HOST:PORT", endpoint.connect);
  bool tls = !endpoint.caFile.empty() || !isLoopbackHost(tcp->host);
  return network.parseAddress(kj::str(tcp->toString().c_str()))
      .then([](kj::Own<kj::NetworkAddress> address) {
        return address->connect().attach(kj::mv(address));
      })
      .then([tls, &port, host = tcp->host, caFile = endpoint.caFile](
                kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<kj::Own<kj::AsyncIoStream>> {
        if (!tls) return kj::mv(stream);
        return connectTls(port, kj::mv(stream), host, caFile);
      });
}

}  // namespace

kj::Promise<kj::Own<kj::AsyncIoStream>> openStream(kj::Network& network, kj::UnixEventPort& port,
                                                   const Endpoint& endpoint) {
  return connectTo(network, port, endpoint).then([](kj::Own<kj::AsyncIoStream> stream) {
    return kj::Own<kj::AsyncIoStream>(kj::heap<ReadAheadStream>(kj::mv(stream)));
  });
}

Connection::Connection(const Endpoint& endpoint) : io_(kj::setupAsyncIo()) {
  std::string where = endpoint.describe();
  if (!endpoint.connect.empty() && !parseHostPort(endpoint.connect)) {
    throw ConnectError("--connect must be HOST:PORT, not '" + endpoint.connect + "'");
  }
  auto deadline = std::chrono::steady_clock::now() + endpoint.waitForRdzd;
  for (;;) {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                  auto connecting =
                      openStream(io_.provider->getNetwork(), io_.unixEventPort, endpoint);
                  stream_ = io_.provider->getTimer()
                                .timeoutAfter(CONNECT_TIMEOUT, kj::mv(connecting))
                                .wait(io_.waitScope);
                })) {
      if (std::chrono::steady_clock::now() < deadline) {
        io_.provider->getTimer().afterDelay(500 * kj::MILLISECONDS).wait(io_.waitScope);
        continue;
      }
      throw ConnectError("cannot connect to rdzd at " + where + ": " +
                         e->getDescription().cStr());
    }
    break;
  }
  rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
  auto bootstrap = rpc_->bootstrap().castAs<schema::Bootstrap>();
  auto request = bootstrap.authenticateRequest();
  request.setToken(endpoint.token);
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                auto response = request.send().wait(io_.waitScope);
                auto session = response.getSession();
                role_ = session.getRole();
                if (session.getEntity().isOne()) {
                  entity_ = static_cast<Entity>(session.getEntity().getOne());
                }
                switch (role_) {
                  case schema::Role::INGEST: ingest_ = session.getIngest(); break;
                  case schema::Role::VIEWER: viewer_ = session.getViewer(); break;
                  case schema::Role::ADMIN:
                    viewer_ = session.getViewer();
                    admin_ = session.getAdmin();
                    break;
                }
              })) {
    std::string what = e->getDescription().cStr();
    if (what.find("not authenticated") != std::string::npos) {
      throw ConnectError("not authenticated: rdzd refused the token");
    }
    throw ConnectError("cannot talk to rdzd at " + where + ": " + what);
  }
}

Connection::~Connection() = default;

schema::Ingest::Client Connection::ingest() {
  KJ_IF_MAYBE(c, ingest_) { return *c; }
  KJ_FAIL_REQUIRE("this token may not submit leads as an ingest token");
}
schema::Viewer::Client Connection::viewer() {
  KJ_IF_MAYBE(c, viewer_) { return *c; }
  KJ_FAIL_REQUIRE("this token may not read (it is an ingest token)");
}
schema::Admin::Client Connection::admin() {
  KJ_IF_MAYBE(c, admin_) { return *c; }
  KJ_FAIL_REQUIRE("this token may not do that: admin token required");
}

std::string cleanError(std::string d) {
  for (const char* prefix : {"remote exception: ", "requirement not met: "}) {
    if (d.rfind(prefix, 0) == 0) d.erase(0, strlen(prefix));
  }
  if (d.rfind("expected ", 0) == 0) {
    size_t semi = d.find("; ");
    if (semi != std::string::npos) d.erase(0, semi + 2);
  }
  return d;
}

}  // namespace rdz
