// rdz-gateway's configuration (SPEC §8.3, §9): one INI file read with Boost.Program_options, where
// every key is also a command-line flag (`[zr7] token_file = …` is `--zr7.token_file …`). With no
// file and no flags, the embedded default of SPEC §9: rdzd's socket ./rdz-data/rdzd.sock, the
// ingest tokens ./rdz-data/ingest-zr7.token and ./rdz-data/ingest-mdl.token, HTTP on
// 127.0.0.1:8080, the spool in ./rdz-data/gateway-spool/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz::gateway {

// The form field naming the thank-you page (never stored as a lead field).
constexpr const char* MERCI_FIELD = "merci_url";

struct Config {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one (logged)
  std::string socket = "rdz-data/rdzd.sock";
  // Instead of the socket: rdzd's TCP listener "host:port", TLS verified against `caFile`
  // (required off loopback, where the system's store is used without it).
  std::string connect;
  std::string caFile;
  std::string tokenFile[2] = {"rdz-data/ingest-zr7.token",  // indexed by Entity
                              "rdz-data/ingest-mdl.token"};
  std::string spoolDir = "rdz-data/gateway-spool";
  // Origins allowed by CORS ("https://exemple.fr"); "*" allows any. Empty: no CORS headers.
  std::vector<std::string> corsOrigins;
  // Per client IP token bucket on lead posts: `rate` posts per second sustained, `burst` at once.
  // rate 0 disables the limit.
  double rate = 1.0;
  unsigned burst = 20;
  // Peers (IP addresses) whose X-Forwarded-For is believed, e.g. a local reverse proxy. Empty:
  // the client IP is always the connection's peer address.
  std::vector<std::string> trustedProxies;
  // Slow or idle clients (slowloris): a request's headers must arrive within `headerTimeout`, its
  // whole body within `bodyTimeout`, else the connection is closed. At most `maxConnections` open
  // at once, `maxConnectionsPerIp` of them from one peer address (trusted proxies excepted: their
  // connections carry many clients); a connection past a cap is closed at once.
  unsigned headerTimeoutMs = 10000;
  unsigned bodyTimeoutMs = 10000;
  unsigned maxConnections = 512;
  unsigned maxConnectionsPerIp = 16;
  // The spool's size cap (SPEC §10): past it, a lead that would be spooled is answered 503.
  uint64_t spoolMaxBytes = uint64_t(1) << 30;
  unsigned forwardTimeoutMs = 5000;  // a submission rdzd has not answered by then is spooled
  unsigned replayIntervalMs = 1000;  // how often the spool is retried while rdzd is away
  std::string logLevel = "info";     // info | debug
  // The hidden field of the landing pages' forms that people leave empty and robots fill: a post
  // that fills it is stored invalid (spam.honeypot) and answered as if accepted. "": none.
  std::string honeypotField;
  // Per entity, the thank-you pages a form may send its visitor to with a `merci_url` field
  // (thanks.h: URLs, or prefixes ending in '*'). Empty: the gateway's own "Merci" page.
  std::vector<std::string> merciUrls[2];  // indexed by Entity

  const std::string& tokenFileOf(Entity e) const { return tokenFile[static_cast<int>(e)]; }
  const std::vector<std::string>& merciUrlsOf(Entity e) const {
    return merciUrls[static_cast<int>(e)];
  }
};

// Parses argv (and the file named by --config). Returns nullopt after printing --help to stdout;
// throws std::exception with a clear message on a bad option.
std::optional<Config> parseConfig(int argc, const char* const* argv);

}  // namespace rdz::gateway
