// rdz-bench run: times the daily run (`Admin.deliver`, what `rdzctl deliver` calls) through the
// real rdzd on a large database, while clients ingest, and the sending of its batches.
//
// 1. Loads DATA_DIR/db (daemon/store/bulk-load.h: the record functions of records.h, written as
//    sorted SST files and ingested): LEADS pool leads (statut new when received less than 8 days
//    before the run's reference time T, else lb; received over the 20 days before T; 3 in 100
//    carry the phone and produit of a person delivered in the last days, for the duplicate
//    rule), HISTORY leads delivered by the runs of the 30 days before (each received the day
//    before its run: the lead, its history, its delivery, the duplicate-index entry, one sent
//    batch per client and run, the week and day counters, the run records, the stats counters),
//    and COMMANDES commandes of COMMANDES / 2 clients, both entities, the three produits of the
//    default catalogue, 1 to 5 departements or all, some with fallback, a daily cap or an LB
//    share; every day is a delivery day. The week quotas are set after the load to what the week
//    delivered so far plus a share of LEADS, so the run's demand is about the pool's size.
// 2. Starts an SMTP sink in process (tools/bench-smtp-sink.h) and rdzd on DATA_DIR with both
//    entities' SMTP on it.
// 3. CLIENTS clients ingest for BASELINE seconds (figures before the run), then again while one
//    admin connection calls deliver for the run's date: the call's time (the run committed), the
//    time until the sink accepted every batch of the run, the ingest latencies while the call
//    ran, rdzd's peak resident memory (VmHWM).
// 4. Stops rdzd. One line per figure on stderr, then, for scripts:
//    {"rdz":"run","leads":N,"history":H,"commandes":C,"load_s":…,"run_s":…,"sent_s":…,
//     "assigned":…,"aged":…,"doublons_evites":…,"batches":…,"batches_received":…,
//     "rss_peak_mb":…,"tps_before":…,"p50_before_ms":…,"p99_before_ms":…,"tps_during":…,
//     "p50_during_ms":…,"p99_during_ms":…}
//
// The run's date is today (Europe/Paris) when rdzd's clock is past today's 09:30, else
// yesterday; T is that date at 09:30. With --reuse (DATA_DIR loaded, and maybe run, before) it is
// the day after the last run in the database, with force when that is after today.
#pragma once

#include <cstdint>
#include <string>

namespace rdz {

struct RunBenchOptions {
  std::string dataDir;  // must not exist yet (or hold a database this bench loaded: reuse)
  bool reuse = false;   // skip the load
  uint32_t leads = 100000;
  uint64_t history = 1000000;
  uint32_t commandes = 2000;
  int clients = 8;
  int baselineSeconds = 10;
  int sendTimeoutSeconds = 1800;  // how long, once the run is committed, to wait for the sink
  std::string rdzd;               // the rdzd binary
  uint64_t seed = 1;
};

// Returns the exit code: 0 when the run was committed and every batch reached the sink.
int benchRun(const RunBenchOptions& options);

}  // namespace rdz
