#include "tools/gateway/config.h"

#include <boost/program_options.hpp>

#include <cmath>
#include <fstream>
#include <iostream>

#include "daemon/domain/validation.h"
#include "tools/gateway/thanks.h"

namespace rdz::gateway {

namespace po = boost::program_options;

namespace {

// "a, b,c" -> {"a","b","c"}; every occurrence of a repeated flag or key adds to the list.
std::vector<std::string> splitList(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string item = value.substr(start, comma - start);
      size_t b = item.find_first_not_of(" \t");
      size_t e = item.find_last_not_of(" \t");
      if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace

std::optional<Config> parseConfig(int argc, const char* const* argv) {
  Config c;
  std::string configFile;
  std::vector<std::string> cors;
  std::vector<std::string> proxies;
  std::vector<std::string> merci[2];
  po::options_description general(
      "rdz-gateway — the public ingestion gateway of RDZ: HTTP lead posts in, RPC to rdzd out,\n"
      "a durable spool while rdzd is away.\n\n"
      "Usage: rdz-gateway [--config FILE] [options]\n"
      "Every option can also be set in the INI file; [section] key = value is --section.key "
      "value.\nWith no options: the embedded default, for an rdzd started in the same directory\n"
      "(./rdz-data).\n\n"
      "Endpoints: POST /v1/leads/{zr7|mdl} (application/json or\n"
      "application/x-www-form-urlencoded, optional Idempotency-Key), GET /healthz, GET /metrics."
      "\n\nOptions");
  general.add_options()("help,h", "print this help and exit")("config,c", po::value(&configFile),
                                                              "INI configuration file")(
      "listen", po::value(&c.listen)->default_value(c.listen),
      "HTTP listen address host:port (port 0: any free port, logged)")(
      "socket", po::value(&c.socket)->default_value(c.socket), "rdzd's Unix socket")(
      "connect", po::value(&c.connect),
      "rdzd's TCP listener host:port, instead of the socket (TLS unless plain loopback)")(
      "ca_file", po::value(&c.caFile), "CA (PEM) that rdzd's TLS certificate must chain to")(
      "zr7.token_file", po::value(&c.tokenFile[0])->default_value(c.tokenFile[0]),
      "ZR7 ingest token file (first line)")(
      "mdl.token_file", po::value(&c.tokenFile[1])->default_value(c.tokenFile[1]),
      "MDL ingest token file (first line)")("spool_dir",
                                            po::value(&c.spoolDir)->default_value(c.spoolDir),
                                            "durable spool directory (created, mode 0700)")(
      "cors_origins", po::value(&cors)->composing(),
      "allowed CORS origins, comma-separated or repeated; * allows any (default: none)")(
      "rate", po::value(&c.rate)->default_value(c.rate, "1"),
      "lead posts per second per client IP, sustained (0: no limit)")(
      "burst", po::value(&c.burst)->default_value(c.burst),
      "lead posts per client IP allowed at once")(
      "trusted_proxies", po::value(&proxies)->composing(),
      "peer IPs whose X-Forwarded-For gives the client IP, comma-separated (default: none; "
      "the peer address is the client)")(
      "header_timeout_ms", po::value(&c.headerTimeoutMs)->default_value(c.headerTimeoutMs),
      "a request's headers must arrive within this, else the connection is closed")(
      "body_timeout_ms", po::value(&c.bodyTimeoutMs)->default_value(c.bodyTimeoutMs),
      "a request's whole body must arrive within this, else 408 and the connection is closed")(
      "max_connections", po::value(&c.maxConnections)->default_value(c.maxConnections),
      "open connections at most; past it new ones are closed at once")(
      "max_connections_per_ip",
      po::value(&c.maxConnectionsPerIp)->default_value(c.maxConnectionsPerIp),
      "open connections at most from one peer address (trusted proxies excepted)")(
      "spool_max_bytes", po::value(&c.spoolMaxBytes)->default_value(c.spoolMaxBytes),
      "spool size cap in bytes; past it a lead that must be spooled is answered 503")(
      "forward_timeout_ms", po::value(&c.forwardTimeoutMs)->default_value(c.forwardTimeoutMs),
      "a lead rdzd has not acknowledged by then is spooled (202)")(
      "replay_interval_ms", po::value(&c.replayIntervalMs)->default_value(c.replayIntervalMs),
      "how often the spool is replayed while rdzd is away")(
      "log_level", po::value(&c.logLevel)->default_value(c.logLevel),
      "info | debug (debug: one line per request: method, path, status)")(
      "honeypot_field", po::value(&c.honeypotField),
      "name of the forms' hidden field robots fill: a post that fills it is stored invalid "
      "(spam.honeypot) and answered as if accepted (default: none)")(
      "zr7.merci_urls", po::value(&merci[0])->composing(),
      "ZR7 thank-you pages a form may name in its merci_url field (303 after the post): URLs, "
      "or prefixes ending in *, comma-separated or repeated (default: none)")(
      "mdl.merci_urls", po::value(&merci[1])->composing(), "the same for MDL");

  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, general), vm);
  if (vm.count("help")) {
    std::cout << general << "\n";
    return std::nullopt;
  }
  if (vm.count("config")) {
    std::string path = vm["config"].as<std::string>();
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read config file " + path);
    po::store(po::parse_config_file(in, general), vm);  // flags given first win
  }
  po::notify(vm);
  c.corsOrigins = splitList(cors);
  c.trustedProxies = splitList(proxies);
  for (int e = 0; e < 2; ++e) {
    c.merciUrls[e] = splitList(merci[e]);
    ThanksPages check(c.merciUrls[e]);  // throws naming a bad entry
  }
  if (!c.honeypotField.empty() &&
      (isLeadField(c.honeypotField) || c.honeypotField == MERCI_FIELD ||
       c.honeypotField.size() > 64)) {
    throw std::runtime_error("honeypot_field: at most 64 bytes, not a lead field nor merci_url");
  }
  if (!std::isfinite(c.rate) || c.rate < 0) throw std::runtime_error("rate must be >= 0");
  if (c.rate > 0 && c.burst < 1) throw std::runtime_error("burst must be at least 1");
  for (unsigned value :
       {c.headerTimeoutMs, c.bodyTimeoutMs, c.maxConnections, c.maxConnectionsPerIp}) {
    if (value < 1) {
      throw std::runtime_error(
          "header_timeout_ms, body_timeout_ms, max_connections and "
          "max_connections_per_ip must be >= 1");
    }
  }
  if (c.spoolMaxBytes < (1 << 20)) throw std::runtime_error("spool_max_bytes must be >= 1048576");
  if (c.forwardTimeoutMs < 1) throw std::runtime_error("forward_timeout_ms must be >= 1");
  if (c.replayIntervalMs < 1) throw std::runtime_error("replay_interval_ms must be >= 1");
  if (c.logLevel != "info" && c.logLevel != "debug") {
    throw std::runtime_error("log_level must be info or debug");
  }
  for (const std::string* required : {&c.listen, &c.socket, &c.tokenFile[0], &c.tokenFile[1],
                                      &c.spoolDir}) {
    if (required->empty()) throw std::runtime_error("listen, socket, token files and spool_dir "
                                                    "must not be empty");
  }
  return c;
}

}  // namespace rdz::gateway
