#include "daemon/service/stats.h"

#include <kj/debug.h>

#include <algorithm>
#include <cctype>

#include "daemon/domain/calendar.h"
#include "daemon/domain/commerce.h"
#include "daemon/store/codec.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"

namespace rdz {

StatsRequest resolveStatsRequest(Reader& r, std::vector<Entity> entities, std::string from,
                                 std::string to, std::string produit, std::string client,
                                 Timestamp now) {
  StatsRequest request;
  request.entities = kj::mv(entities);
  request.to = to.empty() ? parisDate(now) : kj::mv(to);
  request.from = from.empty() ? request.to : kj::mv(from);
  KJ_REQUIRE(isIsoDate(request.from), "--from is not a date (AAAA-MM-JJ)", request.from);
  KJ_REQUIRE(isIsoDate(request.to), "--to is not a date (AAAA-MM-JJ)", request.to);
  KJ_REQUIRE(request.from <= request.to, "--from is after --to", request.from, request.to);
  KJ_REQUIRE(addDays(request.from, MAX_STATS_DAYS - 1) >= request.to,
             "the period is longer than 1000 days", request.from, request.to);
  for (char& c : produit) c = static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  if (!produit.empty()) {
    bool known = false;
    for (Entity e : request.entities) known = known || getProduit(r, e, produit) != nullptr;
    KJ_REQUIRE(known, "no such produit", produit);
  }
  if (!client.empty()) {
    // Either entity: a client of the other one is where this entity's fallback leads went.
    bool known = false;
    for (Entity e : ALL_ENTITIES) known = known || getClient(r, e, client) != nullptr;
    if (!known) refuseUnknownClient(client);
  }
  request.produit = kj::mv(produit);
  request.client = kj::mv(client);
  return request;
}

StatsReportData computeStatsReport(Reader& r, const StatsRequest& request) {
  StatsReportData report;
  report.from = request.from;
  report.to = request.to;
  const std::string week = isoWeekOf(request.to);
  for (Entity e : request.entities) {
    EntityStats stats;
    stats.entity = e;
    stats.days = readStats(r, e, {request.from, request.to, request.produit, request.client});
    std::vector<DayCounters> days;
    for (auto& [date, day] : stats.days) days.push_back(day);
    stats.total = totalOf(days);
    for (const Commande& c : listCommandes(r, e)) {
      if (!request.produit.empty() && c.produit != request.produit) continue;
      if (!request.client.empty() && c.client != request.client) continue;
      CommandeStats out;
      out.id = c.id;
      out.client = c.client;
      out.produit = c.produit;
      out.quotaSemaine = c.quotaSemaine;
      WeekCount counted = weekCount(r, e, c.id, week);
      out.livresSemaine = counted.delivered;
      out.lbSemaine = counted.lb;
      out.remplacementsDus = replacementsOwed(r, e, c.id);
      out.figures = commandeWeekFigures(c.quotaSemaine, counted.delivered);
      stats.commandes.push_back(kj::mv(out));
    }
    report.entities.push_back(kj::mv(stats));
  }
  return report;
}

void fillStatsReport(const StatsReportData& report, schema::StatsReport::Builder out) {
  out.setFrom(report.from);
  out.setTo(report.to);
  auto entities = out.initEntities(report.entities.size());
  for (size_t i = 0; i < report.entities.size(); ++i) {
    const EntityStats& stats = report.entities[i];
    auto entity = entities[i];
    entity.setEntity(toCapnp(stats.entity));
    auto days = entity.initDays(stats.days.size());
    for (size_t d = 0; d < stats.days.size(); ++d) {
      toCapnp(stats.days[d].second, days[d]);
      days[d].setDate(stats.days[d].first);
    }
    toCapnp(stats.total, entity.initTotal());
    auto commandes = entity.initCommandes(stats.commandes.size());
    for (size_t c = 0; c < stats.commandes.size(); ++c) {
      const CommandeStats& s = stats.commandes[c];
      auto o = commandes[c];
      o.setId(s.id);
      o.setClient(s.client);
      o.setProduit(s.produit);
      o.setQuotaSemaine(s.quotaSemaine);
      o.setLivresSemaine(s.livresSemaine);
      o.setLbSemaine(s.lbSemaine);
      o.setRemplacementsDus(s.remplacementsDus);
      o.setCompletionPct(s.figures.completionPct);
      o.setManque(s.figures.manque);
    }
  }
}

}  // namespace rdz
