// The ingestion load of rdz-bench: CLIENTS clients, each with its own connection to rdzd,
// submitting synthetic leads one after another (each acknowledged only once synced), served by a
// few threads that each drive several clients on their event loop (as pgbench's -j: on a small
// machine, one thread per client would spend the CPU the server is measured with on switching
// between them).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "client/connection.h"

namespace rdz {

struct IngestFigures {
  uint64_t acknowledged = 0;
  double seconds = 0;
  double tps = 0;
  double p50Ms = 0;
  double p99Ms = 0;
  // The longest wait for one acknowledgement: a client waits on its call, so a stall of the
  // writer shows here once per client, not in the percentiles.
  double maxMs = 0;
  uint64_t failedClients = 0;
};

// Runs `clients` clients on `threads` threads (at most one per client) while `keepGoing()`
// (polled before each submission, from any of those threads) says so; client t sends
// syntheticLead(seed, streamBase + t, n) for n = 0, 1, …
// `measuring` (null: always): the figures count only the submissions sent while it is true, and
// `seconds` is then the span from the first of them sent to the last one answered.
IngestFigures ingestLoad(const Endpoint& endpoint, int clients, uint64_t seed, uint32_t streamBase,
                         const std::function<bool()>& keepGoing,
                         const std::atomic<bool>* measuring = nullptr, int threads = 2);

}  // namespace rdz
