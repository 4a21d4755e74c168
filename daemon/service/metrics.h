// rdzd's metrics (SPEC §11): what it counts, kept in step by the code that changes what is
// counted, and rendered in Prometheus's text format for the metrics listener (metrics-http.h).
//
// One registry per process (metrics()): the counters are facts about this rdzd, and the hooks
// below sit in free functions (ingestLead, executeRun, …) that take no context to thread it
// through. In-process tests share it; they compare deltas, never absolute values.
//
// Thread safety: every value is atomic. The writer thread, the Senders and the event loop update
// them; a scrape reads them without a lock (it may see one update and not another made at the
// same moment; each value on its own is exact).
//
// What follows a write (leads received, submissions answered, idempotency records, batches by
// status, runs) moves through Txn::afterCommit: once the write is committed and synced, before
// the caller is answered, and never for a job that was rolled back. A scrape after an
// acknowledgement therefore always counts it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/domain/commerce.h"
#include "daemon/domain/metrics-text.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"
#include "daemon/store/store.h"

namespace rdz {

constexpr size_t STATUT_COUNT = 5;        // Statut::NEW … REJECTED
constexpr size_t BATCH_STATUS_COUNT = 3;  // BatchStatus::PENDING, SENT, FAILED

class Metrics {
 public:
  Metrics();

  // SPEC §3.2, counted after the synced commit. STORED: a new lead (valid or invalid), counted
  // in leadsReceived too; REPLAYED: an idempotency key's first answer given again; REFUSED:
  // nothing stored.
  enum class Submission { STORED, REPLAYED, REFUSED };
  void countSubmission(Entity e, Submission kind, Statut statut);

  // The WriteQueue: jobs waiting for the writer; one synced group write of `jobs` jobs that
  // took `seconds` (the write and its fsync).
  void setWriteQueueDepth(size_t jobs) { writeQueueDepth_.store(jobs, std::memory_order_relaxed); }
  void observeCommit(size_t jobs, double seconds);

  // The daily run (Admin.deliver): `scope` as asked (nullopt: both entities).
  enum class RunOutcome { COMMITTED, ALREADY_DONE, FAILED };
  void countRun(std::optional<Entity> scope, RunOutcome outcome, double seconds);

  // A batch written with `status` (`previous`: its status before, nullopt for a new batch).
  void countBatch(Entity e, std::optional<BatchStatus> previous, BatchStatus status);

  // One attempt by a Sender (SPEC §5.7), whatever happens to its outcome write.
  void countSendAttempt(Entity e, Methode methode, bool ok, bool permanent);

  void addIdempotencyRecords(int64_t delta) {
    idempotencyRecords_.fetch_add(delta, std::memory_order_relaxed);
  }

  // Set once at startup, before the store is served: the batches by status and the idempotency
  // records already in `store` (one scan of each), and the process's start time.
  void loadFromStore(Reader& store);
  void setStartTime(std::chrono::system_clock::time_point at);

  // The whole exposition; `size`: the store's size at this scrape.
  std::string render(const StoreSize& size) const;

 private:
  template <size_t N>
  using Counters = std::array<std::atomic<uint64_t>, N>;
  template <size_t N>
  using Gauges = std::array<std::atomic<int64_t>, N>;

  Counters<2 * STATUT_COUNT> leadsReceived_{};  // entity × statut
  Counters<2> acknowledged_{};                  // entity
  Counters<2> refused_{};                       // entity
  std::atomic<uint64_t> writeQueueDepth_{0};
  Histogram commitGroupSize_;
  Histogram commitSeconds_;
  Counters<3 * 3> runs_{};  // scope (all, zr7, mdl) × outcome
  Histogram runSeconds_;
  Gauges<2 * BATCH_STATUS_COUNT> batches_{};  // entity × status
  Counters<2 * 2 * 3> sendAttempts_{};        // entity × methode × outcome
  std::atomic<int64_t> idempotencyRecords_{0};
  std::atomic<double> startTime_{0};
};

// The process's registry.
Metrics& metrics();

// ---- hooks for write jobs: they count through txn.afterCommit -------------------------------

void countSubmission(Txn& txn, Entity e, Metrics::Submission kind, Statut statut = Statut::NEW);
void countIdempotencyRecords(Txn& txn, int64_t delta);
// Every putBatch: `previous` as given to it.
void countBatch(Txn& txn, const Batch* previous, const Batch& batch);
// A run job that did not throw; `started`: when the job began planning.
void countRun(Txn& txn, std::optional<Entity> scope, bool alreadyDone,
              std::chrono::steady_clock::time_point started);

}  // namespace rdz
