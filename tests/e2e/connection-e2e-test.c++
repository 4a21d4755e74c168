// What a connection that has not authenticated may cost rdzd (SPEC §8.1: the bootstrap interface
// only authenticates): a small message size limit, a deadline, and caps on how many there are.
// Raw sockets play the attacker; an authenticated rdz::Connection (the client library) plays the
// client that must keep working.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "client/connection.h"
#include "tests/e2e/harness.h"
#include "tests/support/smtp.h"  // freePort

namespace rdz::e2e {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t MIB = 1024 * 1024;

// A raw stream socket, closed on destruction. Sends never raise SIGPIPE and give up after 5 s.
class RawSocket {
 public:
  explicit RawSocket(int fd) : fd_(fd) {
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(RawSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RawSocket(const RawSocket&) = delete;

  static RawSocket local(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd);
      throw std::runtime_error("connect " + path + ": " + strerror(errno));
    }
    return RawSocket(fd);
  }

  static RawSocket tcp(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd);
      throw std::runtime_error("connect tcp: " + std::string(strerror(errno)));
    }
    return RawSocket(fd);
  }

  // Sends up to `size` bytes; returns how many were sent before an error (the peer closed).
  size_t sendZeros(size_t size) {
    std::vector<char> chunk(64 * 1024, 0);
    size_t sent = 0;
    while (sent < size) {
      ssize_t n = ::send(fd_, chunk.data(), std::min(chunk.size(), size - sent), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    return sent;
  }

  // The first word of a Cap'n Proto frame: one segment of `bytes` bytes (rounded to words).
  bool sendFrameHeader(size_t bytes) {
    uint32_t header[2] = {0, static_cast<uint32_t>(bytes / 8)};  // little-endian on amd64
    return ::send(fd_, header, sizeof(header), MSG_NOSIGNAL) == sizeof(header);
  }

  // True when rdzd closed the connection (EOF or reset) within `timeout`; whatever rdzd sent
  // before (an RPC Abort message) is read and dropped.
  bool closedWithin(std::chrono::milliseconds timeout) {
    auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                         SteadyClock::now());
      if (left.count() < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc == 0) return false;
      if (rc < 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EINTR) return true;  // ECONNRESET
    }
  }

 private:
  int fd_;
};

// rdzd's resident memory, from /proc.
size_t residentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  throw std::runtime_error("no VmRSS for " + std::to_string(pid));
}

std::string firstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

class ConnectionLimitsE2e : public E2eTest {
 protected:
  // An authenticated client, connected before any attacker.
  std::unique_ptr<Connection> authenticated() {
    Endpoint endpoint;
    endpoint.socket = socketPath();
    endpoint.token = firstLine(ingestTokenFile("zr7"));
    return std::make_unique<Connection>(endpoint);
  }

  // Submits one lead through `connection`; returns its id.
  static std::string submit(Connection& connection, const std::string& phone) {
    auto req = connection.ingest().submitRequest();
    Submission fields = {{"produit", "PV"},        {"nom", "Martin"},
                         {"prenom", "Lou"},        {"telephone", phone},
                         {"code_postal", "33000"}, {"consentement", "oui"}};
    auto list = req.initFields(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      list[i].setName(fields[i].name);
      list[i].setValue(fields[i].value);
    }
    return req.send().wait(connection.waitScope()).getStored().getId().cStr();
  }
};

TEST_F(ConnectionLimitsE2e, AHugeFrameBeforeAuthenticationIsRefusedAndNotHeld) {
  size_t before = residentBytes(daemon_->pid());
  std::vector<RawSocket> attackers;
  for (int i = 0; i < 3; ++i) {
    attackers.push_back(RawSocket::local(socketPath()));
    ASSERT_TRUE(attackers.back().sendFrameHeader(20 * MIB));
    // Most of the announced frame, never all of it: rdzd that waits for the rest holds it.
    size_t sent = attackers.back().sendZeros(19 * MIB);
    EXPECT_LT(sent, 19 * MIB) << "rdzd read a 20 MiB frame from a connection with no token";
  }
  for (auto& a : attackers) EXPECT_TRUE(a.closedWithin(2000ms));
  size_t after = residentBytes(daemon_->pid());
  EXPECT_LT(after, before + 16 * MIB) << "RSS " << before / MIB << " MiB -> " << after / MIB;

  // The daemon still serves, and once authenticated a message far over the limit before
  // authentication goes through (an import of 2000 rows, several segments, ~1 MiB).
  {
    auto client = authenticated();  // one Connection per thread at a time
    EXPECT_FALSE(submit(*client, "06 12 34 56 78").empty());
  }
  Endpoint endpoint;
  endpoint.socket = socketPath();
  endpoint.token = firstLine(adminTokenFile());
  Connection admin(endpoint);
  auto req = admin.admin().importLeadsRequest();
  req.setEntity(schema::Entity::MDL);
  auto rows = req.initRows(2000);
  for (uint32_t i = 0; i < rows.size(); ++i) {
    auto row = rows.init(i, 3);
    row[0].setName("nom");
    row[0].setValue(std::string(300, 'a'));
    row[1].setName("produit");
    row[1].setValue("PV");
    row[2].setName("telephone");
    row[2].setValue("06 12 34 56 78");
  }
  EXPECT_GT(req.totalSize().wordCount * 8, 512 * 1024);
  EXPECT_EQ(req.send().wait(admin.waitScope()).getRows().size(), 2000u);
}

