// rdzctl audit (SPEC §7.5): asks rdzd for an audit and prints its report.
#pragma once

#include <ostream>

#include "client/connection.h"

namespace rdz {

// Runs Admin.audit on `connection` (it waits for the whole audit: seconds for a million leads)
// and prints the report: with `json`, the AuditReport as one JSON document
// ({"ok","checked":{…},"violations":[{"invariant","key","detail"}],"violations_total"}); else a
// summary line, then one line per violation. Returns the exit code: 0 ok, 1 violations.
int runAudit(Connection& connection, bool json, std::ostream& out);

}  // namespace rdz
