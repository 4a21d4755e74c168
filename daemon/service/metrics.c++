#include "daemon/service/metrics.h"

#include "daemon/store/keys.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

size_t index(Entity e) { return static_cast<size_t>(e); }

constexpr std::string_view RUN_SCOPES[] = {"all", "ZR7", "MDL"};
constexpr std::string_view RUN_OUTCOMES[] = {"committed", "already_done", "failed"};
constexpr std::string_view METHODES[] = {"email", "api"};
constexpr std::string_view SEND_OUTCOMES[] = {"ok", "failed", "refused"};

size_t scopeIndex(std::optional<Entity> scope) { return scope ? 1 + index(*scope) : 0; }

uint64_t load(const std::atomic<uint64_t>& value) { return value.load(std::memory_order_relaxed); }
int64_t load(const std::atomic<int64_t>& value) { return value.load(std::memory_order_relaxed); }

}  // namespace

Metrics::Metrics()
    // Powers of two up to the WriteQueue's largest group (512).
    : commitGroupSize_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
      commitSeconds_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      runSeconds_({0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}) {}

void Metrics::countSubmission(Entity e, Submission kind, Statut statut) {
  switch (kind) {
    case Submission::STORED:
      leadsReceived_[index(e) * STATUT_COUNT + static_cast<size_t>(statut)].fetch_add(
          1, std::memory_order_relaxed);
      acknowledged_[index(e)].fetch_add(1, std::memory_order_relaxed);
      break;
    case Submission::REPLAYED:
      acknowledged_[index(e)].fetch_add(1, std::memory_order_relaxed);
      break;
    case Submission::REFUSED:
      refused_[index(e)].fetch_add(1, std::memory_order_relaxed);
      break;
  }
}

void Metrics::observeCommit(size_t jobs, double seconds) {
  commitGroupSize_.observe(static_cast<double>(jobs));
  commitSeconds_.observe(seconds);
}

void Metrics::countRun(std::optional<Entity> scope, RunOutcome outcome, double seconds) {
  runs_[scopeIndex(scope) * 3 + static_cast<size_t>(outcome)].fetch_add(1,
                                                                        std::memory_order_relaxed);
  if (outcome == RunOutcome::COMMITTED) runSeconds_.observe(seconds);
}

