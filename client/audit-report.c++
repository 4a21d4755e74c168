#include "client/audit-report.h"

#include <fmt/format.h>

#include "client/json.h"
#include "client/rdzctl.h"

namespace rdz {

int runAudit(Connection& connection, bool json, std::ostream& out) {
  auto response = connection.admin().auditRequest().send().wait(connection.waitScope());
  auto report = response.getReport();
  if (json) {
    out << toJson(report) << "\n";
  } else {
    auto c = report.getChecked();
    std::string checked =
        fmt::format("{} leads, {} index entries, {} deliveries, {} batches, {} quota counters",
                    c.getLeads(), c.getIndexEntries(), c.getDeliveries(), c.getBatches(),
                    c.getQuotaCounters());
    if (report.getOk()) {
      out << "audit ok: " << checked << " checked, no violation\n";
    } else {
      out << fmt::format("audit: {} violation(s) ({} checked)\n", report.getViolationsTotal(),
                         checked);
      for (auto v : report.getViolations()) {
        out << fmt::format("{}  {}  {}\n", v.getInvariant().cStr(), v.getKey().cStr(),
                           v.getDetail().cStr());
      }
      if (report.getViolations().size() < report.getViolationsTotal()) {
        out << fmt::format("(the first {} of {} are shown)\n", report.getViolations().size(),
                           report.getViolationsTotal());
      }
    }
  }
  return report.getOk() ? EXIT_OK : EXIT_FAILED;
}

}  // namespace rdz
