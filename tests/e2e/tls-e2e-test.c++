// rdzd's TCP transport (SPEC §8.1) between the real binaries: TLS with a test CA made by the
// openssl command line, rdzctl --connect/--ca-file, and rdzd refusing a TCP listener that is not
// loopback and has no TLS.
#include <filesystem>

#include "tests/e2e/harness.h"
#include "tests/support/smtp.h"  // freePort

namespace rdz::e2e {
namespace {

using Args = std::vector<std::string>;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// rdzd on TMP/data with --listen HOST:PORT and, unless `plain`, the test CA's server certificate.
class TlsE2e : public E2eTest {
 protected:
  TlsE2e() {
    makeCa(tmp_.path(), "ca");
    makeCa(tmp_.path(), "other-ca");
    makeServerCert(tmp_.path(), "ca");
  }

  std::string listenHost() const { return "127.0.0.1"; }
  virtual bool plain() const { return false; }
  std::vector<std::string> extraDaemonArgs() const override {
    Args args = {"--listen", address()};
    if (!plain()) {
      args.insert(args.end(),
                  {"--tls_cert", tmp_ / "server.pem", "--tls_key", tmp_ / "server.key"});
    }
    return args;
  }

  std::string address() const { return listenHost() + ":" + std::to_string(port_); }

  // rdzctl --connect CONNECT [--ca-file CA] --token-file admin.token ARGS…
  RunResult tcpCtl(const std::string& connect, const std::string& ca, const Args& args,
                   const std::string& tokenFile = "") {
    Args all = {"--connect", connect};
    if (!ca.empty()) all.insert(all.end(), {"--ca-file", ca});
    all.insert(all.end(), {"--token-file", tokenFile.empty() ? adminTokenFile() : tokenFile});
    all.insert(all.end(), args.begin(), args.end());
    return run(all, inDir(tmp_.path()));
  }

