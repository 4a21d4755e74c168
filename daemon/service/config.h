// rdzd's configuration (SPEC §9): one INI file read with Boost.Program_options, where every key
// is also a command-line flag (`[zr7.smtp] host = …` is `--zr7.smtp.host …`). With no file and
// no flags, the embedded default: data in ./rdz-data, socket ./rdz-data/rdzd.sock, SMTP to
// 127.0.0.1:2525 without TLS for both entities, tokens generated on first start.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

struct SmtpConfig {
  std::string host = "127.0.0.1";
  int port = 2525;
  std::string security = "none";  // ssl | starttls | none
  std::string user;
  std::string passwordFile;  // the password itself never sits in the config
  std::string from;
  std::string fromName;
  std::string bcc;
  // PEM file of the CA(s) that may sign the server's certificate (ssl and starttls); when set,
  // only these are trusted, not the system's store. Empty: the system's trusted CAs.
  std::string caFile;
  // One send, connection and TLS handshake included, gives up after this long (a server that
  // greets and then stalls must not hold the entity's Sender for ever).
  int timeoutMs = 60000;
};

struct Config {
  std::string dataDir = "rdz-data";
  std::string socket;      // default: <dataDir>/rdzd.sock
  std::string tokensFile;  // SHA-256 hashes; default: <dataDir>/tokens (generated if missing)
  std::string listen;      // optional TCP "host:port"
  std::string tlsCert;
  std::string tlsKey;
  std::string templatesDir;
  std::string deliveryTime = "09:30";  // Europe/Paris
  int freshDays = 8;
  int lbDays = 30;
  int dedupDays = 30;
  SmtpConfig smtp[2];  // indexed by Entity
  // Limits on RPC connections that have not authenticated yet (rpc-server.h), both transports.
  int authTimeoutMs = 10000;
  int maxUnauthenticated = 256;
  int maxUnauthenticatedPerPeer = 32;  // per uid on the Unix socket, per IP address over TCP
  int maxMessageBeforeAuth = 64 * 1024;  // bytes
  // The spool's age limit: a gateway's acceptance time older than this (or in rdzd's future) is
  // not taken as recu_le; rdzd's own time is, and the history says why.
  int spoolMaxAgeHours = 168;
  std::string logLevel = "info";
  // The Prometheus metrics listener (SPEC §11), "host:port" once parsed: empty for none; a bare
  // "PORT" or ":PORT" is made "127.0.0.1:PORT". Not loopback is allowed: then anyone who reaches
  // the port reads the counters, without authentication.
  std::string metricsListen;

  std::string socketPath() const { return socket.empty() ? dataDir + "/rdzd.sock" : socket; }
  std::string tokensPath() const { return tokensFile.empty() ? dataDir + "/tokens" : tokensFile; }
};

// Parses argv (and the file named by --config). Returns nullopt after printing --help or
// --version to stdout; throws std::exception with a clear message on a bad option.
std::optional<Config> parseConfig(int argc, const char* const* argv);

}  // namespace rdz
