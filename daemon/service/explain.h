// `lead explain` as the service answers it (SPEC §7.4): finds the lead and the run, then the
// run's trace and the lead's decisions — recorded (a run that happened: its RunTrace and the
// lead's history of it) or computed (a dry run of a date not run yet) — and explains with the
// pure daemon/domain/explain.h.
#pragma once

#include <optional>
#include <string_view>

#include "daemon/domain/explain.h"
#include "daemon/service/opposition.h"
#include "daemon/service/run.h"
#include "daemon/store/store.h"

namespace rdz {

// Reads only. `scope`: the session's entity (only its leads; of the other entity's commandes,
// only the one that received the lead by fallback). `date` "": the run of the lead's latest
// delivery, else the next run. A date without a run is a dry run from today (Europe/Paris) on,
// refused before. A dry run plans the whole run (seconds on a large pool): call it off the event
// loop. Throws (KJ_REQUIRE) on a refusal: no such lead, no such run, a run without a trace.
Explanation explainLeadInStore(Reader& reader, const RunSettings& settings,
                               const OppositionKey* opposition, std::optional<Entity> scope,
                               std::string_view id, std::string_view date, Timestamp now);

// A run's trace is kept 35 days after its date (docs/DECISIONS.md): past the rejection window and
// the duplicate window, when nobody asks any more why a lead went where it went.
constexpr int RUN_TRACE_RETENTION_DAYS = 35;

// Deletes the traces of the runs dated more than RUN_TRACE_RETENTION_DAYS before `now`'s date
// (Europe/Paris); returns how many. A short job: a few runs a day expire.
size_t purgeExpiredRunTraces(Txn& txn, Timestamp now);

}  // namespace rdz
