#include "daemon/domain/allocation.h"

#include <kj/debug.h>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "daemon/domain/calendar.h"

namespace rdz {

namespace {

// For each item of 0..count-1 equal to an earlier one, calls `repeat(first, item)` with the
// first item equal to it. Items are compared only within their hash (`hashOf`): a sort of the
// hashes, without the allocation per item of a hash set (a run has a million leads).
template <typename HashOf, typename Equal, typename Repeat>
void forEachRepeat(size_t count, HashOf&& hashOf, Equal&& equal, Repeat&& repeat) {
  std::vector<std::pair<size_t, size_t>> byHash;  // hash, item: equal ones together, first first
  byHash.reserve(count);
  for (size_t i = 0; i < count; ++i) byHash.emplace_back(hashOf(i), i);
  std::sort(byHash.begin(), byHash.end());
  for (size_t from = 0; from < byHash.size();) {
    size_t to = from + 1;
    while (to < byHash.size() && byHash[to].first == byHash[from].first) ++to;
    // Items of one hash: a few at most. Each is compared with the earlier ones.
    for (size_t k = from + 1; k < to; ++k) {
      for (size_t m = from; m < k; ++m) {
        if (equal(byHash[m].second, byHash[k].second)) {
          repeat(byHash[m].second, byHash[k].second);
          break;
        }
      }
    }
    from = to;
  }
}

Entity otherEntity(Entity e) { return e == Entity::ZR7 ? Entity::MDL : Entity::ZR7; }

size_t entityIndex(Entity e) { return static_cast<size_t>(e); }

// Whether the commande asks for anything on date D at all (SPEC §5.2, the "0 if …" part).
bool servesOn(const CommandeState& state, std::string_view date) {
  const Commande& c = state.commande;
  if (!c.actif || !state.clientActif) return false;
  std::string jour = weekdayOf(date);
  if (jour.empty() || std::find(c.jours.begin(), c.jours.end(), jour) == c.jours.end()) {
    return false;
  }
  // "AAAA-MM-JJ" compares as a date in string order.
  if (!c.debut.empty() && date < std::string_view(c.debut)) return false;
  if (!c.fin.empty() && date > std::string_view(c.fin)) return false;
  return true;
}

// The quota arithmetic of §5.2 on given counters (the run's own assignments included when the
// caller passes live counters).
Demand demandFrom(const Commande& c, uint32_t deliveredThisWeek, uint32_t lbDeliveredThisWeek,
                  uint32_t deliveredToday, uint32_t replacementsOwed,
                  uint32_t replacementsServedThisWeek) {
  Demand d;
  // Replacements owed (§7.1) add to the weekly quota until served; those served this week
  // already did.
  uint64_t target = static_cast<uint64_t>(c.quotaSemaine) + replacementsOwed +
                    replacementsServedThisWeek;
  d.remaining = static_cast<uint32_t>(
      std::min<uint64_t>(target > deliveredThisWeek ? target - deliveredThisWeek : 0, UINT32_MAX));
  if (c.quotaJour > 0) {
    uint32_t today = c.quotaJour > deliveredToday ? c.quotaJour - deliveredToday : 0;
    d.remaining = std::min(d.remaining, today);
  }
  uint64_t lbShare = static_cast<uint64_t>(c.quotaSemaine) * c.lbMaxPct / 100;
  uint64_t allowance = lbShare > lbDeliveredThisWeek ? lbShare - lbDeliveredThisWeek : 0;
  d.lbAllowance = static_cast<uint32_t>(std::min<uint64_t>(allowance, d.remaining));
  return d;
}

// Why the counters leave no room (the "0" cases of demandFrom), or nullopt.
std::optional<Closing> closingFrom(const Commande& c, uint32_t deliveredThisWeek,
                                   uint32_t lbDeliveredThisWeek, uint32_t deliveredToday,
                                   uint32_t replacementsOwed, uint32_t replacementsServedThisWeek,
                                   bool lb) {
  uint64_t target = static_cast<uint64_t>(c.quotaSemaine) + replacementsOwed +
                    replacementsServedThisWeek;
  auto clamp = [](uint64_t v) { return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX)); };
  if (deliveredThisWeek >= target) return Closing{Full::QUOTA, deliveredThisWeek, clamp(target)};
  if (c.quotaJour > 0 && deliveredToday >= c.quotaJour) {
    return Closing{Full::QUOTA_JOUR, deliveredToday, c.quotaJour};
  }
  uint64_t lbShare = static_cast<uint64_t>(c.quotaSemaine) * c.lbMaxPct / 100;
  if (lb && lbDeliveredThisWeek >= lbShare) {
    return Closing{Full::LB_MAX, lbDeliveredThisWeek, clamp(lbShare)};
  }
  return std::nullopt;
}