class AuthDeadlineE2e : public ConnectionLimitsE2e {
 protected:
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--rpc.auth_timeout_ms", "300"};
  }
};

TEST_F(AuthDeadlineE2e, AConnectionThatNeverAuthenticatesIsClosedAfterTheDeadline) {
  auto client = authenticated();
  RawSocket idle = RawSocket::local(socketPath());
  auto start = SteadyClock::now();
  EXPECT_TRUE(idle.closedWithin(3000ms));
  EXPECT_GE(SteadyClock::now() - start, 250ms);
  // Past the deadline, an authenticated connection goes on.
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(submit(*client, "06 12 34 56 78").empty());
  EXPECT_NE(daemon_->log().find("not authenticated within"), std::string::npos) << daemon_->log();
}

class UnauthenticatedCapE2e : public ConnectionLimitsE2e {
 protected:
  // Every local connection has the same uid: the per-peer cap is the one reached.
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--rpc.max_unauthenticated_per_peer", "4"};
  }
};

TEST_F(UnauthenticatedCapE2e, PastTheCapNewConnectionsAreRefusedAndAuthenticatedOnesGoOn) {
  auto client = authenticated();
  std::vector<RawSocket> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(RawSocket::local(socketPath()));
  for (auto& s : idle) EXPECT_FALSE(s.closedWithin(200ms));
  RawSocket refused = RawSocket::local(socketPath());
  EXPECT_TRUE(refused.closedWithin(2000ms));
  EXPECT_FALSE(submit(*client, "06 12 34 56 78").empty());

  // A slot freed is a slot for the next one.
  idle.pop_back();
  std::this_thread::sleep_for(200ms);
  RawSocket next = RawSocket::local(socketPath());
  EXPECT_FALSE(next.closedWithin(300ms));
}

class TotalCapE2e : public ConnectionLimitsE2e {
 protected:
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--rpc.max_unauthenticated", "2"};
  }
};

TEST_F(TotalCapE2e, TheTotalCapHoldsToo) {
  auto client = authenticated();
  RawSocket a = RawSocket::local(socketPath());
  RawSocket b = RawSocket::local(socketPath());
  EXPECT_FALSE(a.closedWithin(200ms));
  RawSocket c = RawSocket::local(socketPath());
  EXPECT_TRUE(c.closedWithin(2000ms));
  EXPECT_FALSE(submit(*client, "06 12 34 56 78").empty());
}

// The same limit on the TCP listener (plain loopback here; TLS connections go through the same
// guard after their handshake).
class TcpConnectionLimitsE2e : public ConnectionLimitsE2e {
 protected:
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--listen", "127.0.0.1:" + std::to_string(port_), "--rpc.auth_timeout_ms", "300"};
  }
  int port_ = test::freePort();
};

TEST_F(TcpConnectionLimitsE2e, HugeFrameAndDeadlineOverTcp) {
  size_t before = residentBytes(daemon_->pid());
  RawSocket attacker = RawSocket::tcp(port_);
  ASSERT_TRUE(attacker.sendFrameHeader(20 * MIB));
  EXPECT_LT(attacker.sendZeros(19 * MIB), 19 * MIB);
  EXPECT_TRUE(attacker.closedWithin(2000ms));
  EXPECT_LT(residentBytes(daemon_->pid()), before + 16 * MIB);

  RawSocket idle = RawSocket::tcp(port_);
  EXPECT_TRUE(idle.closedWithin(3000ms));
}

}  // namespace
}  // namespace rdz::e2e
