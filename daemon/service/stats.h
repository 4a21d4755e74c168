// `Viewer.stats` (SPEC §7.3): the daily counters of a period per entity, and the current week of
// each commande, read from the counters the changes keep (daemon/store/stats.h) and the quota
// counters: no lead is read. Thread-safe reads of the committed state: the server computes the
// report on a worker thread and only fills the reply on the event loop.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/domain/stats.h"
#include "daemon/store/store.h"
#include "schema/rdz.capnp.h"

namespace rdz {

// The longest period one query may ask (a reply never grows with the database, SPEC §10).
constexpr int MAX_STATS_DAYS = 1000;

struct StatsRequest {
  std::vector<Entity> entities;
  std::string from;
  std::string to;
  std::string produit;  // "" for any
  std::string client;   // "" for any
};

// The request with its defaults (`to` "": today in Europe/Paris at `now`; `from` "": `to`) and
// the produit code in upper case. Refuses (KJ_REQUIRE) a malformed date, from after to, a period
// over MAX_STATS_DAYS, a client that exists in no entity, a produit in no catalogue of the
// entities asked.
StatsRequest resolveStatsRequest(Reader& r, std::vector<Entity> entities, std::string from,
                                 std::string to, std::string produit, std::string client,
                                 Timestamp now);

struct CommandeStats {
  std::string id;
  std::string client;
  std::string produit;
  uint32_t quotaSemaine = 0;
  uint32_t livresSemaine = 0;
  uint32_t lbSemaine = 0;
  uint32_t remplacementsDus = 0;
  CommandeWeekFigures figures;
};

struct EntityStats {
  Entity entity = Entity::ZR7;
  std::vector<std::pair<std::string, DayCounters>> days;
  DayCounters total;
  std::vector<CommandeStats> commandes;  // of the ISO week of `to`, filtered, by id
};

struct StatsReportData {
  std::string from;
  std::string to;
  std::vector<EntityStats> entities;
};

// Reads the report of a resolved request. Safe from any thread (Store reads).
StatsReportData computeStatsReport(Reader& r, const StatsRequest& request);

void fillStatsReport(const StatsReportData& report, schema::StatsReport::Builder out);

}  // namespace rdz