// One commande during the run: its counters move as leads are assigned.
struct LiveCommande {
  const Commande* commande;
  size_t input;  // its position in planRun's `commandes` (PlanTrace's index)
  bool serves;  // servesOn(D); fixed for the run
  bool allDepartements;
  std::vector<std::string> departements;  // sorted (the index of runPass)
  uint32_t deliveredThisWeek;
  uint32_t lbDeliveredThisWeek;
  uint32_t deliveredToday;
  uint32_t replacementsOwed;
  uint32_t replacementsServedThisWeek;

  Demand demand() const {
    if (!serves) return {};
    return demandFrom(*commande, deliveredThisWeek, lbDeliveredThisWeek, deliveredToday,
                      replacementsOwed, replacementsServedThisWeek);
  }
  bool open(bool lb) const {
    Demand d = demand();
    return lb ? d.lbAllowance > 0 : d.remaining > 0;
  }
  // Why it is not open (for a commande that serves on D).
  std::optional<Closing> closing(bool lb) const {
    return closingFrom(*commande, deliveredThisWeek, lbDeliveredThisWeek, deliveredToday,
                       replacementsOwed, replacementsServedThisWeek, lb);
  }
};

// Choice order of §5.4: lowest priorite, then lowest live completion, then oldest id. The
// completion ratios are compared exactly by cross-multiplication (quotas are ≤ 100000 and
// counters 32-bit, so the products fit in 64 bits).
bool chosenBefore(const LiveCommande& a, const LiveCommande& b) {
  if (a.commande->priorite != b.commande->priorite) {
    return a.commande->priorite < b.commande->priorite;
  }
  uint64_t left = static_cast<uint64_t>(a.deliveredThisWeek) * b.commande->quotaSemaine;
  uint64_t right = static_cast<uint64_t>(b.deliveredThisWeek) * a.commande->quotaSemaine;
  if (left != right) return left < right;
  return a.commande->id < b.commande->id;
}

class Planner {
 public:
  Planner(const RunParams& params, const std::vector<PoolLead>& leads,
          const std::vector<CommandeState>& commandes, const DuplicateLookup& duplicates,
          const OppositionLookup& opposed, PlanTrace* trace)
      : params_(params),
        duplicates_(duplicates),
        opposed_(opposed),
        trace_(trace),
        dedupLimit_(params.reference - params.dedupWindow) {
    if (trace_ != nullptr) trace_->started(params, commandes);
    selectLeads(leads);
    selectCommandes(commandes);
  }

  RunPlan run() {
    // Entities in a fixed order; within a pass they never compete for the same commande (own
    // passes: own commandes; fallback passes: each entity's leftovers go to the other one), so
    // the order only fixes the order of the output.
    for (Entity e : ALL_ENTITIES) {
      if (inScope(e)) runPass(PassKind::FRESH, fresh_[entityIndex(e)], e);
    }
    if (!params_.onlyEntity) {
      for (Entity e : ALL_ENTITIES) runPass(PassKind::FRESH_FALLBACK, fresh_[entityIndex(e)], e);
    }
    for (Entity e : ALL_ENTITIES) {
      if (inScope(e)) runPass(PassKind::LB, lb_[entityIndex(e)], e);
    }
    if (!params_.onlyEntity) {
      for (Entity e : ALL_ENTITIES) runPass(PassKind::LB_FALLBACK, lb_[entityIndex(e)], e);
    }
    // Deliveries beyond the weekly quota (and the replacements already served this week) serve
    // the replacements owed (§7.1).
    for (const LiveCommande& c : live_) {
      if (c.replacementsOwed == 0) continue;
      uint64_t base = static_cast<uint64_t>(c.commande->quotaSemaine) + c.replacementsServedThisWeek;
      uint64_t beyond = c.deliveredThisWeek > base ? c.deliveredThisWeek - base : 0;
      uint32_t served = static_cast<uint32_t>(std::min<uint64_t>(beyond, c.replacementsOwed));
      if (served > 0) plan_.replacements.push_back({c.commande->id, c.commande->entity, served});
    }
    return std::move(plan_);
  }