  int port_ = test::freePort();
};

TEST_F(TlsE2e, RdzctlReachesRdzdOverTlsTrustingTheCaAndOnlyIt) {
  EXPECT_TRUE(contains(daemon_->log(), "listening on tcp:" + address() + " (TLS)"))
      << daemon_->log();

  RunResult r = tcpCtl(address(), tmp_ / "ca.pem", {"client", "list"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);

  // The same Bootstrap and the same database as the socket: written over TLS, read over unix.
  r = tcpCtl(address(), tmp_ / "ca.pem",
             {"client", "add", "--entity", "ZR7", "--nom", "Solaire TLS", "--email",
              "ops@solaire.example", "--id", "solaire-tls"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(ctlOk({"client", "show", "solaire-tls"}).find("nom: Solaire TLS") != std::string::npos,
            true);

  // The certificate names localhost too; the environment works like the flags.
  r = tcpCtl("localhost:" + std::to_string(port_), tmp_ / "ca.pem", {"client", "list"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  r = run({"--token-file", adminTokenFile(), "client", "show", "solaire-tls"},
          inDir(tmp_.path(), {{"RDZ_CONNECT", address()}, {"RDZ_CA_FILE", tmp_ / "ca.pem"}}));
  EXPECT_EQ(r.exitCode, 0) << describe(r);

  // Another CA: the handshake fails before anything is sent.
  r = tcpCtl(address(), tmp_ / "other-ca.pem", {"client", "list"});
  EXPECT_EQ(r.exitCode, 3) << describe(r);
  EXPECT_TRUE(contains(r.err, "not trusted")) << describe(r);
  // No CA on loopback means plain TCP, which a TLS listener does not speak.
  r = tcpCtl(address(), "", {"client", "list"});
  EXPECT_EQ(r.exitCode, 3) << describe(r);
  // A CA file that is not there.
  r = tcpCtl(address(), tmp_ / "missing.pem", {"client", "list"});
  EXPECT_EQ(r.exitCode, 3) << describe(r);
  EXPECT_TRUE(contains(r.err, "missing.pem")) << describe(r);
  // A trusted server still wants a good token.
  test::writeFile(tmp_ / "bad.token", "not-a-token\n");
  r = tcpCtl(address(), tmp_ / "ca.pem", {"client", "list"}, tmp_ / "bad.token");
  EXPECT_EQ(r.exitCode, 3) << describe(r);
  EXPECT_TRUE(contains(r.err, "not authenticated")) << describe(r);

  // The failed handshakes cost those clients only: rdzd goes on serving TCP.
  r = tcpCtl(address(), tmp_ / "ca.pem", {"client", "show", "solaire-tls"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(daemon_->running());
}

TEST_F(TlsE2e, SocketAndConnectTogetherAreAUsageError) {
  RunResult r = run({"--socket", socketPath(), "--connect", address(), "--token-file",
                     adminTokenFile(), "client", "list"});
  EXPECT_EQ(r.exitCode, 2) << describe(r);
}

// rdzd reached at an address its certificate does not name (it names 127.0.0.1, not 127.0.0.2).
class TlsOtherAddressE2e : public TlsE2e {
 protected:
  std::string otherAddress() const { return "127.0.0.2:" + std::to_string(port_); }
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--listen",          otherAddress(), "--tls_cert",
            tmp_ / "server.pem", "--tls_key",    tmp_ / "server.key"};
  }
};

TEST_F(TlsOtherAddressE2e, ACertificateForAnotherAddressIsRefused) {
  RunResult r = tcpCtl(otherAddress(), tmp_ / "ca.pem", {"client", "list"});
  EXPECT_EQ(r.exitCode, 3) << describe(r);
  EXPECT_TRUE(contains(r.err, "not trusted for 127.0.0.2")) << describe(r);
}

class PlainTcpE2e : public TlsE2e {
 protected:
  bool plain() const override { return true; }
};

TEST_F(PlainTcpE2e, LoopbackWithoutTlsIsPlainTcpAndNeverADowngrade) {
  EXPECT_TRUE(contains(daemon_->log(), "listening on tcp:" + address() + " (plain)"))
      << daemon_->log();
  RunResult r = tcpCtl(address(), "", {"client", "list"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  // A client told to trust a CA wants TLS, and a plain listener cannot give it.
  r = tcpCtl(address(), tmp_ / "ca.pem", {"client", "list"});
  EXPECT_EQ(r.exitCode, 3) << describe(r);
}

// ---- refusals at start ----------------------------------------------------------------------

TEST(TcpConfigE2e, RdzdRefusesToStartOnANonLoopbackAddressWithoutTls) {
  test::TempDir tmp;
  makeCa(tmp.path(), "ca");
  makeServerCert(tmp.path(), "ca");
  std::string port = std::to_string(test::freePort());
  RunOptions options = inDir(tmp.path());
  options.timeout = std::chrono::seconds(10);  // a daemon that started would run until killed

  RunResult r =
      runProgram(RDZD_PATH, {"--data_dir", tmp / "data", "--listen", "0.0.0.0:" + port}, options);
  EXPECT_EQ(r.exitCode, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "refusing to listen on 0.0.0.0:" + port + " without TLS"))
      << describe(r);
  EXPECT_FALSE(std::filesystem::exists(tmp / "data")) << "refused before touching anything";

  r = runProgram(
      RDZD_PATH,
      {"--data_dir", tmp / "data", "--listen", "[::]:" + port, "--tls_cert", tmp / "server.pem"},
      options);
  EXPECT_EQ(r.exitCode, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "tls_cert and tls_key go together")) << describe(r);

  r = runProgram(RDZD_PATH, {"--data_dir", tmp / "data", "--listen", "127.0.0.1"}, options);
  EXPECT_EQ(r.exitCode, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "listen must be host:port")) << describe(r);

  r = runProgram(RDZD_PATH,
                 {"--data_dir", tmp / "data", "--listen", "127.0.0.1:" + port, "--tls_cert",
                  tmp / "server.pem", "--tls_key", tmp / "no-such.key"},
                 options);
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "no-such.key")) << describe(r);
}

}  // namespace
}  // namespace rdz::e2e
