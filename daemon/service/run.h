// The daily run as the service executes it (SPEC §5.7–5.8): gather the pools and commandes from
// the store, plan with the pure allocation (daemon/domain/allocation.h), and commit the whole
// outcome (aging, deliveries, duplicate-index entries, quota counters, lead statuses and
// history, one pending batch per client, the run record) in ONE atomic write before anything is
// sent. Sending is the Sender's job.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/allocation.h"
#include "daemon/domain/explain.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/stats.h"
#include "daemon/service/opposition.h"
#include "daemon/store/store.h"

namespace rdz {

struct RunSettings {
  std::string deliveryTime = "09:30";  // Europe/Paris
  Duration freshWindow = std::chrono::hours(24 * 8);
  Duration lbReentry = std::chrono::hours(24 * 30);
  Duration dedupWindow = std::chrono::hours(24 * 30);
};

// The run parameters of `rdzctl deliver`: a date (at the configured time), or a reference time
// (its Paris date), or neither (today in Paris, at the configured time).
RunParams runParams(const RunSettings& settings, std::string_view date, std::optional<Timestamp> at,
                    std::optional<Entity> entity, Timestamp now);

// Refuses (KJ_REQUIRE) a run whose date is after today in Europe/Paris, unless `force` (SPEC
// §5.9): a run dated ahead would age and re-enter leads against a time that has not come.
void checkRunDate(const RunParams& params, Timestamp now, bool force);

// What a run asked with `params` has to do (SPEC §5.8–5.9). Runs of one date never overlap, so no
// client gets two batches for one date:
// - `done`: the runs that already cover the date and scope (the same run; the full run of the
//   date when one entity is asked; both one-entity runs when the full run is asked). Nothing is
//   allocated again.
// - `toRun`: otherwise, the run to make: `params` itself, or — a full run asked for a date whose
//   other entity was already run alone — the entity left, alone and without fallback, so a manual
//   one-entity run never costs the other entity its morning delivery.
struct RunScope {
  std::vector<RunRecord> done;
  std::optional<RunParams> toRun;
};
RunScope resolveRun(Reader& reader, const RunParams& params);

// Reads the inputs of a run and plans it. Writes nothing (this is also --dry-run).
// `opposition`: the opposition list's hash (null: no list is checked). `trace`: receives the
// decisions `lead explain` needs (null: none).
RunPlan planRunFromStore(Reader& reader, const RunParams& params,
                         const OppositionKey* opposition = nullptr, PlanTrace* trace = nullptr);

struct RunOutcome {
  RunRecord run;
  std::vector<Batch> batches;
  bool alreadyDone = false;   // the run existed: nothing was allocated again
  bool fromSnapshot = false;  // the writes prepared on the snapshot were committed as they were
  bool replanned = false;     // a plan made off the writer was stale: planned again on the writer
  std::string staleBecause;   // why
  double checkSeconds = 0;    // on the writer: checking the plan made off it
  double writeSeconds = 0;    // on the writer: planning there if need be, and the writes
};

// A run planned on a snapshot, off the writer, with what the plan relied on, for the writer to
// check before it commits (executeRun). Planning takes seconds at a million leads; ingestion goes
// on meanwhile.
struct PlannedRun {
  RunParams asked;
  RunScope scope;               // resolved on the snapshot
  std::optional<RunPlan> plan;  // when scope.toRun
  // What the plan relied on: the commandes as it saw them; the leads it ages or assigns as it saw
  // them (the plan's Aging::lead and Assignment::lead, renumbered, are positions in this list).
  std::vector<CommandeState> commandes;
  std::vector<PoolLead> leads;
  kj::Own<TraceRecorder> trace;
  std::chrono::steady_clock::time_point started;
  double readSeconds = 0;  // reading the pools and commandes from the snapshot
  double planSeconds = 0;  // the allocation
  // The CPU the planning thread used for both (the thread reading the other entity's pools not
  // counted).
  double planCpuSeconds = 0;

  // The run's writes, made off the writer too, on the snapshot (prepareRun): the writer commits
  // them as they are when no job but Writes::OUTSIDE_RUNS ones (ingestion, the Sender's outcomes,
  // purges) ran since the snapshot (WriteQueue::onlyOutsideRunsSince(changeMark)); otherwise it
  // drops them and checks the plan.
  kj::Own<Txn> prepared;                   // a Store::beginAtSnapshot() transaction, or null
  uint64_t changeMark = 0;                 // WriteQueue::changeMark() before the snapshot
  std::vector<StatsChange> preparedStats;  // the run's counters: applied by the writer, on the
                                           // rows as they are then (ingestion adds to them)
  RunOutcome preparedOutcome;
  double prepareSeconds = 0;     // writing the run into `prepared`
  double prepareCpuSeconds = 0;  // the CPU that thread used for it (the spilling thread's not)
};

// Resolves and plans `asked` on `snapshot` (a worker thread; writes nothing). `snapshot` is read
// by two threads at once: a Store::snapshot(), or a Store::beginAtSnapshot() transaction with
// nothing written yet.
kj::Own<PlannedRun> planRunOnSnapshot(Reader& snapshot, const RunParams& asked,
                                      const OppositionKey* opposition);

// On a worker thread: plans `asked` on a snapshot (Store::beginAtSnapshot()) and, when there is
// a run to make, writes it into that snapshot's transaction (PlannedRun::prepared), stamped
// `now`. `changeMark`: WriteQueue::changeMark(), read by the caller before this call.
kj::Own<PlannedRun> prepareRun(Store& store, IdGenerator& ids, const RunParams& asked,
                               Timestamp now, const OppositionKey* opposition, uint64_t changeMark);

// Why `planned` may no longer be applied as it is (a lead it ages or gives changed, a commande or
// its counters changed, a phone was opposed, a client got that person meanwhile), or "" when it
// still holds.
std::string staleInputOf(Reader& reader, const PlannedRun& planned,
                         const OppositionKey* opposition);

// Inside a write job: returns the existing run of this date and scope untouched, or commits a
// new one, with its trace for `lead explain` (RunTrace). With `planned` prepared and
// `onlyOutsideRunsSince` (WriteQueue::onlyOutsideRunsSince(planned->changeMark), asked by the job),
// its writes are included as they are (Txn::include: the group ends with this job) and only the
// counters are written here. Otherwise the plan is `planned`'s when it was made for the scope
// still to run and nothing it relied on changed since its snapshot (staleInputOf); failing that
// (or without `planned`) the run is planned here, on the writer's current state. `now` stamps
// the history events and the batches' first attempt of what is written here (prepared writes
// keep prepareRun's `now`).
RunOutcome executeRun(Txn& txn, IdGenerator& ids, const RunParams& params, Timestamp now,
                      const OppositionKey* opposition = nullptr, PlannedRun* planned = nullptr,
                      bool onlyOutsideRunsSince = false);

// The batches of a run (both entities).
std::vector<Batch> batchesOfRun(Reader& reader, const RunRecord& run);

// `run` with its live status: "complete" once every batch is sent, else "committed". Derived,
// never stored, so a resent batch reopens its run.
RunRecord withLiveStatus(Reader& reader, RunRecord run);

}  // namespace rdz