 private:
  // A lead of a pool, with its sort key at hand (sorting a million leads through their
  // pointers would wait on memory at every comparison).
  struct Candidate {
    Timestamp recuLe;
    const PoolLead* lead;
    bool assigned = false;
  };

  bool inScope(Entity e) const { return !params_.onlyEntity || *params_.onlyEntity == e; }

  // Aging (§5.1) and the two pools. Only leads received by T take part, in aging too.
  void selectLeads(const std::vector<PoolLead>& leads) {
    const Timestamp t = params_.reference;
    const Timestamp freshLimit = t - params_.freshWindow;
    const Timestamp reentryLimit = t - params_.lbReentry;
    KJ_REQUIRE(leads.size() <= UINT32_MAX, "too many leads for one run");
    leads_ = leads.data();
    leadCount_ = leads.size();
    auto takesPart = [&](const PoolLead& lead) { return inScope(lead.entity) && lead.recuLe <= t; };
    // A lead given twice is considered once: it can never be assigned twice.
    std::vector<bool> again(leads.size());
    {
      std::vector<std::string_view> ids;
      std::vector<uint32_t> at;
      ids.reserve(leads.size());
      at.reserve(leads.size());
      for (const PoolLead& lead : leads) {
        if (!takesPart(lead)) continue;
        ids.push_back(lead.id);
        at.push_back(positionOf(lead));
      }
      for (size_t i : repeatedIds(ids)) again[at[i]] = true;
    }
    for (const PoolLead& lead : leads) {
      if (!takesPart(lead) || again[positionOf(lead)]) continue;

      bool isFresh = false, isLb = false;
      switch (lead.statut) {
        case Statut::NEW:
          if (lead.recuLe <= freshLimit) {
            plan_.aging.push_back({lead.id, lead.entity, Statut::NEW, positionOf(lead)});
            isLb = true;
          } else {
            isFresh = true;
          }
          break;
        case Statut::DELIVERED:
          if (lead.derniereLivraison && *lead.derniereLivraison <= reentryLimit) {
            plan_.aging.push_back({lead.id, lead.entity, Statut::DELIVERED, positionOf(lead)});
            isLb = true;
          }
          break;
        case Statut::LB:
          isLb = true;
          break;
        case Statut::INVALID:
        case Statut::REJECTED:
          break;
      }
      // Without a phone the duplicate rule cannot be applied, without a departement no
      // commande can be matched: such a lead is never eligible (it still ages).
      if (lead.telephoneE164.empty() || lead.departement.empty() || lead.produit.empty()) continue;
      if (isFresh) fresh_[entityIndex(lead.entity)].push_back({lead.recuLe, &lead});
      if (isLb) lb_[entityIndex(lead.entity)].push_back({lead.recuLe, &lead});
    }
    for (auto& pool : fresh_) {
      std::sort(pool.begin(), pool.end(), [](const Candidate& a, const Candidate& b) {
        if (a.recuLe != b.recuLe) return a.recuLe < b.recuLe;
        return a.lead->id < b.lead->id;
      });
    }
    for (auto& pool : lb_) {
      std::sort(pool.begin(), pool.end(), [](const Candidate& a, const Candidate& b) {
        if (a.recuLe != b.recuLe) return a.recuLe > b.recuLe;
        return a.lead->id > b.lead->id;
      });
    }
    markSharedPersons();
  }

