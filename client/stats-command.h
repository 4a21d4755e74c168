// `rdzctl stats` (SPEC §7.3): the daily counters and the week's commandes, as a French table or
// (--json) the report's JSON.
#pragma once

#include <kj/function.h>

#include <ostream>
#include <string>
#include <vector>

#include "client/connection.h"

namespace rdz {

// Runs `rdzctl stats` with the command's own flags `args` (after the word `stats`). Returns the
// exit code; usage errors are thrown as boost::program_options errors (exit 2), rdzd's refusals
// as kj::Exception (exit 1). `connect` opens the connection when it is needed.
int runStatsCommand(const std::vector<std::string>& args, bool json, std::ostream& out,
                    kj::Function<Connection&()> connect);

// The report as French tables, one per entity (the text output of `rdzctl stats`).
void printStatsReport(std::ostream& out, schema::StatsReport::Reader report,
                      const std::string& produit, const std::string& client);

}  // namespace rdz
