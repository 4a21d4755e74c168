// rdz-console: parses the configuration and runs the web console (tools/console/console.h).
#include <kj/debug.h>

#include <iostream>

#include "tools/console/config.h"
#include "tools/console/console.h"

int main(int argc, char** argv) {
  std::optional<rdz::console::Config> config;
  try {
    config = rdz::console::parseConfig(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rdz-console: " << e.what() << " (see rdz-console --help)\n";
    return 2;
  }
  if (!config) return 0;
  int code = 1;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { code = rdz::console::runConsole(*config); })) {
    std::cerr << "rdz-console: fatal: " << e->getDescription().cStr() << "\n";
    return 1;
  }
  return code;
}