  // The candidates whose person (phone and produit) another candidate has too: only those can
  // meet a client this run already gave that person to (givenThisRun_), so only those are
  // looked up and recorded there.
  void markSharedPersons() {
    std::vector<const PoolLead*> candidates;
    for (const auto* pools : {&fresh_, &lb_}) {
      for (const auto& pool : *pools) {
        for (const Candidate& c : pool) candidates.push_back(c.lead);
      }
    }
    sharesPerson_.assign(leadCount_, false);
    forEachRepeat(
        candidates.size(),
        [&](size_t i) {
          size_t h = std::hash<std::string_view>()(candidates[i]->telephoneE164);
          return h ^
                 (std::hash<std::string_view>()(candidates[i]->produit) * 0x9e3779b97f4a7c15ULL);
        },
        [&](size_t a, size_t b) {
          return candidates[a]->telephoneE164 == candidates[b]->telephoneE164 &&
                 candidates[a]->produit == candidates[b]->produit;
        },
        [&](size_t first, size_t later) {
          sharesPerson_[positionOf(*candidates[first])] = true;
          sharesPerson_[positionOf(*candidates[later])] = true;
        });
  }

  uint32_t positionOf(const PoolLead& lead) const { return static_cast<uint32_t>(&lead - leads_); }

  void selectCommandes(const std::vector<CommandeState>& commandes) {
    live_.reserve(commandes.size());
    for (size_t input = 0; input < commandes.size(); ++input) {
      const CommandeState& state = commandes[input];
      const Commande& c = state.commande;
      if (!inScope(c.entity)) continue;
      LiveCommande live{&c,
                        input,
                        servesOn(state, params_.date),
                        false,
                        {},
                        state.deliveredThisWeek,
                        state.lbDeliveredThisWeek,
                        state.deliveredToday,
                        state.replacementsOwed,
                        state.replacementsServedThisWeek};
      for (const std::string& d : c.departements) {
        if (d == "*") live.allDepartements = true;
      }
      if (!live.allDepartements) {
        live.departements = c.departements;
        std::sort(live.departements.begin(), live.departements.end());
      }
      live_.push_back(std::move(live));
    }
  }

  // The commandes a pass may give to, by produit and departement: those of `entity` (only
  // `fallback` ones in a fallback pass) that are open at the start of the pass, so a lead meets
  // only the commandes that could take it. They only close during the pass.
  struct ProduitGroup {
    std::unordered_map<std::string_view, std::vector<size_t>> byDepartement;
    std::vector<size_t> everyDepartement;  // commandes of "*"
  };
  using Groups = std::unordered_map<std::string_view, ProduitGroup>;
  Groups groupsFor(PassKind pass, Entity entity, bool fallbackOnly, bool lb) const {
    Groups groups;
    for (size_t i = 0; i < live_.size(); ++i) {
      const LiveCommande& c = live_[i];
      if (c.commande->entity != entity || (fallbackOnly && !c.commande->fallback)) continue;
      if (!c.open(lb)) {
        if (trace_ != nullptr && c.serves) {
          if (auto why = c.closing(lb)) trace_->closed(pass, c.input, *why, nullptr);
        }
        continue;
      }
      ProduitGroup& group = groups[c.commande->produit];
      if (c.allDepartements) {
        group.everyDepartement.push_back(i);
      } else {
        // `departements` is sorted: a departement named twice is indexed once.
        for (size_t k = 0; k < c.departements.size(); ++k) {
          if (k > 0 && c.departements[k] == c.departements[k - 1]) continue;
          group.byDepartement[c.departements[k]].push_back(i);
        }
      }
    }
    return groups;
  }

