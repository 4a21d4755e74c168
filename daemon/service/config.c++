#include "daemon/service/config.h"

#include <boost/program_options.hpp>

#include <fstream>
#include <iostream>

#include "daemon/domain/net-address.h"
#include "daemon/service/tcp-transport.h"

namespace rdz {

namespace po = boost::program_options;

namespace {

// metrics_listen: "PORT" and ":PORT" are loopback; anything else must be host:port.
std::string metricsAddress(const std::string& text) {
  bool portOnly = !text.empty() && text.find(':') == std::string::npos;
  std::string address = portOnly ? "127.0.0.1:" + text
                        : text.starts_with(":") ? "127.0.0.1" + text
                                                : text;
  auto parsed = parseHostPort(address);
  if (!parsed) {
    throw std::runtime_error("metrics_listen must be PORT, :PORT or host:port (or [ipv6]:port), "
                             "not '" + text + "'");
  }
  return parsed->toString();
}

}  // namespace

std::optional<Config> parseConfig(int argc, const char* const* argv) {
  Config c;
  std::string configFile;
  po::options_description general("rdzd — the RDZ daemon\n\nUsage: rdzd [--config FILE] [options]\n"
                                  "Every option can also be set in the INI file; [section] key ="
                                  " value is --section.key value.\n\nOptions");
  general.add_options()
      ("help,h", "print this help and exit")
      ("config,c", po::value(&configFile), "INI configuration file")
      ("data_dir", po::value(&c.dataDir)->default_value(c.dataDir), "database directory")
      ("socket", po::value(&c.socket), "Unix socket (default: DATA_DIR/rdzd.sock, mode 0660)")
      ("tokens_file", po::value(&c.tokensFile),
       "token hashes file (default: DATA_DIR/tokens; generated with the token files on first "
       "start)")
      ("listen", po::value(&c.listen),
       "optional TCP listen address host:port, served like the socket; TLS required unless "
       "loopback (127.0.0.0/8, ::1, localhost)")
      ("tls_cert", po::value(&c.tlsCert), "TLS certificate chain (PEM) for --listen")
      ("tls_key", po::value(&c.tlsKey), "TLS private key (PEM, unencrypted) for --listen")
      ("templates_dir", po::value(&c.templatesDir), "email templates directory")
      ("log_level", po::value(&c.logLevel)->default_value(c.logLevel), "info | debug")
      ("metrics_listen", po::value(&c.metricsListen),
       "serve Prometheus metrics on GET http://ADDRESS/metrics: PORT or :PORT (127.0.0.1), or "
       "host:port; not loopback means no authentication for anyone who reaches it (default: no "
       "metrics listener)")
      ("delivery.time", po::value(&c.deliveryTime)->default_value(c.deliveryTime),
       "run reference time, Europe/Paris")
      ("delivery.fresh_days", po::value(&c.freshDays)->default_value(c.freshDays),
       "a lead is fresh for this many days")
      ("delivery.lb_days", po::value(&c.lbDays)->default_value(c.lbDays),
       "a delivered lead re-enters LB after this many days")
      ("delivery.dedup_days", po::value(&c.dedupDays)->default_value(c.dedupDays),
       "duplicate window per client, days")
      ("rpc.auth_timeout_ms", po::value(&c.authTimeoutMs)->default_value(c.authTimeoutMs),
       "a connection that has not authenticated within this many ms is closed")
      ("rpc.max_unauthenticated",
       po::value(&c.maxUnauthenticated)->default_value(c.maxUnauthenticated),
       "connections not authenticated yet, at most, all transports together; past it new "
       "connections are closed at once")
      ("rpc.max_unauthenticated_per_peer",
       po::value(&c.maxUnauthenticatedPerPeer)->default_value(c.maxUnauthenticatedPerPeer),
       "the same per peer: per uid on the Unix socket, per IP address over TCP")
      ("rpc.max_message_before_auth",
       po::value(&c.maxMessageBeforeAuth)->default_value(c.maxMessageBeforeAuth),
       "largest RPC message, in bytes, before a token is accepted; a larger one closes the "
       "connection")
      ("ingest.spool_max_age_hours",
       po::value(&c.spoolMaxAgeHours)->default_value(c.spoolMaxAgeHours),
       "a lead from a gateway token keeps the time the gateway accepted it (recu_le) if that "
       "is at most this many hours before rdzd receives it (a spooled lead's wait)");
  for (Entity e : ALL_ENTITIES) {
    std::string s = std::string(entitySlug(e)) + ".smtp.";
    SmtpConfig& m = c.smtp[static_cast<int>(e)];
    m.from = "leads@" + std::string(entitySlug(e)) + ".localhost";
    m.fromName = std::string(entityName(e));
    general.add_options()
        ((s + "host").c_str(), po::value(&m.host)->default_value(m.host), "SMTP host")
        ((s + "port").c_str(), po::value(&m.port)->default_value(m.port), "SMTP port")
        ((s + "security").c_str(), po::value(&m.security)->default_value(m.security),
         "ssl | starttls | none")
        ((s + "user").c_str(), po::value(&m.user), "SMTP user")
        ((s + "password_file").c_str(), po::value(&m.passwordFile), "file holding the password")
        ((s + "from").c_str(), po::value(&m.from)->default_value(m.from), "sender address")
        ((s + "from_name").c_str(), po::value(&m.fromName)->default_value(m.fromName),
         "sender name")
        ((s + "bcc").c_str(), po::value(&m.bcc), "archive address (BCC)")
        ((s + "ca_file").c_str(), po::value(&m.caFile),
         "CA certificates (PEM) trusted for the server's certificate instead of the system's")
        ((s + "timeout_ms").c_str(), po::value(&m.timeoutMs)->default_value(m.timeoutMs),
         "one send (connect, TLS, AUTH, DATA) fails after this many ms");
  }

  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, general), vm);
  if (vm.count("help")) {
    std::cout << general << "\n";
    return std::nullopt;
  }
  if (vm.count("config")) {
    std::ifstream in(vm["config"].as<std::string>());
    if (!in) throw std::runtime_error("cannot read config file " + vm["config"].as<std::string>());
    po::store(po::parse_config_file(in, general), vm);  // flags given first win
  }
  po::notify(vm);
  for (auto& m : c.smtp) {
    if (m.security != "ssl" && m.security != "starttls" && m.security != "none") {
      throw std::runtime_error("smtp security must be ssl, starttls or none");
    }
    if (m.timeoutMs < 100) throw std::runtime_error("smtp timeout_ms must be at least 100");
  }
  if (c.freshDays < 1 || c.lbDays < 1 || c.dedupDays < 1) {
    throw std::runtime_error("delivery windows must be at least one day");
  }
  if (c.authTimeoutMs < 1 || c.maxUnauthenticated < 1 || c.maxUnauthenticatedPerPeer < 1) {
    throw std::runtime_error("rpc limits must be at least 1");
  }
  if (c.spoolMaxAgeHours < 1) throw std::runtime_error("ingest.spool_max_age_hours must be >= 1");
  if (c.maxMessageBeforeAuth < 1024) {
    throw std::runtime_error("rpc.max_message_before_auth must be at least 1024 bytes");
  }
  checkListenConfig(c);
  if (!c.metricsListen.empty()) c.metricsListen = metricsAddress(c.metricsListen);
  return c;
}

}  // namespace rdz