void Metrics::countBatch(Entity e, std::optional<BatchStatus> previous, BatchStatus status) {
  if (previous == status) return;
  size_t base = index(e) * BATCH_STATUS_COUNT;
  if (previous) {
    batches_[base + static_cast<size_t>(*previous)].fetch_sub(1, std::memory_order_relaxed);
  }
  batches_[base + static_cast<size_t>(status)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::countSendAttempt(Entity e, Methode methode, bool ok, bool permanent) {
  size_t outcome = ok ? 0 : permanent ? 2 : 1;
  sendAttempts_[(index(e) * 2 + static_cast<size_t>(methode)) * 3 + outcome].fetch_add(
      1, std::memory_order_relaxed);
}

void Metrics::loadFromStore(Reader& store) {
  for (Entity e : ALL_ENTITIES) {
    // TODO(perf): decodes every batch ever written, once per start (a few per client and day).
    for (const Batch& batch : listBatches(store, e)) countBatch(e, std::nullopt, batch.status);
  }
  int64_t records = 0;
  for (std::string_view prefix : {std::string_view(keys::IDEMPOTENCY_PREFIX),
                                  std::string_view(keys::LEGACY_IDEMPOTENCY_PREFIX)}) {
    store.scanSystem(prefix, [&](auto, auto) {
      ++records;
      return true;
    });
  }
  addIdempotencyRecords(records);
}

void Metrics::setStartTime(std::chrono::system_clock::time_point at) {
  startTime_.store(std::chrono::duration<double>(at.time_since_epoch()).count(),
                   std::memory_order_relaxed);
}

std::string Metrics::render(const StoreSize& size) const {
  MetricsText out;
  using enum MetricType;

  out.family("rdz_leads_received_total", COUNTER,
             "New leads stored by a submission (ingest, admin submit, import), by entity and "
             "statut at reception (new or invalid); counted once synced.");
  for (Entity e : ALL_ENTITIES) {
    for (size_t s = 0; s < STATUT_COUNT; ++s) {
      // A lead is received new or invalid; another statut is shown only if it ever occurs.
      auto statut = static_cast<Statut>(s);
      uint64_t count = load(leadsReceived_[index(e) * STATUT_COUNT + s]);
      if (statut != Statut::NEW && statut != Statut::INVALID && count == 0) continue;
      out.sample({{"entity", entityName(e)}, {"statut", statutName(statut)}}, count);
    }
  }
  out.family("rdz_submissions_acknowledged_total", COUNTER,
             "Submissions answered with a stored lead after the synced commit (new leads and "
             "idempotent replays).");
  for (Entity e : ALL_ENTITIES)
    out.sample({{"entity", entityName(e)}}, load(acknowledged_[index(e)]));
  out.family("rdz_submissions_refused_total", COUNTER,
             "Submissions refused outright (SPEC 3.2): nothing stored.");
  for (Entity e : ALL_ENTITIES) out.sample({{"entity", entityName(e)}}, load(refused_[index(e)]));

  out.family("rdz_write_queue_depth", GAUGE, "Write jobs waiting for the writer thread.");
  out.sample({}, load(writeQueueDepth_));
  out.family("rdz_commit_group_size", HISTOGRAM, "Jobs per synced group commit.");
  out.histogram({}, commitGroupSize_);
  out.family("rdz_commit_sync_seconds", HISTOGRAM,
             "Time of one synced group write (RocksDB write and WAL fsync).");
  out.histogram({}, commitSeconds_);

  out.family("rdz_runs_total", COUNTER,
             "Delivery runs asked (rdzctl deliver, not dry runs), by scope asked and outcome.");
  for (size_t scope = 0; scope < 3; ++scope) {
    for (size_t outcome = 0; outcome < 3; ++outcome) {
      out.sample({{"scope", RUN_SCOPES[scope]}, {"outcome", RUN_OUTCOMES[outcome]}},
                 load(runs_[scope * 3 + outcome]));
    }
  }
  out.family("rdz_run_duration_seconds", HISTOGRAM,
             "Committed runs, from the start of planning to the synced commit.");
  out.histogram({}, runSeconds_);

  out.family("rdz_batches", GAUGE, "Batches by entity and status.");
  for (Entity e : ALL_ENTITIES) {
    for (size_t s = 0; s < BATCH_STATUS_COUNT; ++s) {
      out.sample(
          {{"entity", entityName(e)}, {"status", batchStatusName(static_cast<BatchStatus>(s))}},
          load(batches_[index(e) * BATCH_STATUS_COUNT + s]));
    }
  }
  out.family("rdz_send_attempts_total", COUNTER,
             "Batch send attempts by entity, methode and outcome (refused: a permanent SMTP "
             "refusal, 5xx).");
  for (Entity e : ALL_ENTITIES) {
    for (size_t m = 0; m < 2; ++m) {
      for (size_t o = 0; o < 3; ++o) {
        out.sample(
            {{"entity", entityName(e)}, {"methode", METHODES[m]}, {"outcome", SEND_OUTCOMES[o]}},
            load(sendAttempts_[(index(e) * 2 + m) * 3 + o]));
      }
    }
  }

  out.family("rdz_idempotency_records", GAUGE,
             "Idempotency records kept (purged 8 days after their submission).");
  out.sample({}, load(idempotencyRecords_));
  out.family("rdz_store_bytes", GAUGE,
             "RocksDB files on disk: live SST files of every column family, and WAL files.");
  out.sample({{"kind", "live_sst"}}, size.liveSstBytes);
  out.sample({{"kind", "wal"}}, size.walBytes);
  out.family("rdz_process_start_time_seconds", GAUGE,
             "Start time of rdzd since the Unix epoch, in seconds.");
  out.sample({}, startTime_.load(std::memory_order_relaxed));
  return out.take();
}

Metrics& metrics() {
  static Metrics registry;
  return registry;
}

void countSubmission(Txn& txn, Entity e, Metrics::Submission kind, Statut statut) {
  txn.afterCommit([e, kind, statut]() { metrics().countSubmission(e, kind, statut); });
}

void countIdempotencyRecords(Txn& txn, int64_t delta) {
  if (delta != 0) txn.afterCommit([delta]() { metrics().addIdempotencyRecords(delta); });
}

void countBatch(Txn& txn, const Batch* previous, const Batch& batch) {
  std::optional<BatchStatus> before;
  if (previous != nullptr) before = previous->status;
  if (before == batch.status) return;
  txn.afterCommit([e = batch.entity, before, after = batch.status]() {
    metrics().countBatch(e, before, after);
  });
}

void countRun(Txn& txn, std::optional<Entity> scope, bool alreadyDone,
              std::chrono::steady_clock::time_point started) {
  txn.afterCommit([scope, alreadyDone, started]() {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics().countRun(
        scope, alreadyDone ? Metrics::RunOutcome::ALREADY_DONE : Metrics::RunOutcome::COMMITTED,
        seconds);
  });
}

}  // namespace rdz
