// Fuzzes rdz-gateway's INI configuration (tools/gateway/config parseConfig, --config FILE): the
// input is the file. Properties: a bad file is a std::exception with a message, never a crash or
// another exception; an accepted configuration satisfies the checks parseConfig promises.
#include <stdint.h>

#include <cmath>
#include <fstream>
#include <string>

#include "daemon/domain/validation.h"
#include "tests/fuzz/fuzz-support.h"
#include "tools/gateway/config.h"
#include "tools/gateway/thanks.h"

using namespace rdz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::makeTempDir("rdz-fuzz-gwconfig-") + "/gateway.ini";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const char* argv[] = {"rdz-gateway", "--config", path.c_str()};
  std::optional<gateway::Config> config;
  try {
    config = gateway::parseConfig(3, argv);
  } catch (const std::exception& e) {
    return 0;  // refused with a message
  }
  if (!config) fuzz::fail("a config file printed --help");
  if (!std::isfinite(config->rate) || config->rate < 0) fuzz::fail("rate accepted");
  if (config->rate > 0 && config->burst < 1) fuzz::fail("burst accepted");
  if (config->forwardTimeoutMs < 1 || config->replayIntervalMs < 1) fuzz::fail("timeouts");
  if (config->listen.empty() || config->socket.empty() || config->spoolDir.empty()) {
    fuzz::fail("empty required setting accepted");
  }
  for (const std::string& o : config->corsOrigins) {
    if (o.empty()) fuzz::fail("empty CORS origin in the list");
  }
  for (auto& list : config->merciUrls) {
    try {
      gateway::ThanksPages pages(list);  // every accepted entry is a URL or a prefix
      for (const std::string& entry : list) {
        if (entry.back() != '*' && !pages.allows(entry)) fuzz::fail("a thank-you URL not allowed");
      }
    } catch (const std::exception&) {
      fuzz::fail("merci_urls accepted with an entry ThanksPages refuses");
    }
  }
  if (!config->honeypotField.empty() &&
      (isLeadField(config->honeypotField) || config->honeypotField == gateway::MERCI_FIELD)) {
    fuzz::fail("a lead field accepted as the honeypot");
  }
  return 0;
}
