#include "daemon/domain/stats.h"

#include <kj/debug.h>

#include <algorithm>
#include <set>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/validation.h"

namespace rdz {

namespace {

bool fromLb(const Delivery& d) { return d.pass == PassKind::LB || d.pass == PassKind::LB_FALLBACK; }

StatsChange entityChange(Entity e, std::string date) {
  StatsChange change;
  change.entity = e;
  change.date = kj::mv(date);
  return change;
}

StatsChange rowChange(Entity e, std::string date, std::string_view produit,
                      std::string_view client) {
  StatsChange change = entityChange(e, kj::mv(date));
  change.produit = std::string(produit);
  change.client = std::string(client);
  return change;
}

}  // namespace

void addCounters(DayCounters& into, const DayCounters& delta) {
  into.recus += delta.recus;
  for (auto& [code, n] : delta.invalides) {
    int64_t& count = into.invalides[code];
    count += n;
    if (count == 0) into.invalides.erase(code);
  }
  into.livresFresh += delta.livresFresh;
  into.livresLb += delta.livresLb;
  into.fallbackEntrants += delta.fallbackEntrants;
  into.fallbackSortants += delta.fallbackSortants;
  into.doublonsEvites += delta.doublonsEvites;
  into.rejetes += delta.rejetes;
  into.effaces += delta.effaces;
  if (delta.stockLb) into.stockLb = delta.stockLb;
  if (delta.freshInvendus) into.freshInvendus = delta.freshInvendus;
}

bool isZero(const DayCounters& c) { return c == DayCounters{}; }

bool hasNegative(const DayCounters& c) {
  for (auto& [code, n] : c.invalides) {
    if (n < 0) return true;
  }
  for (int64_t v : {c.recus, c.livresFresh, c.livresLb, c.fallbackEntrants, c.fallbackSortants,
                    c.doublonsEvites, c.rejetes, c.effaces, c.stockLb.value_or(0),
                    c.freshInvendus.value_or(0)}) {
    if (v < 0) return true;
  }
  return false;
}

DayCounters deliverySide(const DayCounters& c) {
  DayCounters out;
  out.livresFresh = c.livresFresh;
  out.livresLb = c.livresLb;
  out.fallbackEntrants = c.fallbackEntrants;
  out.fallbackSortants = c.fallbackSortants;
  out.doublonsEvites = c.doublonsEvites;
  out.rejetes = c.rejetes;
  return out;
}

DayCounters entityWide(const DayCounters& c) {
  DayCounters out;
  out.recus = c.recus;
  out.invalides = c.invalides;
  out.effaces = c.effaces;
  out.stockLb = c.stockLb;
  out.freshInvendus = c.freshInvendus;
  return out;
}

std::vector<StatsChange> statsOfReception(const Lead& lead) {
  StatsChange change = entityChange(lead.entity, parisDate(lead.recuLe));
  change.delta.recus = 1;
  // A code listed twice is one lead with that problem.
  std::set<std::string> blocking;
  for (auto& code : lead.problemes) {
    if (isBlockingProblem(code)) blocking.insert(code);
  }
  for (auto& code : blocking) change.delta.invalides[code] = 1;
  return {change};
}

std::vector<StatsChange> statsOfDelivery(const Delivery& d, std::string_view produit, int sign) {
  std::string date = runDateOf(d);
  std::vector<StatsChange> out;
  StatsChange receiving = rowChange(d.entity, date, produit, d.client);
  (fromLb(d) ? receiving.delta.livresLb : receiving.delta.livresFresh) = sign;
  if (d.leadEntity != d.entity) receiving.delta.fallbackEntrants = sign;
  out.push_back(kj::mv(receiving));
  if (d.leadEntity != d.entity) {
    StatsChange owner = rowChange(d.leadEntity, date, produit, d.client);
    owner.delta.fallbackSortants = sign;
    out.push_back(kj::mv(owner));
  }
  return out;
}

StatsChange statsOfRejection(const Delivery& d, std::string_view produit) {
  KJ_REQUIRE(d.rejeteLe.has_value(), "a rejection needs its time", d.id);
  StatsChange change = rowChange(d.entity, parisDate(*d.rejeteLe), produit, d.client);
  change.delta.rejetes = 1;
  return change;
}

StatsChange statsOfErasure(Entity e, Timestamp at) {
  StatsChange change = entityChange(e, parisDate(at));
  change.delta.effaces = 1;
  return change;
}

StatsChange statsOfDuplicateSkips(Entity leadEntity, std::string_view date,
                                  std::string_view produit, std::string_view client,
                                  int64_t count) {
  StatsChange change = rowChange(leadEntity, std::string(date), produit, client);
  change.delta.doublonsEvites = count;
  return change;
}

StatsChange statsOfRunSnapshot(Entity e, std::string_view date, int64_t stockLb,
                               int64_t freshInvendus) {
  StatsChange change = entityChange(e, std::string(date));
  change.delta.stockLb = stockLb;
  change.delta.freshInvendus = freshInvendus;
  return change;
}

bool isClientRejection(const Delivery& d) { return !d.rejet.empty() && d.rejet != REJET_EFFACE; }

DayCounters totalOf(const std::vector<DayCounters>& days) {
  DayCounters total;
  for (auto& day : days) addCounters(total, day);
  return total;
}

CommandeWeekFigures commandeWeekFigures(uint32_t quotaSemaine, uint32_t livresSemaine) {
  CommandeWeekFigures figures;
  if (quotaSemaine > 0) {
    figures.completionPct =
        static_cast<uint32_t>(uint64_t{livresSemaine} * 100 / uint64_t{quotaSemaine});
  }
  figures.manque = livresSemaine < quotaSemaine ? quotaSemaine - livresSemaine : 0;
  return figures;
}

}  // namespace rdz
