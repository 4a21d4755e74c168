// The daily counters of SPEC §7.3, in the per-entity family `stats`: kept in step with every
// change (written into the change's own Txn, so they commit or vanish with it), read by
// `Viewer.stats` without reading a lead, and recounted from the records for the audit.
//
// Rows (family "<entity>.stats", see keys.h); each value is a StatsDay:
//   'T' date               every counter of the entity's day;
//   'P' produit 0 date     the delivery-side counters (deliverySide()) of that produit;
//   'C' client 0 date produit  the delivery-side counters of (client, produit).
// A query over D days reads D 'T' rows, plus D 'P' rows (--produit) or D × (the client's
// produits) 'C' rows (--client). A row whose counters all come back to zero is deleted.
// 'r' run id -> RunStats: what a run counted for the entity (pools left, duplicates avoided).
// System key "Xstats": the counters were built; a database from before them is rebuilt from its
// records once, at startup (ensureStatsBuilt).
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/domain/allocation.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/stats.h"
#include "daemon/store/store.h"

namespace rdz {

// Adds `changes` to the counter rows, in `txn`: every row touched is read once (through the
// txn, so jobs of one group commit see each other) and written once. Throws (KJ_ASSERT) if a
// counter would go negative: the change and the counters disagree, nothing may be committed.
void applyStats(Txn& txn, const std::vector<StatsChange>& changes);
// The same for increments only (no counter going down, no pool snapshot: a lead received), put
// off until `txn` settles (Txn::Deferred): the jobs of one group commit that count into the same
// rows then cost one read and one write per row, not per job. Throws (KJ_ASSERT) on a change that
// is not an increment. A stats row is read through a Txn only after txn.settle() (applyStats does).
void addStats(Txn& txn, const std::vector<StatsChange>& increments);

// What a run commits that moves the counters.
// The pools of an entity a run counts (SPEC §7.3): stock LB (every `lb` lead) and unsold fresh
// leads (`new` ones received by the run's reference time).
struct RunPools {
  int64_t stockLb = 0;
  int64_t freshInvendus = 0;
  // Moves a lead from statut `from` to `to` (received at `recuLe`) in the counts.
  void move(Statut from, Statut to, Timestamp recuLe, Timestamp reference);
};
// Those of entity `e`, as `r` has them.
RunPools countRunPools(Reader& r, Entity e, Timestamp reference);

struct RunCount {
  std::string runId;
  std::string date;
  Timestamp reference{};
  std::vector<Entity> entities;           // the run's scope
  std::vector<DuplicateSkip> duplicates;  // each with its lead's produit
  std::map<Entity, RunPools> pools;       // each entity of the scope, as the run leaves it

  // Counts one of the run's deliveries, of a lead of `produit`. Deliveries that move the same
  // rows by the same counters (what statsOfDelivery reads: the two entities, LB or fresh, the
  // client, the run, the produit) are kept once with their number: a row per client and produit,
  // not a copy of each delivery (half a million at a million leads).
  void addDelivery(const Delivery& d, std::string_view produit);
  struct Alike {
    Delivery delivery;  // the first of them
    std::string produit;
    int count = 0;
  };
  std::unordered_map<std::string, Alike> deliveries;  // by what statsOfDelivery reads

 private:
  std::string key_;  // addDelivery's buffer
};
// Counts a run in `txn`: the deliveries, the duplicates avoided, and the pools each entity of its
// scope is left with; writes each entity's RunStats record and returns the day's counters for the
// caller to apply (applyStats) — a run written on a snapshot has them applied by the writer, to
// the rows as they are then.
std::vector<StatsChange> runStatsChanges(Txn& txn, const RunCount& run);

// What `Viewer.stats` asks. Dates "AAAA-MM-JJ", from <= to; produit / client "" for any.
struct StatsQuery {
  std::string from;
  std::string to;
  std::string produit;
  std::string client;
};
// Every day of the query, in order (zeros on days without activity): the entity-wide counters of
// the day, and the delivery-side ones filtered by produit / client when the query has them.
std::vector<std::pair<std::string, DayCounters>> readStats(Reader& r, Entity e,
                                                           const StatsQuery& query);

// ---- the recount (audit, rebuild) ---------------------------------------------------------

// Counter rows by (entity, key of the stats family).
using StatsTable = std::map<std::pair<Entity, std::string>, DayCounters>;

// Every counter row of both entities as stored (not the RunStats records).
StatsTable storedStats(Reader& r);

// Every counter row of both entities recomputed from the records, with the rules of
// daemon/domain/stats.h: the leads (recus, invalides; effaces at the time of their history's
// erasure event), the deliveries of both entities (livres, fallback, rejetes; those an erasure
// withdrew are not delivered), the runs (each one's RunStats record: duplicates avoided and the
// pools it left; runs from before counters: their record's per-entity duplicates count, on the
// day row only). Reads every lead and delivery: call it on a snapshot, off the event loop and the
// writer (the audit), or at startup. Both entities at once, since a fallback delivery moves
// counters of both.
StatsTable recountStats(Reader& r);

// One difference between two tables.
struct StatsMismatch {
  Entity entity;
  std::string key;  // readable: "2026-07-01", "2026-07-01 produit PV", "2026-07-01 client acme PV"
  std::string detail;  // "livres_fresh: stored 3, recounted 2"
};
// The rows where `stored` and `recounted` differ (a missing row counts as all zero), in key
// order. Empty: the counters match the recount. For `rdzctl audit`:
//   compareStats(storedStats(snapshot), recountStats(snapshot)).
std::vector<StatsMismatch> compareStats(const StatsTable& stored, const StatsTable& recounted);

// Replaces every counter row of both entities with the recount and marks the counters built, in
// one commit. For a store no writer uses meanwhile (startup, rdz-bench).
void rebuildStats(Store& store);
// At startup: rebuilds the counters when they were never built (a database from before them;
// for a new one, it only marks them built). Returns whether it rebuilt.
bool ensureStatsBuilt(Store& store);

}  // namespace rdz
