// rdzctl: the admin CLI. Everything is in client/rdzctl.c++.
#include <iostream>

#include "client/rdzctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return rdz::runRdzctl(args, std::cout, std::cerr);
}
