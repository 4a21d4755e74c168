// rdzctl user add|list|set: the console's users (SPEC §8.2, §8.4).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace rdz {

class Connection;

// Runs `rdzctl user VERB ARGS…`. `connection` opens the connection to rdzd on first use. Usage
// errors are thrown as boost::program_options errors, rdzd's refusals as kj exceptions (rdzctl's
// dispatcher turns both into exit codes). Returns the exit code otherwise.
int userCommand(const std::string& verb, const std::vector<std::string>& args, bool json,
                const std::function<Connection&()>& connection, std::ostream& out);

}  // namespace rdz
