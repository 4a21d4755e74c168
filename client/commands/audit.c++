// rdzctl audit (SPEC §7.5): every invariant checked by rdzd on one snapshot; exit 1 with
// violations.
#include <fmt/format.h>

#include "client/command.h"

namespace rdz {
namespace {

int runAudit(Command& cmd) {
  // Waits for the whole audit: seconds for a million leads.
  auto response = cmd.connection().admin().auditRequest().send().wait(cmd.wait());
  auto report = response.getReport();
  cmd.print(report, [&](std::ostream& out) {
    auto c = report.getChecked();
    std::string checked = fmt::format(
        "{} leads, {} index entries, {} deliveries, {} batches, {} quota counters", c.getLeads(),
        c.getIndexEntries(), c.getDeliveries(), c.getBatches(), c.getQuotaCounters());
    if (report.getOk()) {
      out << "audit ok: " << checked << " checked, no violation\n";
      return;
    }
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
  });
  return report.getOk() ? EXIT_OK : EXIT_FAILED;
}

}  // namespace

namespace commands {

CommandGroup audit() {
  return {
      {.noun = "audit",
       .usage = "audit",
       .about = "check every invariant of the stored data on one consistent snapshot\n"
                "(ingestion and runs go on); prints a summary and each violation\n"
                "(invariant, key, detail; --json: {\"ok\",\"checked\",\"violations\",\n"
                "\"violations_total\"}); exit 0 when ok, 1 with violations. An\n"
                "entity-bound token audits its entity",
       .run = runAudit},
  };
}

}  // namespace commands
}  // namespace rdz
