// The allocation of one daily run (SPEC §5): aging, demand, eligibility, choice, the four passes,
// duplicate replacement. Pure: it is given plain values and a duplicate lookup, and returns the
// plan; the service commits the plan atomically (the outbox) and sends afterwards.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/commerce.h"
#include "daemon/domain/types.h"

namespace rdz {

struct RunParams {
  std::string date;     // run date D, "AAAA-MM-JJ" (Europe/Paris)
  Timestamp reference;  // T: D at the configured time, Europe/Paris
  Duration freshWindow = std::chrono::hours(24 * 8);
  Duration lbReentry = std::chrono::hours(24 * 30);
  Duration dedupWindow = std::chrono::hours(24 * 30);
  // Restricts the run to one entity's leads and commandes (no fallback crossing then).
  std::optional<Entity> onlyEntity;
  bool operator==(const RunParams&) const = default;
};

// What the allocation needs to know of a lead. Leads of every status may be given; only
// `new`, `lb` and `delivered` (for aging) matter.
struct PoolLead {
  std::string id;
  Entity entity = Entity::ZR7;
  std::string produit;
  std::string departement;
  std::string telephoneE164;
  Timestamp recuLe{};
  Statut statut = Statut::NEW;
  std::optional<Timestamp> derniereLivraison;
  bool operator==(const PoolLead&) const = default;
};

// A commande with what its demand depends on.
struct CommandeState {
  Commande commande;
  bool clientActif = true;
  uint32_t deliveredThisWeek = 0;    // non-rejected deliveries counted in D's ISO week
  uint32_t lbDeliveredThisWeek = 0;  // of which from LB
  uint32_t deliveredToday = 0;       // non-rejected deliveries of date D (for quota_jour)
  // SPEC §7.1: replacements owed for rejections of earlier weeks' deliveries; they add to
  // `remaining` until served. A replacement is served by a delivery beyond the week's quota
  // (quota_semaine + replacementsServedThisWeek).
  uint32_t replacementsOwed = 0;
  uint32_t replacementsServedThisWeek = 0;
  bool operator==(const CommandeState&) const = default;
};

// Last delivery time of (telephone_e164, produit) to `client`, from the duplicate index;
// nullopt when the client never received that person for that produit.
using DuplicateLookup = std::function<std::optional<Timestamp>(
    std::string_view e164, std::string_view produit, std::string_view client)>;

// Whether (telephone_e164) is on `list`'s opposition list (SPEC §7.2). A lead is never given
// while its phone is on its own entity's list or, by fallback, on the receiving entity's.
using OppositionLookup = std::function<bool(Entity list, std::string_view e164)>;

struct Aging {
  std::string leadId;
  Entity entity;
  Statut from;  // NEW or DELIVERED
  // to is always LB
  uint32_t lead = 0;  // the lead's position in planRun's `leads`
};

struct Assignment {
  std::string leadId;
  Entity leadEntity;
  std::string commandeId;
  std::string client;
  Entity commandeEntity;  // != leadEntity for a fallback
  PassKind pass;
  uint32_t lead = 0;  // the lead's position in planRun's `leads` (0 outside a plan)
};

struct DuplicateSkip {
  std::string leadId;
  Entity leadEntity;
  std::string client;  // the client that already had this person
  std::string commandeId;
  Timestamp earlier;  // when the client got it (this run's T when given earlier in this run)
  std::string produit;  // the lead's (for the run's stats; not kept in the run's trace)
};

// A lead passed over because its phone is on `list`'s opposition list (once per lead and list).
struct OppositionSkip {
  std::string leadId;
  Entity leadEntity;
  Entity list;
};

// Replacements owed that this run serves (SPEC §7.1): the commande's deliveries beyond its
// weekly quota, up to what it was owed.
struct ReplacementServed {
  std::string commandeId;
  Entity entity;
  uint32_t count;
};

struct RunPlan {
  std::vector<Aging> aging;
  std::vector<Assignment> assignments;  // in decision order
  std::vector<DuplicateSkip> duplicates;
  std::vector<OppositionSkip> oppositions;
  std::vector<ReplacementServed> replacements;
};

// Demand of one commande for the run (SPEC §5.2), before any assignment of this run.
struct Demand {
  uint32_t remaining = 0;
  uint32_t lbAllowance = 0;
};
Demand demandOf(const CommandeState& state, const RunParams& params);

// Why a commande takes no more leads of a pass (SPEC §5.2): its weekly quota (replacements owed
// included), its daily cap, or its share of LB leads (LB passes) is used up.
enum class Full : uint8_t { QUOTA = 0, QUOTA_JOUR = 1, LB_MAX = 2 };
struct Closing {
  Full why = Full::QUOTA;
  uint32_t count = 0;  // delivered this week / today / from LB this week, run's leads included
  uint32_t limit = 0;  // the quota (with replacements owed) / quota_jour / LB share it reached
  bool operator==(const Closing&) const = default;
};
// Receives what a run decided beyond its plan, for `lead explain` (SPEC §7.4): the commandes as
// the run saw them, and when each stopped taking leads. The plan itself holds the rest (who got
// what, duplicate and opposition skips). Called on the planning thread, in decision order. A
// run planned without a trace pays nothing for it.
class PlanTrace {
 public:
  virtual ~PlanTrace() = default;
  // First call: the commandes the run plans with (settings and counters at its start); `index`
  // below is a position in this list.
  virtual void started(const RunParams& params, const std::vector<CommandeState>& commandes) = 0;
  // Commande `index` takes no lead of `pass` from here on: from the pass's start (`by` null), or
  // from the moment `by` was given to it. Not called for a commande that does not serve on the
  // run's date (inactive, jours, debut/fin: the snapshot tells) nor outside a pass's commandes
  // (another entity, no fallback).
  virtual void closed(PassKind pass, size_t index, const Closing& why, const PoolLead* by) = 0;
};

// The positions in `ids` whose id is at an earlier position too, in increasing order (the first
// of equal ids is not one). For the leads listed twice in a run's pools: a sort of the ids'
// hashes, without the allocation per id of a hash set (a million ids per run).
std::vector<size_t> repeatedIds(const std::vector<std::string_view>& ids);

// `opposed` may be empty (no list); `trace` may be null.
RunPlan planRun(const RunParams& params, const std::vector<PoolLead>& leads,
                const std::vector<CommandeState>& commandes, const DuplicateLookup& duplicates,
                const OppositionLookup& opposed = {}, PlanTrace* trace = nullptr);

}  // namespace rdz
