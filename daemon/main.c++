// rdzd: parses the configuration and runs the daemon (daemon/service/daemon.h).
#include <kj/debug.h>

#include <iostream>

#include "daemon/domain/clock.h"
#include "daemon/service/config.h"
#include "daemon/service/daemon.h"

int main(int argc, char** argv) {
  std::optional<rdz::Config> config;
  try {
    config = rdz::parseConfig(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rdzd: " << e.what() << " (see rdzd --help)\n";
    return 2;
  }
  if (!config) return 0;
  rdz::SystemClock clock;
  int code = 1;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { code = rdz::runDaemon(*config, clock); })) {
    std::cerr << "rdzd: fatal: " << e->getDescription().cStr() << "\n";
    return 1;
  }
  return code;
}