  void runPass(PassKind pass, std::vector<Candidate>& pool, Entity leadEntity) {
    bool fallback = pass == PassKind::FRESH_FALLBACK || pass == PassKind::LB_FALLBACK;
    bool lb = pass == PassKind::LB || pass == PassKind::LB_FALLBACK;
    Entity commandeEntity = fallback ? otherEntity(leadEntity) : leadEntity;
    Groups groups = groupsFor(pass, commandeEntity, fallback, lb);
    if (groups.empty()) return;

    // Drops the commandes that closed since a lead last looked (quotas only shrink in a run), so
    // a departement whose commandes are all full costs nothing per lead.
    auto stillOpen = [&](std::vector<size_t>& commandes) {
      std::erase_if(commandes, [&](size_t i) { return !live_[i].open(lb); });
      return !commandes.empty();
    };
    for (Candidate& candidate : pool) {
      if (candidate.assigned) continue;
      const PoolLead& lead = *candidate.lead;
      auto group = groups.find(lead.produit);
      if (group == groups.end()) continue;
      std::vector<size_t>* local = nullptr;
      auto byDepartement = group->second.byDepartement.find(lead.departement);
      if (byDepartement != group->second.byDepartement.end() && stillOpen(byDepartement->second)) {
        local = &byDepartement->second;
      }
      std::vector<size_t>& everywhere = group->second.everyDepartement;
      bool anywhere = stillOpen(everywhere);
      if (local == nullptr && !anywhere) continue;
      // §7.2: never while the phone is on the lead's own entity's list or, by fallback, on the
      // receiving entity's.
      if (isOpposed(lead, lead.entity) || (fallback && isOpposed(lead, commandeEntity))) continue;

      eligible_.clear();
      if (local != nullptr) eligible_.insert(eligible_.end(), local->begin(), local->end());
      if (anywhere) eligible_.insert(eligible_.end(), everywhere.begin(), everywhere.end());
      if (auto chosen = choose(lead, commandeEntity)) {
        assign(candidate, live_[*chosen], pass, lb);
      }
    }
  }

  // The first commande in choice order whose client may receive the lead; every better one
  // whose client already had the person is recorded as a skip (§5.6) and its client is passed
  // over for this lead. A skip is recorded once per (lead, client) per run: the client is
  // excluded here at its first skip, and a lead meets a given client in one pass only (its own
  // entity's clients in the own pass, the other's in the fallback pass; fresh and LB pools are
  // disjoint).
  std::optional<size_t> choose(const PoolLead& lead, Entity commandeEntity) {
    if (eligible_.empty()) return std::nullopt;
    // Most leads go to the first commande in choice order: one pass finds it.
    size_t best = eligible_.front();
    for (size_t i : eligible_) {
      if (chosenBefore(live_[i], live_[best])) best = i;
    }
    std::optional<Timestamp> earlier = earlierDelivery(lead, commandeEntity, live_[best].commande->client);
    if (!earlier) return best;
    // A duplicate: walk the commandes in choice order (nothing moves while a lead is placed),
    // passing over every commande of a client that already had the person.
    std::sort(eligible_.begin(), eligible_.end(),
              [&](size_t a, size_t b) { return chosenBefore(live_[a], live_[b]); });
    excludedClients_.clear();
    for (size_t i : eligible_) {
      const Commande& c = *live_[i].commande;
      if (std::any_of(excludedClients_.begin(), excludedClients_.end(),
                      [&](const std::string* client) { return *client == c.client; })) {
        continue;
      }
      if (i != best) earlier = earlierDelivery(lead, commandeEntity, c.client);
      if (!earlier) return i;
      excludedClients_.push_back(&c.client);
      plan_.duplicates.push_back({lead.id, lead.entity, c.client, c.id, *earlier, lead.produit});
    }
    return std::nullopt;
  }

  // Looks the phone up once per (lead, list) and records the skip the first time.
  bool isOpposed(const PoolLead& lead, Entity list) {
    if (!opposed_) return false;
    // Two bits per list: looked up, opposed. A lead is one PoolLead (selectLeads keeps one).
    const unsigned looked = 1u << (2 * entityIndex(list));
    const unsigned opposed = looked << 1;
    if (opposedSeen_.empty()) opposedSeen_.resize(leadCount_);
    uint8_t& known = opposedSeen_[positionOf(lead)];
    if ((known & looked) != 0) return (known & opposed) != 0;
    bool result = opposed_(list, lead.telephoneE164);
    known = static_cast<uint8_t>(known | looked | (result ? opposed : 0));
    if (result) plan_.oppositions.push_back({lead.id, lead.entity, list});
    return result;
  }

