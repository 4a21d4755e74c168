// rdzctl, the admin CLI (SPEC §8.2), as a library function so tests can run it in-process.
// Exit codes: 0 ok, 1 refused/failed (message on stderr), 2 usage, 3 cannot connect or not
// authenticated.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace rdz {

enum ExitCode : int { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

// `args` excludes the program name.
int runRdzctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace rdz
