#include "daemon/service/run.h"

#include <fmt/format.h>
#include <kj/debug.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "daemon/domain/calendar.h"
#include "daemon/domain/explain.h"
#include "daemon/domain/fault-point.h"
#include "daemon/domain/history.h"
#include "daemon/domain/time.h"
#include "daemon/service/metrics.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"

namespace rdz {

namespace {

std::vector<Entity> scopeOf(const RunParams& params) {
  if (params.onlyEntity) return {*params.onlyEntity};
  return {std::begin(ALL_ENTITIES), std::end(ALL_ENTITIES)};
}

}  // namespace

RunParams runParams(const RunSettings& settings, std::string_view date, std::optional<Timestamp> at,
                    std::optional<Entity> entity, Timestamp now) {
  RunParams params;
  if (at) {
    KJ_REQUIRE(date.empty() || date == parisDate(*at), "--date and --at name different days");
    params.date = parisDate(*at);
    params.reference = *at;
  } else {
    params.date = date.empty() ? parisDate(now) : std::string(date);
    auto reference = referenceTime(params.date, settings.deliveryTime);
    KJ_REQUIRE(reference.has_value(), "not a date (AAAA-MM-JJ)", params.date);
    params.reference = *reference;
  }
  params.freshWindow = settings.freshWindow;
  params.lbReentry = settings.lbReentry;
  params.dedupWindow = settings.dedupWindow;
  params.onlyEntity = entity;
  return params;
}

namespace {

// What a run plans with, read from one state of the store.
struct RunInputs {
  std::vector<PoolLead> pool;
  std::vector<CommandeState> commandes;
  std::map<std::string, Entity, std::less<>> clientEntity;
};

// The commandes of the run's scope with their counters for D (and their clients' entities).
std::vector<CommandeState> readCommandes(Reader& reader, const RunParams& params,
                                         std::map<std::string, Entity, std::less<>>* clientEntity) {
  std::string week = isoWeekOf(params.date);
  std::vector<CommandeState> commandes;
  for (Entity e : scopeOf(params)) {
    std::map<std::string, bool> actif;
    for (auto& c : listClients(reader, e)) {
      actif[c.id] = c.actif;
      if (clientEntity != nullptr) (*clientEntity)[c.id] = e;
    }
    for (auto& c : listCommandes(reader, e)) {
      CommandeState state;
      WeekCount counted = weekCount(reader, e, c.id, week);
      state.deliveredThisWeek = counted.delivered;
      state.lbDeliveredThisWeek = counted.lb;
      state.deliveredToday = dayCount(reader, e, c.id, params.date);
      state.replacementsOwed = replacementsOwed(reader, e, c.id);
      state.replacementsServedThisWeek = counted.replacements;
      state.clientActif = actif.count(c.client) > 0 && actif[c.client];
      state.commande = kj::mv(c);
      commandes.push_back(kj::mv(state));
    }
  }
  return commandes;
}

// `concurrently`: `reader` may be read by two threads at once (a snapshot): the second entity's
// pools are read by a thread of their own while this one reads the first's.
RunInputs readInputs(Reader& reader, const RunParams& params, bool concurrently = false) {
  // The pools (new and LB leads received by T) and the delivered leads that re-enter LB (last
  // delivered at or before T − lbReentry), by range from their index entries: the lead records
  // and the history of older deliveries are never read.
  // An entity's pools, as the pieces they were read in (moved once, into the run's one list).
  using Pieces = std::vector<std::vector<PoolLead>>;
  auto poolsOf = [&](Entity e) {
    Pieces pieces;
    for (Statut s : {Statut::NEW, Statut::LB}) {
      pieces.push_back(poolLeadsUntil(reader, e, s, params.reference));
    }
    pieces.push_back(deliveredLeadsUntil(reader, e, params.reference - params.lbReentry));
    // A lead listed twice (index entries that disagree with its record: the audit reports
    // them) is taken once, as its record has it.
    std::set<std::string> twice;
    {
      std::vector<std::string_view> ids;
      size_t count = 0;
      for (const auto& piece : pieces) count += piece.size();
      ids.reserve(count);
      for (const auto& piece : pieces) {
        for (const PoolLead& lead : piece) ids.push_back(lead.id);
      }
      for (size_t i : repeatedIds(ids)) twice.emplace(ids[i]);
    }
    if (!twice.empty()) {
      KJ_LOG(WARNING, "leads listed more than once in the pools' index: taken as their records",
             std::string(entityName(e)), twice.size(), *twice.begin());
      for (auto& piece : pieces) {
        std::erase_if(piece, [&](const PoolLead& lead) { return twice.contains(lead.id); });
      }
      std::vector<PoolLead> records;
      for (const std::string& id : twice) {
        KJ_IF_MAYBE (lead, getPoolLead(reader, e, id)) {
          records.push_back(kj::mv(*lead));
        }
      }
      pieces.push_back(kj::mv(records));
    }
    return pieces;
  };
  const std::vector<Entity> scope = scopeOf(params);
  std::vector<Pieces> pools(scope.size());
  std::thread other;  // reads the second entity's pools when `concurrently`
  kj::Maybe<kj::Exception> error;
  if (concurrently && scope.size() == 2) {
    try {
      // The thread inherits this one's priority (a run's worker is niced).
      other = std::thread(
          [&]() { error = kj::runCatchingExceptions([&]() { pools[1] = poolsOf(scope[1]); }); });
    } catch (const std::system_error& e) {
      KJ_LOG(WARNING, "no thread to read an entity's pools: read one after the other", e.what());
    }
  }
  {
    KJ_DEFER(if (other.joinable()) other.join());
    for (size_t i = 0; i < scope.size(); ++i) {
      if (i == 0 || !other.joinable()) pools[i] = poolsOf(scope[i]);
    }
  }
  KJ_IF_MAYBE (e, error) kj::throwFatalException(kj::mv(*e));
  RunInputs inputs;
  // In the scope's order, as one list.
  size_t total = 0;
  for (const Pieces& pieces : pools) {
    for (const auto& piece : pieces) total += piece.size();
  }
  inputs.pool.reserve(total);
  for (Pieces& pieces : pools) {
    for (auto& piece : pieces) {
      std::move(piece.begin(), piece.end(), std::back_inserter(inputs.pool));
      piece = {};  // freed as it goes
    }
  }
  inputs.commandes = readCommandes(reader, params, &inputs.clientEntity);
  return inputs;
}

RunPlan planOn(Reader& reader, const RunInputs& inputs, const RunParams& params,
               const OppositionKey* opposition, PlanTrace* trace) {
  DuplicateLookup duplicates = [&](std::string_view e164, std::string_view produit,
                                   std::string_view client) -> std::optional<Timestamp> {
    auto it = inputs.clientEntity.find(client);
    if (it == inputs.clientEntity.end()) return std::nullopt;
    return lastDeliveryTo(reader, it->second, e164, produit, client);
  };
  OppositionLookup opposed;
  if (opposition != nullptr) {
    // An empty list opposes no one: no phone hashed nor looked up for it.
    std::array<bool, std::size(ALL_ENTITIES)> listed{};
    for (Entity e : ALL_ENTITIES) listed[static_cast<size_t>(e)] = hasOpposition(reader, e);
    if (std::find(listed.begin(), listed.end(), true) != listed.end()) {
      opposed = [&reader, opposition, listed](Entity list, std::string_view e164) {
        return listed[static_cast<size_t>(list)] && isOpposed(reader, list, opposition->hash(e164));
      };
    }
  }
  return planRun(params, inputs.pool, inputs.commandes, duplicates, opposed, trace);
}

double secondsBetween(std::chrono::steady_clock::time_point from,
                      std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// The CPU time the calling thread has used (the run's figures: its wall time depends on what
// else the machine's cores are doing, its CPU far less).
double threadCpuSeconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

RunPlan planRunFromStore(Reader& reader, const RunParams& params, const OppositionKey* opposition,
                         PlanTrace* trace) {
  return planOn(reader, readInputs(reader, params), params, opposition, trace);
}

namespace {

// The lead at position `lead` of the leads a plan was made from, which must be the lead the plan
// names.
const PoolLead& plannedLead(const std::vector<PoolLead>& leads, uint32_t lead,
                            std::string_view id) {
  KJ_REQUIRE(lead < leads.size() && leads[lead].id == id, "a planned lead the plan did not see",
             std::string(id));
  return leads[lead];
}

}  // namespace

kj::Own<PlannedRun> planRunOnSnapshot(Reader& snapshot, const RunParams& asked,
                                      const OppositionKey* opposition) {
  auto planned = kj::heap<PlannedRun>();
  planned->started = std::chrono::steady_clock::now();
  const double cpuStarted = threadCpuSeconds();
  planned->asked = asked;
  planned->scope = resolveRun(snapshot, asked);
  if (!planned->scope.toRun) return planned;
  const RunParams& params = *planned->scope.toRun;
  RunInputs inputs = readInputs(snapshot, params, /*concurrently=*/true);
  auto read = std::chrono::steady_clock::now();
  planned->readSeconds = secondsBetween(planned->started, read);
  planned->trace = kj::heap<TraceRecorder>(runId(params.date, params.onlyEntity));
  RunPlan plan = planOn(snapshot, inputs, params, opposition, planned->trace.get());
  planned->planSeconds = secondsBetween(read, std::chrono::steady_clock::now());
  planned->planCpuSeconds = threadCpuSeconds() - cpuStarted;

  // The leads the plan ages or assigns, moved out of the pools (which go now), the plan's
  // positions renumbered into that list.
  std::vector<uint32_t> renumbered(inputs.pool.size(), UINT32_MAX);
  auto keep = [&](uint32_t& position, std::string_view id) {
    KJ_REQUIRE(position < renumbered.size(), "a planned lead the plan did not see",
               std::string(id));
    uint32_t& kept = renumbered[position];
    if (kept == UINT32_MAX) {  // its first mention (a lead aged then assigned has two)
      kept = static_cast<uint32_t>(planned->leads.size());
      planned->leads.push_back(kj::mv(inputs.pool[position]));
    }
    position = kept;
    plannedLead(planned->leads, position, id);
  };
  planned->leads.reserve(plan.aging.size() + plan.assignments.size());
  for (Aging& a : plan.aging) keep(a.lead, a.leadId);
  for (Assignment& a : plan.assignments) keep(a.lead, a.leadId);
  planned->commandes = kj::mv(inputs.commandes);
  planned->plan = kj::mv(plan);
  return planned;
}

std::string staleInputOf(Reader& reader, const PlannedRun& planned,
                         const OppositionKey* opposition) {
  KJ_REQUIRE(planned.scope.toRun.has_value() && planned.plan.has_value(), "nothing was planned");
  const RunParams& params = *planned.scope.toRun;
  if (readCommandes(reader, params, nullptr) != planned.commandes) {
    return "a commande, its client or its counters changed";
  }
  // The leads the plan ages or assigns, as it saw them (one aged and assigned is read twice).
  auto changed = [&](uint32_t position, std::string_view id) -> std::string {
    const PoolLead& seen = plannedLead(planned.leads, position, id);
    KJ_IF_MAYBE (now, getPoolLead(reader, seen.entity, seen.id)) {
      if (*now != seen) return fmt::format("lead {} changed", seen.id);
      return "";
    }
    return fmt::format("lead {} is gone", seen.id);
  };
  for (const Aging& a : planned.plan->aging) {
    if (auto why = changed(a.lead, a.leadId); !why.empty()) return why;
  }
  for (const Assignment& a : planned.plan->assignments) {
    if (auto why = changed(a.lead, a.leadId); !why.empty()) return why;
  }
  const auto& assignments = planned.plan->assignments;
  const Timestamp dedupLimit = params.reference - params.dedupWindow;
  for (const Assignment& a : assignments) {
    const PoolLead& lead = plannedLead(planned.leads, a.lead, a.leadId);
    if (opposition != nullptr) {
      const std::string hash = opposition->hash(lead.telephoneE164);
      if (isOpposed(reader, a.leadEntity, hash) ||
          (a.commandeEntity != a.leadEntity && isOpposed(reader, a.commandeEntity, hash))) {
        return fmt::format("the phone of lead {} was opposed", a.leadId);
      }
    }
    auto last =
        lastDeliveryTo(reader, a.commandeEntity, lead.telephoneE164, lead.produit, a.client);
    if (last && *last > dedupLimit) {
      return fmt::format("client {} got the person of lead {} meanwhile", a.client, a.leadId);
    }
  }
  return "";
}

void checkRunDate(const RunParams& params, Timestamp now, bool force) {
  KJ_REQUIRE(force || params.date <= parisDate(now),
             "this date is after today (Europe/Paris): a run ahead of time needs --force",
             params.date);
}

RunScope resolveRun(Reader& reader, const RunParams& params) {
  RunScope scope;
  KJ_IF_MAYBE (same, getRun(reader, runId(params.date, params.onlyEntity))) {
    scope.done.push_back(kj::mv(*same));
    return scope;
  }
  if (params.onlyEntity) {
    KJ_IF_MAYBE (full, getRun(reader, runId(params.date, std::nullopt))) {
      scope.done.push_back(kj::mv(*full));
      return scope;
    }
    scope.toRun = params;
    return scope;
  }
  std::vector<Entity> left;
  for (Entity e : ALL_ENTITIES) {
    KJ_IF_MAYBE (one, getRun(reader, runId(params.date, e))) {
      scope.done.push_back(kj::mv(*one));
    } else {
      left.push_back(e);
    }
  }
  if (scope.done.empty()) {
    scope.toRun = params;
  } else if (!left.empty()) {
    KJ_ASSERT(left.size() == 1);
    RunParams rest = params;
    rest.onlyEntity = left[0];
    scope.toRun = kj::mv(rest);
    scope.done.clear();
  }
  return scope;
}

namespace {

// The writes of a run planned as `plan` (SPEC §5.7): aging, deliveries, duplicate-index entries,
// quota counters, lead statuses and history, one pending batch per client, the run record and its
// trace. The day's counters are returned in `stats` (for the caller to apply) when it is given,
// else applied in `txn`.
//
// `leads`: those the plan was made from (its positions), as `txn` has the ones it ages or
// assigns. A lead's record is never read nor rewritten whole: its change of state is added to
// it (changeLeadState), once, in one pass at the end.
RunOutcome writeRun(Txn& txn, IdGenerator& ids, const RunParams& params, const RunPlan& plan,
                    TraceRecorder& trace, Timestamp now, std::vector<StatsChange>* stats,
                    const std::vector<PoolLead>& leads) {
  RunOutcome outcome;
  std::string id = runId(params.date, params.onlyEntity);
  std::string week = isoWeekOf(params.date);
  const Timestamp T = params.reference;
  RunCount counted;
  counted.runId = id;
  counted.date = params.date;
  counted.reference = T;
  counted.entities = scopeOf(params);
  // The pools as the run finds them (read before it writes), then moved with each lead it changes.
  for (Entity e : counted.entities) counted.pools[e] = countRunPools(txn, e, T);
  // What the run writes and never reads back: a transaction at a snapshot does not index it.
  Txn& writes = txn.writeOnly();
  // Each lead's change, by position, written once at the end.
  constexpr uint8_t AGED = 1, DELIVERED = 2;
  std::vector<uint8_t> leadChanges(leads.size());
  for (auto& aging : plan.aging) {
    plannedLead(leads, aging.lead, aging.leadId);
    leadChanges[aging.lead] |= AGED;
    addHistory(writes, aging.entity, aging.leadId, history::aged(now, id));
  }

  // One batch per client, in the order clients first appear in the plan.
  std::unordered_map<std::string_view, size_t> batchOfClient;  // the plan's client ids
  // The week's and the day's counters, written once per commande.
  struct CommandeCount {
    int32_t delivered = 0;
    int32_t lb = 0;
  };
  std::map<std::pair<Entity, std::string_view>, CommandeCount> countByCommande;  // plan's ids
  for (auto& a : plan.assignments) {
    auto [client, first] = batchOfClient.try_emplace(a.client, outcome.batches.size());
    if (first) {
      Batch batch;
      batch.id = ids.next(now);
      batch.entity = a.commandeEntity;
      batch.client = a.client;
      batch.run = id;
      batch.nextAttempt = now;  // send right after the commit
      outcome.batches.push_back(kj::mv(batch));
    }
    Batch& batch = outcome.batches[client->second];
    const PoolLead& lead = plannedLead(leads, a.lead, a.leadId);
    KJ_ASSERT((leadChanges[a.lead] & DELIVERED) == 0, "a lead is planned twice", a.leadId);
    leadChanges[a.lead] |= DELIVERED;

    Delivery d;
    d.id = ids.next(now);
    d.leadEntity = a.leadEntity;
    d.entity = a.commandeEntity;
    d.lead = a.leadId;
    d.commande = a.commandeId;
    d.client = a.client;
    d.run = id;
    d.pass = a.pass;
    d.at = T;
    d.batch = batch.id;
    putDelivery(writes, d);
    batch.deliveries.push_back(d.id);

    bool fromLb = a.pass == PassKind::LB || a.pass == PassKind::LB_FALLBACK;
    putLastDelivery(writes, a.commandeEntity, lead.telephoneE164, lead.produit, a.client, T);
    CommandeCount& count = countByCommande[{a.commandeEntity, a.commandeId}];
    count.delivered += 1;
    count.lb += fromLb ? 1 : 0;

    addHistory(writes, a.leadEntity, a.leadId, history::delivered(now, d));
    counted.addDelivery(d, lead.produit);
  }
  for (auto& [commande, count] : countByCommande) {
    addWeekCount(txn, commande.first, commande.second, week, count.delivered, count.lb);
    addDayCount(txn, commande.first, commande.second, params.date, count.delivered);
  }
  for (auto& skip : plan.duplicates) {
    addHistory(writes, skip.leadEntity, skip.leadId, history::duplicateSkipped(now, skip, id));
  }
  for (auto& skip : plan.oppositions) {
    addHistory(writes, skip.leadEntity, skip.leadId, history::opposedInRun(now, skip.list, id));
  }
  for (auto& served : plan.replacements) {
    addReplacementsOwed(txn, served.entity, served.commandeId, -static_cast<int32_t>(served.count));
    addWeekReplacements(txn, served.entity, served.commandeId, week,
                        static_cast<int32_t>(served.count));
  }
  // Each lead's change once, without reading its record.
  for (size_t i = 0; i < leads.size(); ++i) {
    if (leadChanges[i] == 0) continue;
    const PoolLead& before = leads[i];
    const bool delivered = (leadChanges[i] & DELIVERED) != 0;
    counted.pools[before.entity].move(before.statut, delivered ? Statut::DELIVERED : Statut::LB,
                                      before.recuLe, T);
    changeLeadState(writes, before, (leadChanges[i] & AGED) != 0,
                    delivered ? std::optional<Timestamp>(T) : std::nullopt);
  }
  counted.duplicates = plan.duplicates;
  auto changes = runStatsChanges(txn, counted);
  if (stats != nullptr) {
    *stats = kj::mv(changes);
  } else {
    applyStats(txn, changes);
  }
  for (auto& b : outcome.batches) {
    putBatch(txn, b, nullptr);
    countBatch(txn, nullptr, b);
  }

  RunRecord& run = outcome.run;
  run.id = id;
  run.date = params.date;
  run.entity = params.onlyEntity;
  run.reference = T;
  run.status = outcome.batches.empty() ? "complete" : "committed";
  run.aged = static_cast<uint32_t>(plan.aging.size());
  run.assigned = static_cast<uint32_t>(plan.assignments.size());
  run.doublonsEvites = static_cast<uint32_t>(plan.duplicates.size());
  for (Entity e : scopeOf(params)) run.byEntity[e] = {};
  for (auto& a : plan.aging) run.byEntity[a.entity].aged += 1;
  for (auto& a : plan.assignments) run.byEntity[a.commandeEntity].assigned += 1;
  for (auto& d : plan.duplicates) run.byEntity[d.leadEntity].doublonsEvites += 1;
  for (auto& b : outcome.batches) run.batches.push_back(b.id);
  putRun(txn, run);
  trace.trace().committedAt = now;
  putRunTrace(txn, trace.trace());
  return outcome;
}

}  // namespace

kj::Own<PlannedRun> prepareRun(Store& store, IdGenerator& ids, const RunParams& asked,
                               Timestamp now, const OppositionKey* opposition,
                               uint64_t changeMark) {
  auto txn = store.beginAtSnapshot();
  auto planned = planRunOnSnapshot(*txn, asked, opposition);
  if (!planned->plan) return planned;
  // The planner's pools and indexes, freed: their pages back to the system before the run's
  // writes take as many.
  ::malloc_trim(0);
  auto writing = std::chrono::steady_clock::now();
  const double cpuWriting = threadCpuSeconds();
  planned->preparedOutcome =
      writeRun(*txn, ids, *planned->scope.toRun, *planned->plan, *planned->trace, now,
               &planned->preparedStats, planned->leads);
  // Here, not on the writer. If even the batch fallback fails (a spill that cannot be read
  // back), the plan is kept without its writes: the writer checks it and writes it itself.
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { txn->finishWrites(); })) {
    KJ_LOG(WARNING, "a run's writes prepared on its snapshot are dropped", *e);
    planned->preparedOutcome = {};
    planned->preparedStats.clear();
    return planned;
  }
  ::malloc_trim(0);            // the arena the writes were sorted in, freed once they are in files
  faultPoint("run.prepared");  // written on the snapshot (files synced, or a batch); not committed
  planned->prepared = kj::mv(txn);
  planned->changeMark = changeMark;
  planned->prepareSeconds = secondsBetween(writing, std::chrono::steady_clock::now());
  planned->prepareCpuSeconds = threadCpuSeconds() - cpuWriting;
  return planned;
}

RunOutcome executeRun(Txn& txn, IdGenerator& ids, const RunParams& asked, Timestamp now,
                      const OppositionKey* opposition, PlannedRun* planned,
                      bool onlyOutsideRunsSince) {
  faultPoint("run.before_commit");
  auto started = planned != nullptr ? planned->started : std::chrono::steady_clock::now();
  KJ_ON_SCOPE_FAILURE(metrics().countRun(asked.onlyEntity, Metrics::RunOutcome::FAILED, 0));
  RunScope scope = resolveRun(txn, asked);
  if (!scope.toRun) {
    RunOutcome outcome;
    outcome.run = scope.done.front();
    for (auto& run : scope.done) {
      auto batches = batchesOfRun(txn, run);
      outcome.batches.insert(outcome.batches.end(), batches.begin(), batches.end());
    }
    outcome.alreadyDone = true;
    countRun(txn, asked.onlyEntity, true, started);
    return outcome;
  }
  const RunParams& params = *scope.toRun;
  auto checking = std::chrono::steady_clock::now();
  const bool sameScope = planned != nullptr && planned->plan && *planned->scope.toRun == params;

  // Only Writes::OUTSIDE_RUNS jobs since the snapshot: every record the run read is as it read
  // it, and its writes hold as they were made. Only the day's counters are written here, on the
  // rows as ingestion left them.
  if (sameScope && onlyOutsideRunsSince && planned->prepared.get() != nullptr) {
    applyStats(txn, planned->preparedStats);
    countRun(txn, asked.onlyEntity, false, started);
    txn.include(kj::mv(planned->prepared));
    RunOutcome outcome = kj::mv(planned->preparedOutcome);
    outcome.fromSnapshot = true;
    outcome.writeSeconds = secondsBetween(checking, std::chrono::steady_clock::now());
    return outcome;
  }
  if (planned != nullptr) planned->prepared = nullptr;  // its snapshot's versions, let go

  // The plan made on a snapshot, when it still holds; else one made here, on the current state.
  kj::Own<TraceRecorder> trace;
  RunPlan plan;
  std::string staleBecause;
  if (planned != nullptr) {
    staleBecause = sameScope ? staleInputOf(txn, *planned, opposition) : "the run's scope changed";
    if (staleBecause.empty()) {
      plan = kj::mv(*planned->plan);
      trace = kj::mv(planned->trace);
    }
  }
  auto writing = std::chrono::steady_clock::now();
  std::vector<PoolLead> leads;  // those the plan was made from
  if (trace.get() == nullptr) {
    trace = kj::heap<TraceRecorder>(runId(params.date, params.onlyEntity));
    RunInputs inputs = readInputs(txn, params);
    plan = planOn(txn, inputs, params, opposition, trace.get());
    leads = kj::mv(inputs.pool);
    // Written from their records, not from their pool entries: a pool entry that disagrees with
    // its record (the audit reports those) is what sends a plan here.
    std::vector<bool> read(leads.size());
    auto readLead = [&](uint32_t position, std::string_view id) {
      const PoolLead& seen = plannedLead(leads, position, id);
      if (read[position]) return;
      read[position] = true;
      KJ_IF_MAYBE (lead, getPoolLead(txn, seen.entity, seen.id)) {
        leads[position] = kj::mv(*lead);
      } else {
        KJ_FAIL_ASSERT("a planned lead is missing", seen.id);
      }
    };
    for (const Aging& a : plan.aging) readLead(a.lead, a.leadId);
    for (const Assignment& a : plan.assignments) readLead(a.lead, a.leadId);
  } else {
    leads = kj::mv(planned->leads);  // as stored: staleInputOf read each one it changes
  }
  RunOutcome outcome = writeRun(txn, ids, params, plan, *trace, now, nullptr, leads);
  outcome.staleBecause = kj::mv(staleBecause);
  outcome.replanned = !outcome.staleBecause.empty();
  outcome.checkSeconds = secondsBetween(checking, writing);
  countRun(txn, asked.onlyEntity, false, started);
  outcome.writeSeconds = secondsBetween(writing, std::chrono::steady_clock::now());
  return outcome;
}

std::vector<Batch> batchesOfRun(Reader& reader, const RunRecord& run) {
  std::vector<Batch> out;
  for (auto& id : run.batches) {
    for (Entity e : ALL_ENTITIES) {
      KJ_IF_MAYBE (b, getBatch(reader, e, id)) {
        out.push_back(kj::mv(*b));
        break;
      }
    }
  }
  return out;
}

RunRecord withLiveStatus(Reader& reader, RunRecord run) {
  auto batches = batchesOfRun(reader, run);
  bool allSent = std::all_of(batches.begin(), batches.end(),
                             [](const Batch& b) { return b.status == BatchStatus::SENT; });
  run.status = allSent ? "complete" : "committed";
  return run;
}

}  // namespace rdz