  // When `client` got this person for this produit within the duplicate window (this run's T
  // when this run gave it), or nullopt: the duplicate rule (§5.3).
  std::optional<Timestamp> earlierDelivery(const PoolLead& lead, Entity clientEntity,
                                           const std::string& client) const {
    if (sharesPerson_[positionOf(lead)] &&
        givenThisRun_.contains(std::string_view(personKey(lead, clientEntity, client)))) {
      return params_.reference;
    }
    if (!duplicates_) return std::nullopt;
    std::optional<Timestamp> last = duplicates_(lead.telephoneE164, lead.produit, client);
    // Strictly after T − window: a delivery exactly 30 × 24 h before T no longer counts.
    if (last && *last > dedupLimit_) return last;
    return std::nullopt;
  }

  void assign(Candidate& candidate, LiveCommande& commande, PassKind pass, bool lb) {
    const PoolLead& lead = *candidate.lead;
    const Commande& c = *commande.commande;
    candidate.assigned = true;
    ++commande.deliveredThisWeek;
    ++commande.deliveredToday;
    if (lb) ++commande.lbDeliveredThisWeek;
    if (sharesPerson_[positionOf(lead)]) givenThisRun_.emplace(personKey(lead, c.entity, c.client));
    plan_.assignments.push_back(
        {lead.id, lead.entity, c.id, c.client, c.entity, pass, positionOf(lead)});
    if (trace_ != nullptr && !commande.open(lb)) {
      if (auto why = commande.closing(lb)) trace_->closed(pass, commande.input, *why, &lead);
    }
  }

  // Client ids are slugs chosen per entity; the entity is part of the keys so that two
  // entities' clients with the same slug are never confused. Built in a buffer kept from one call
  // to the next (no allocation per candidate lead): valid until the next call.
  const std::string& personKey(const PoolLead& lead, Entity clientEntity,
                               const std::string& client) const {
    std::string& key = personKey_;
    key.clear();
    key.push_back(static_cast<char>('0' + entityIndex(clientEntity)));
    key.append(client).push_back('\0');
    key.append(lead.telephoneE164).push_back('\0');
    key.append(lead.produit);
    return key;
  }

  const RunParams& params_;
  const DuplicateLookup& duplicates_;
  const OppositionLookup& opposed_;
  PlanTrace* const trace_;  // null: no trace
  const Timestamp dedupLimit_;
  std::vector<uint8_t> opposedSeen_;  // isOpposed's bits, by lead position (sized at first use)
  const PoolLead* leads_ = nullptr;   // planRun's `leads`: positions are counted from it
  size_t leadCount_ = 0;

  std::array<std::vector<Candidate>, 2> fresh_;  // by entity, oldest recu_le first
  std::array<std::vector<Candidate>, 2> lb_;     // by entity, newest recu_le first
  std::vector<LiveCommande> live_;

  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>()(key); }
  };
  // personKey of this run's assignments of leads that share their person (sharesPerson_).
  std::unordered_set<std::string, KeyHash, std::equal_to<>> givenThisRun_;
  std::vector<bool> sharesPerson_;  // by lead position
  mutable std::string personKey_;  // personKey's buffer

  // Scratch space of choose(), kept to avoid an allocation per lead.
  std::vector<size_t> eligible_;
  std::vector<const std::string*> excludedClients_;

  RunPlan plan_;
};

}  // namespace

Demand demandOf(const CommandeState& state, const RunParams& params) {
  if (!servesOn(state, params.date)) return {};
  return demandFrom(state.commande, state.deliveredThisWeek, state.lbDeliveredThisWeek,
                    state.deliveredToday, state.replacementsOwed,
                    state.replacementsServedThisWeek);
}

std::vector<size_t> repeatedIds(const std::vector<std::string_view>& ids) {
  std::vector<size_t> repeated;
  forEachRepeat(
      ids.size(), [&](size_t i) { return std::hash<std::string_view>()(ids[i]); },
      [&](size_t a, size_t b) { return ids[a] == ids[b]; },
      [&](size_t, size_t later) { repeated.push_back(later); });
  std::sort(repeated.begin(), repeated.end());
  return repeated;
}

RunPlan planRun(const RunParams& params, const std::vector<PoolLead>& leads,
                const std::vector<CommandeState>& commandes, const DuplicateLookup& duplicates,
                const OppositionLookup& opposed, PlanTrace* trace) {
  return Planner(params, leads, commandes, duplicates, opposed, trace).run();
}

}  // namespace rdz
