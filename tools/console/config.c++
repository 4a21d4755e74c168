#include "tools/console/config.h"

#include <boost/program_options.hpp>

#include <fstream>
#include <iostream>

#include "daemon/domain/net-address.h"

namespace rdz::console {

namespace po = boost::program_options;

std::optional<Config> parseConfig(int argc, const char* const* argv) {
  Config c;
  std::string configFile;
  std::vector<std::string> proxies;
  po::options_description general(
      "rdz-console — the web console of RDZ (in French): dashboard, commandes, clients, leads,\n"
      "deliveries. People log in with the name and password `rdzctl user add` gave them.\n\n"
      "Usage: rdz-console [--config FILE] [options]\n"
      "Every option can also be set in the INI file (key = value).\n"
      "With no options: the embedded default, for an rdzd started in the same directory\n"
      "(./rdz-data), on http://127.0.0.1:8090/.\n\nOptions");
  general.add_options()("help,h", "print this help and exit")(
      "config,c", po::value(&configFile), "INI configuration file")(
      "listen", po::value(&c.listen)->default_value(c.listen),
      "HTTP(S) listen address host:port (port 0: any free port, logged); off loopback it "
      "needs tls_cert and tls_key")(
      "socket", po::value(&c.socket)->default_value(c.socket), "rdzd's Unix socket")(
      "connect", po::value(&c.connect),
      "rdzd's TCP listener host:port, instead of the socket (TLS unless plain loopback)")(
      "ca_file", po::value(&c.caFile), "CA (PEM) that rdzd's TLS certificate must chain to")(
      "tls_cert", po::value(&c.tlsCert), "certificate chain (PEM) for HTTPS")(
      "tls_key", po::value(&c.tlsKey), "private key (PEM) for HTTPS")(
      "idle_minutes", po::value(&c.idleMinutes)->default_value(c.idleMinutes),
      "a browser session unused this long ends (log in again)")(
      "trusted_proxies", po::value(&proxies)->composing(),
      "peer IPs whose X-Forwarded-For gives the browser's address, comma-separated")(
      "chart_js", po::value(&c.chartJs)->default_value(c.chartJs),
      "Chart.js (Debian's libjs-chart.js), served to the dashboard")(
      "log_level", po::value(&c.logLevel)->default_value(c.logLevel), "info | debug");

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
  for (auto& list : proxies) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      std::string item = list.substr(start, comma - start);
      size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
      if (b != std::string::npos) c.trustedProxies.push_back(item.substr(b, e - b + 1));
      start = comma + 1;
    }
  }
  // Port 0 (any free port, for tests) is checked as port 1.
  bool anyPort = c.listen.size() > 2 && c.listen.compare(c.listen.size() - 2, 2, ":0") == 0;
  auto address = parseHostPort(anyPort ? c.listen.substr(0, c.listen.size() - 1) + "1" : c.listen);
  if (!address) throw std::runtime_error("listen must be host:port, not '" + c.listen + "'");
  if (c.tlsCert.empty() != c.tlsKey.empty()) {
    throw std::runtime_error("tls_cert and tls_key go together: give both or neither");
  }
  if (!isLoopbackHost(address->host) && !c.tls()) {
    throw std::runtime_error("refusing to serve " + c.listen +
                             " without TLS: off loopback the console needs tls_cert and tls_key "
                             "(passwords and session cookies cross the network)");
  }
  if (c.idleMinutes < 1) throw std::runtime_error("idle_minutes must be >= 1");
  if (c.logLevel != "info" && c.logLevel != "debug") {
    throw std::runtime_error("log_level must be info or debug");
  }
  return c;
}

}  // namespace rdz::console
