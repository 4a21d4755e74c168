// rdz-console's configuration (SPEC §8.4, §9): one INI file read with Boost.Program_options,
// every key also a flag. With no file and no flags, the embedded default: HTTP on
// 127.0.0.1:8090, rdzd at ./rdz-data/rdzd.sock (run it in rdzd's directory). The console holds
// no token: people log in with their own name and password (users kept by rdzd).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rdz::console {

struct Config {
  std::string listen = "127.0.0.1:8090";  // host:port; port 0 picks a free one (logged)
  std::string socket = "rdz-data/rdzd.sock";
  // Instead of the socket: rdzd's TCP listener host:port, TLS verified against `caFile` (see
  // client/connection.h).
  std::string connect;
  std::string caFile;
  // HTTPS (kj-tls): required when `listen` is not loopback; then the session cookie is Secure.
  std::string tlsCert;
  std::string tlsKey;
  unsigned idleMinutes = 30;  // a browser session unused this long is closed
  // Peers whose X-Forwarded-For gives the browser's address (a local reverse proxy).
  std::vector<std::string> trustedProxies;
  // Debian's libjs-chart.js, served at /static/chart.min.js (no CDN).
  std::string chartJs = "/usr/share/javascript/chart.js/chart.min.js";
  std::string logLevel = "info";  // info | debug

  bool tls() const { return !tlsCert.empty(); }
};

// Parses argv (and the file named by --config). Returns nullopt after printing --help; throws
// std::exception with a clear message on a bad option, including a `listen` off loopback
// without tls_cert and tls_key.
std::optional<Config> parseConfig(int argc, const char* const* argv);

}  // namespace rdz::console
