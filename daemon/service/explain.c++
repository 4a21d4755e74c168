#include "daemon/service/explain.h"

#include <kj/debug.h>

#include <mutex>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

// The run of `date` that covered `entity`'s leads: the full run, or that entity's own.
std::optional<std::string> runCovering(Reader& reader, std::string_view date, Entity entity) {
  for (const std::string& id : {runId(date, std::nullopt), runId(date, entity)}) {
    KJ_IF_MAYBE(run, getRun(reader, id)) {
      return run->id;
    }
  }
  return std::nullopt;
}

std::string dayAfter(std::string_view date) {
  // Noon + 24 h is the next day whatever the DST change of the night.
  auto noon = referenceTime(date, "12:00");
  KJ_ASSERT(noon.has_value(), std::string(date));
  return parisDate(*noon + std::chrono::hours(24));
}

}  // namespace

Explanation explainLeadInStore(Reader& reader, const RunSettings& settings,
                               const OppositionKey* opposition, std::optional<Entity> scope,
                               std::string_view id, std::string_view askedDate, Timestamp now) {
  std::optional<Lead> found;
  for (Entity e : ALL_ENTITIES) {
    if (scope && *scope != e) continue;
    KJ_IF_MAYBE(lead, getLead(reader, e, id)) {
      found = kj::mv(*lead);
    }
  }
  KJ_REQUIRE(found.has_value(), "no such lead", std::string(id));
  const Lead& lead = *found;
  std::vector<Delivery> deliveries = allDeliveriesOf(reader, lead.id);

  const std::string today = parisDate(now);
  std::string date(askedDate);
  std::optional<std::string> run;
  if (date.empty()) {
    if (auto latest = latestDelivery(deliveries)) {
      run = latest->run;
      date = runDateOf(*latest);
    } else {
      date = runCovering(reader, today, lead.entity) ? dayAfter(today) : today;
    }
  } else {
    KJ_REQUIRE(referenceTime(date, settings.deliveryTime).has_value(), "not a date (AAAA-MM-JJ)",
               date);
    run = runCovering(reader, date, lead.entity);
    KJ_REQUIRE(run.has_value() || date >= today, "no run on this date for the lead's entity", date);
  }

  RunTrace trace;
  LeadDecisions decisions;
  if (run) {
    KJ_IF_MAYBE(recorded, getRunTrace(reader, *run)) {
      trace = kj::mv(*recorded);
    } else {
      KJ_REQUIRE(getRun(reader, *run) != nullptr, "no such run", *run);
      KJ_FAIL_REQUIRE(
          "this run kept no explanation (it ran before lead explain existed, or over 35 days "
          "ago)",
          *run);
    }
    decisions = decisionsInHistory(getHistory(reader, lead.entity, lead.id), lead, *run);
  } else {
    // Not run yet: plan it as `deliver --dry-run` would (the entity left alone when the other
    // one already ran that date), writing nothing.
    RunParams asked = runParams(settings, date, std::nullopt, std::nullopt, now);
    RunScope runScope = resolveRun(reader, asked);
    KJ_ASSERT(runScope.toRun.has_value(), "a date without a run of the lead's entity", date);
    TraceRecorder recorder(runId(runScope.toRun->date, runScope.toRun->onlyEntity));
    // One dry run at a time: each plans the whole pool (seconds and a core on a large one), and
    // any viewer may ask.
    static std::mutex planning;
    std::lock_guard<std::mutex> lock(planning);
    RunPlan plan = planRunFromStore(reader, *runScope.toRun, opposition, &recorder);
    trace = kj::mv(recorder.trace());
    decisions = decisionsInPlan(plan, lead.id);
  }

  Explanation out = explainLead(lead, deliveries, trace, decisions);
  if (scope) {
    // The other company's commandes are not this session's to see, except the one its lead
    // went to (the lead's history names it already).
    std::erase_if(out.raisons, [&](const ExplainLine& line) {
      return line.pass && line.commandeEntity != *scope && line.commande != out.commande;
    });
  }
  return out;
}

size_t purgeExpiredRunTraces(Txn& txn, Timestamp now) {
  std::string today = parisDate(now);
  auto noon = referenceTime(today, "12:00");
  KJ_ASSERT(noon.has_value(), today);
  // Runs dated before this date are over RUN_TRACE_RETENTION_DAYS days old.
  std::string oldestKept =
      parisDate(*noon - std::chrono::hours(24) * RUN_TRACE_RETENTION_DAYS);
  return purgeRunTraces(txn, oldestKept);
}

}  // namespace rdz
