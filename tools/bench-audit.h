// rdz-bench audit: times `Admin.audit` (what `rdzctl audit` calls) on a large database while
// clients ingest, and measures what it costs rdzd (SPEC §7.5: "1,000,000 leads are audited in
// well under a minute").
//
// 1. Loads DATA_DIR/db through the store layer in big transactions: LEADS leads over the last 60
//    days (the real ingestion code: validation, indexes, history), of which a part delivered the
//    day after their reception the way a run writes it (deliveries, duplicate index, quota
//    counters, one batch per client and day, sent; some fallbacks, some rejections), the rest
//    aged to LB after 8 days.
// 2. Starts rdzd on DATA_DIR, runs CLIENTS ingest clients for BASELINE seconds (p99 before).
// 3. Runs them again while one admin connection calls audit: its time, rdzd's resident memory
//    (sampled every 50 ms, and its high-water mark), the ingest p99 during the audit.
// 4. Stops rdzd. Last line, for scripts:
//    {"rdz":"audit","leads":N,"deliveries":M,"audit_s":X,"rss_before_mb":…,"rss_peak_mb":…,
//     "tps_before":…,"p99_before_ms":…,"tps_during":…,"p99_during_ms":…,"violations":V}
#pragma once

#include <cstdint>
#include <string>

namespace rdz {

struct AuditBenchOptions {
  std::string dataDir;  // must not exist yet (or hold a database this bench loaded: --reuse)
  bool reuse = false;   // skip the load: DATA_DIR already holds one
  uint32_t leads = 1000000;
  uint32_t deliveredPercent = 30;
  int clients = 8;
  int baselineSeconds = 10;
  std::string rdzd;  // the rdzd binary
  uint64_t seed = 1;
};

// Returns the exit code: 0 when the audit found no violation.
int benchAudit(const AuditBenchOptions& options);

}  // namespace rdz
