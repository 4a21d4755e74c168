// The daily counters of SPEC §7.3: which counters a change moves. Pure. The store applies the
// changes in the same atomic write as the change itself (daemon/store/stats.h), and recounts them
// from the stored records with these same functions, so "kept in step" and "recounted" cannot
// disagree on the rules.
//
// A day is a Europe/Paris calendar date:
// - recus, invalides: the date of the lead's recu_le;
// - livres_fresh, livres_lb, fallback_entrants, fallback_sortants, doublons_evites, stock_lb,
//   fresh_invendus: the run's date (its deliveries are made at that date's reference time);
// - rejetes: the date of the rejection (`lead reject --at`);
// - effaces: the date of the erasure.
// Whose counter: the lead's entity for recus, invalides, effaces, fallback_sortants,
// doublons_evites, stock_lb and fresh_invendus; the receiving client's entity for livres_fresh,
// livres_lb, fallback_entrants and rejetes (a fallback delivery is one of the receiving entity's
// deliveries, and a fallback_sortant of the lead's).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"

namespace rdz {

// The counters of one entity and day, of one (day, produit, client) row, or of a period. Signed:
// the same struct holds a change (a delivery withdrawn by an erasure is −1).
struct DayCounters {
  int64_t recus = 0;
  std::map<std::string, int64_t> invalides;  // blocking problem code -> leads
  int64_t livresFresh = 0;
  int64_t livresLb = 0;
  int64_t fallbackEntrants = 0;
  int64_t fallbackSortants = 0;
  int64_t doublonsEvites = 0;
  int64_t rejetes = 0;
  int64_t effaces = 0;
  // The pools after the day's run (leads `lb`; `new` leads received by the run's reference time,
  // i.e. fresh and not sold). None on a day without a run.
  std::optional<int64_t> stockLb;
  std::optional<int64_t> freshInvendus;
  bool operator==(const DayCounters&) const = default;
};

// Adds `delta` to `into`: counts add up (a problem code whose count comes to 0 is dropped); a
// snapshot (stock_lb, fresh_invendus) present in `delta` replaces the one in `into`. Folding days
// in date order therefore leaves the snapshot of the last day that has one.
void addCounters(DayCounters& into, const DayCounters& delta);
bool isZero(const DayCounters& c);
bool hasNegative(const DayCounters& c);

// The counters SPEC §7.3 lets --produit / --client filter: livres_fresh, livres_lb,
// fallback_entrants, fallback_sortants, doublons_evites, rejetes. The others of `c` are zeroed.
DayCounters deliverySide(const DayCounters& c);
// The others (recus, invalides, effaces, stock_lb, fresh_invendus); the delivery side zeroed.
DayCounters entityWide(const DayCounters& c);

// One move of the counters of entity `entity` on day `date`. `produit` and `client` are set when
// the delta is delivery-side (the rows that filters read), "" when it is entity-wide.
struct StatsChange {
  Entity entity = Entity::ZR7;
  std::string date;
  std::string produit;
  std::string client;
  DayCounters delta;
  bool operator==(const StatsChange&) const = default;
};

// A lead stored (valid or not, SPEC §3.2): recus, and invalides once per blocking problem code.
std::vector<StatsChange> statsOfReception(const Lead& lead);

// A delivery committed by a run (sign +1; +n: n deliveries alike), or taken back (−1) when an
// erasure drops it from an unsent batch before the client had it: livres_fresh or livres_lb
// (+ fallback_entrants) of the receiving entity, fallback_sortants of the lead's entity when it
// crossed; on the run's date. `produit`: the lead's.
std::vector<StatsChange> statsOfDelivery(const Delivery& d, std::string_view produit, int sign = 1);

// A client's rejection of `d` (rejet and rejeteLe set): rejetes of the receiving entity, on the
// date of the rejection.
StatsChange statsOfRejection(const Delivery& d, std::string_view produit);

// A lead of entity `e` erased (SPEC §7.2) at `at`.
StatsChange statsOfErasure(Entity e, Timestamp at);

// `count` duplicates avoided (SPEC §5.6) in the run of `date`: leads of `leadEntity` passed over
// for `client`, who already had the person.
StatsChange statsOfDuplicateSkips(Entity leadEntity, std::string_view date,
                                  std::string_view produit, std::string_view client,
                                  int64_t count = 1);

// The pools of entity `e` right after its run of `date`.
StatsChange statsOfRunSnapshot(Entity e, std::string_view date, int64_t stockLb,
                               int64_t freshInvendus);

// Whether `d` was rejected by its client: rejet set, and not REJET_EFFACE (an erasure's
// withdrawal from an unsent batch, after which the delivery does not count as delivered).
bool isClientRejection(const Delivery& d);

// What a run counted for one entity (its leads): the pools it left and the duplicates it
// avoided per (produit, client). Written once with the run; the counters of the run's date are
// recounted from it, since the pools it left cannot be recounted from later records.
struct RunStats {
  std::optional<int64_t> stockLb;
  std::optional<int64_t> freshInvendus;
  struct Doublons {
    std::string produit;
    std::string client;
    int64_t count = 0;
    bool operator==(const Doublons&) const = default;
  };
  std::vector<Doublons> doublons;
  bool operator==(const RunStats&) const = default;
};

// A period's total: counts add up; stock_lb and fresh_invendus are those of the last day that
// has them (a stock is not summed). `days` in date order.
DayCounters totalOf(const std::vector<DayCounters>& days);

// The per-commande figures of SPEC §7.3 for a week: completion_pct = floor(100 × delivered /
// quota) (the completion of SPEC §5.4), manque = quota − delivered, 0 once the quota is met
// (a week's delivered may pass the quota by the replacements it served).
struct CommandeWeekFigures {
  uint32_t completionPct = 0;
  uint32_t manque = 0;
  bool operator==(const CommandeWeekFigures&) const = default;
};
CommandeWeekFigures commandeWeekFigures(uint32_t quotaSemaine, uint32_t livresSemaine);

}  // namespace rdz
