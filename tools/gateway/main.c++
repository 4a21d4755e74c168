// rdz-gateway: parses the configuration and runs the gateway (tools/gateway/gateway.h).
#include <kj/debug.h>

#include <iostream>

#include "tools/gateway/config.h"
#include "tools/gateway/gateway.h"

int main(int argc, char** argv) {
  std::optional<rdz::gateway::Config> config;
  try {
    config = rdz::gateway::parseConfig(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rdz-gateway: " << e.what() << " (see rdz-gateway --help)\n";
    return 2;
  }
  if (!config) return 0;
  int code = 1;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { code = rdz::gateway::runGateway(*config); })) {
    std::cerr << "rdz-gateway: fatal: " << e->getDescription().cStr() << "\n";
    return 1;
  }
  return code;
}
