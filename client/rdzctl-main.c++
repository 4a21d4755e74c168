// rdzctl: the admin CLI. runRdzctl (client/rdzctl.c++) and the commands (client/commands/) are in
// the client library.
#include <iostream>

#include "client/rdzctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return rdz::runRdzctl(args, std::cout, std::cerr);
}
