// Fuzzes rdzd's INI configuration (daemon/service/config parseConfig, --config FILE): the input
// is the file. Properties: a bad file is a std::exception with a message (what rdzd prints before
// exiting 2), never a crash or another exception; an accepted configuration satisfies the
// checks parseConfig promises.
#include <stdint.h>

#include <fstream>
#include <string>

#include "daemon/domain/net-address.h"
#include "daemon/service/config.h"
#include "tests/fuzz/fuzz-support.h"

using namespace rdz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::makeTempDir("rdz-fuzz-config-") + "/rdzd.ini";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const char* argv[] = {"rdzd", "--config", path.c_str()};
  std::optional<Config> config;
  try {
    config = parseConfig(3, argv);
  } catch (const std::exception& e) {
    return 0;  // refused with a message
  }
  if (!config) fuzz::fail("a config file printed --help");
  for (const SmtpConfig& m : config->smtp) {
    if (m.security != "ssl" && m.security != "starttls" && m.security != "none") {
      fuzz::fail("smtp security accepted", m.security);
    }
  }
  if (config->freshDays < 1 || config->lbDays < 1 || config->dedupDays < 1) {
    fuzz::fail("delivery window below one day accepted");
  }
  // metrics_listen: none, or an address the listener can bind as given.
  if (!config->metricsListen.empty() && !parseHostPort(config->metricsListen)) {
    fuzz::fail("metrics_listen accepted that is not host:port", config->metricsListen);
  }
  if (config->spoolMaxAgeHours < 1) {
    fuzz::fail("ingest.spool_max_age_hours below one accepted");
  }
  return 0;
}
