#include "daemon/domain/explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "daemon/domain/calendar.h"
#include "daemon/domain/time.h"

namespace rdz {

TraceRecorder::TraceRecorder(std::string run) { trace_.run = std::move(run); }

void TraceRecorder::started(const RunParams& params, const std::vector<CommandeState>& commandes) {
  trace_.params = params;
  trace_.commandes.clear();
  trace_.commandes.reserve(commandes.size());
  for (const CommandeState& state : commandes) trace_.commandes.push_back({state, {}});
}

void TraceRecorder::closed(PassKind pass, size_t index, const Closing& why, const PoolLead* by) {
  CommandeClosure closure{pass, why, "", {}};
  if (by != nullptr) {
    closure.byLead = by->id;
    closure.byRecuLe = by->recuLe;
  }
  trace_.commandes.at(index).closures.push_back(std::move(closure));
}

LeadDecisions decisionsInPlan(const RunPlan& plan, std::string_view leadId) {
  LeadDecisions out;
  for (const Assignment& a : plan.assignments) {
    if (a.leadId == leadId) out.assignment = a;
  }
  for (const DuplicateSkip& d : plan.duplicates) {
    if (d.leadId == leadId) out.duplicates.push_back(d);
  }
  for (const OppositionSkip& o : plan.oppositions) {
    if (o.leadId == leadId) out.oppositions.push_back(o.list);
  }
  return out;
}

LeadDecisions decisionsInHistory(const std::vector<HistoryEvent>& history, const Lead& lead,
                                 std::string_view run) {
  LeadDecisions out;
  for (const HistoryEvent& e : history) {
    if (e.legacy || e.run != run) continue;
    switch (e.kind) {
      case HistoryKind::LIVRAISON:
        out.assignment = Assignment{lead.id, lead.entity, e.commande, e.client, e.entity, e.pass};
        break;
      case HistoryKind::DOUBLON_EVITE:
        out.duplicates.push_back({lead.id, lead.entity, e.client, e.commande,
                                  e.time.value_or(Timestamp{}), lead.produit});
        break;
      case HistoryKind::OPPOSITION:
        out.oppositions.push_back(e.entity);
        break;
      default:
        break;
    }
  }
  return out;
}

std::string_view reasonName(Reason r) {
  switch (r) {
    case Reason::ATTRIBUE:
      return "attribue";
    case Reason::DEPARTEMENT:
      return "departement";
    case Reason::INACTIF:
      return "inactif";
    case Reason::JOUR:
      return "jour";
    case Reason::PERIODE:
      return "periode";
    case Reason::QUOTA_ATTEINT:
      return "quota_atteint";
    case Reason::QUOTA_JOUR_ATTEINT:
      return "quota_jour_atteint";
    case Reason::LB_MAX_ATTEINT:
      return "lb_max_atteint";
    case Reason::PAS_DE_FALLBACK:
      return "pas_de_fallback";
    case Reason::DOUBLON_CLIENT:
      return "doublon_client";
    case Reason::OPPOSITION:
      return "opposition";
    case Reason::DEVANCE:
      return "devance";
    case Reason::HORS_RUN:
      return "hors_run";
  }
  return "?";
}

namespace {

bool isFallback(PassKind p) { return p == PassKind::FRESH_FALLBACK || p == PassKind::LB_FALLBACK; }
bool isLb(PassKind p) { return p == PassKind::LB || p == PassKind::LB_FALLBACK; }
PassKind fallbackOf(PassKind own) {
  return own == PassKind::FRESH ? PassKind::FRESH_FALLBACK : PassKind::LB_FALLBACK;
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (auto& v : values) out += (out.empty() ? "" : ",") + v;
  return out;
}

// The pool the lead was in for the run (its own entity's pass: FRESH or LB), or why it was in
// none. Mirrors the planner's selection (allocation.c++, aging included): for a run that
// happened, from the lead's deliveries before it; for a dry run, from its present state.
struct Membership {
  std::optional<PassKind> own;
  std::string outside;
};

Membership membershipOf(const Lead& lead, const std::vector<Delivery>& deliveries,
                        const RunTrace& trace) {
  const RunParams& p = trace.params;
  const Timestamp T = p.reference;
  const bool dry = !trace.committedAt.has_value();
  if (p.onlyEntity && *p.onlyEntity != lead.entity) {
    return {std::nullopt, fmt::format("run limité à {}", entityName(*p.onlyEntity))};
  }
  if (lead.recuLe > T) {
    return {std::nullopt, fmt::format("reçu le {}, après l'heure du run ({})",
                                      formatIso(lead.recuLe), formatIso(T))};
  }
  if (lead.statut == Statut::INVALID) return {std::nullopt, "lead invalide"};
  if (lead.departement.empty() || lead.produit.empty()) return {std::nullopt, "lead incomplet"};
  if (dry && lead.telephoneE164.empty()) {
    return {std::nullopt, "données personnelles effacées (RGPD)"};
  }

  // The latest delivery before this run (deliveries carry their run's T).
  std::optional<Delivery> prior;
  for (const Delivery& d : deliveries) {
    if (d.run == trace.run || d.at > T) continue;
    if (!prior || std::tie(d.at, d.id) > std::tie(prior->at, prior->id)) prior = d;
  }
  if (prior) {
    bool rejectedBefore = !prior->rejet.empty() &&
                          (dry || (prior->rejeteLe && *prior->rejeteLe <= *trace.committedAt));
    if (rejectedBefore) {
      if (prior->rejet == "efface") return {std::nullopt, "données personnelles effacées (RGPD)"};
      return {std::nullopt,
              fmt::format("rejeté ({}) le {}", prior->rejet,
                          prior->rejeteLe ? parisDate(*prior->rejeteLe) : "?")};
    }
    // Delivered: back in LB once its last delivery is the re-entry window old (aging, §5.1).
    if (prior->at <= T - p.lbReentry) return {PassKind::LB, ""};
    return {std::nullopt, fmt::format("déjà livré le {} (run {}): revient en LB {} jours après",
                                      parisDate(prior->at), prior->run,
                                      std::chrono::duration_cast<std::chrono::hours>(p.lbReentry)
                                              .count() / 24)};
  }
  if (dry && lead.statut != Statut::NEW && lead.statut != Statut::LB) {
    return {std::nullopt, fmt::format("statut {}", statutName(lead.statut))};
  }
  // Never delivered: fresh until the fresh window is over, then LB (aged by this run or before).
  if (lead.recuLe <= T - p.freshWindow) return {PassKind::LB, ""};
  return {PassKind::FRESH, ""};
}

// Whether lead `a` comes before lead `b` in a pass (fresh: oldest first; LB: newest first; ids
// break ties the same way, as the planner sorts them).
bool before(Timestamp aRecu, std::string_view aId, Timestamp bRecu, std::string_view bId,
            bool lb) {
  if (lb) return std::tie(aRecu, aId) > std::tie(bRecu, bId);
  return std::tie(aRecu, aId) < std::tie(bRecu, bId);
}

// Why commande `c` had no room left when `lead` came up in `pass`, if it had none.
std::optional<Closing> closedFor(const CommandeTrace& c, PassKind pass, const Lead& lead) {
  for (const CommandeClosure& closure : c.closures) {
    if (closure.pass != pass) continue;
    if (closure.byLead.empty()) return closure.why;
    if (closure.byLead != lead.id &&
        before(closure.byRecuLe, closure.byLead, lead.recuLe, lead.id, isLb(pass))) {
      return closure.why;
    }
  }
  return std::nullopt;
}

std::string closingDetail(const Closing& c) {
  switch (c.why) {
    case Full::QUOTA:
      return fmt::format("{}/{} cette semaine", c.count, c.limit);
    case Full::QUOTA_JOUR:
      return fmt::format("{}/{} ce jour", c.count, c.limit);
    case Full::LB_MAX:
      return fmt::format("{}/{} en LB cette semaine", c.count, c.limit);
  }
  return "";
}

Reason closingReason(Full f) {
  switch (f) {
    case Full::QUOTA:
      return Reason::QUOTA_ATTEINT;
    case Full::QUOTA_JOUR:
      return Reason::QUOTA_JOUR_ATTEINT;
    case Full::LB_MAX:
      return Reason::LB_MAX_ATTEINT;
  }
  return Reason::QUOTA_ATTEINT;
}

// The reason for one commande of the lead's produit, met in `pass`.
void explainCommande(ExplainLine& line, const CommandeTrace& ct, PassKind pass, const Lead& lead,
                     const RunTrace& trace, const LeadDecisions& decisions) {
  const Commande& c = ct.state.commande;
  const std::string& date = trace.params.date;
  auto say = [&line](Reason r, std::string detail = "") {
    line.reason = r;
    line.detail = std::move(detail);
  };
  if (isFallback(pass) && !c.fallback) return say(Reason::PAS_DE_FALLBACK);
  if (!c.actif) return say(Reason::INACTIF, "commande inactive");
  if (!ct.state.clientActif) return say(Reason::INACTIF, "client inactif");
  if ((!c.debut.empty() && date < c.debut) || (!c.fin.empty() && date > c.fin)) {
    return say(Reason::PERIODE, fmt::format("du {} au {}", c.debut.empty() ? "…" : c.debut,
                                            c.fin.empty() ? "…" : c.fin));
  }
  std::string jour = weekdayOf(date);
  if (std::find(c.jours.begin(), c.jours.end(), jour) == c.jours.end()) {
    return say(Reason::JOUR, fmt::format("{} hors de {}", jour, joined(c.jours)));
  }
  bool all = std::find(c.departements.begin(), c.departements.end(), "*") != c.departements.end();
  if (!all && std::find(c.departements.begin(), c.departements.end(), lead.departement) ==
                  c.departements.end()) {
    return say(Reason::DEPARTEMENT,
               fmt::format("{} hors de {}", lead.departement, joined(c.departements)));
  }
  const auto& given = decisions.assignment;
  // Taken in an earlier pass: the lead never came up in this one.
  if (given && given->pass < pass) return say(Reason::DEVANCE, given->commandeId);
  if (auto full = closedFor(ct, pass, lead)) {
    return say(closingReason(full->why), closingDetail(*full));
  }
  Entity receiving = c.entity;
  for (Entity list : decisions.oppositions) {
    if (list == lead.entity || (isFallback(pass) && list == receiving)) {
      return say(Reason::OPPOSITION, fmt::format("liste {}", entityName(list)));
    }
  }
  for (const DuplicateSkip& d : decisions.duplicates) {
    if (d.client == c.client) {
      return say(Reason::DOUBLON_CLIENT, fmt::format("déjà livré le {}", parisDate(d.earlier)));
    }
  }
  if (given && given->pass == pass) {
    if (given->commandeId == c.id) return say(Reason::ATTRIBUE);
    return say(Reason::DEVANCE, given->commandeId);
  }
  // Room, coverage and no duplicate, yet not given: the run did not consider the lead (not in
  // its pool after all).
  say(Reason::HORS_RUN, "lead non examiné par ce run");
}

}  // namespace

Explanation explainLead(const Lead& lead, const std::vector<Delivery>& deliveries,
                        const RunTrace& trace, const LeadDecisions& decisions) {
  Explanation out;
  out.lead = lead.id;
  out.date = trace.params.date;
  out.run = trace.run;
  out.dryRun = !trace.committedAt.has_value();
  if (decisions.assignment) {
    out.delivered = true;
    out.commande = decisions.assignment->commandeId;
  }

  Membership member = membershipOf(lead, deliveries, trace);
  // The run's own decisions outrank the derivation: a lead given, skipped or found opposed
  // was in the pool (of the pass its delivery names).
  if (decisions.assignment) {
    PassKind p = decisions.assignment->pass;
    member.own = isLb(p) ? PassKind::LB : PassKind::FRESH;
  } else if (!member.own && (!decisions.duplicates.empty() || !decisions.oppositions.empty())) {
    member.own = lead.recuLe <= trace.params.reference - trace.params.freshWindow ? PassKind::LB
                                                                                 : PassKind::FRESH;
  }
  if (!member.own) {
    ExplainLine line;
    line.reason = Reason::HORS_RUN;
    line.detail = member.outside;
    out.raisons.push_back(std::move(line));
    return out;
  }

  struct Ranked {
    PassKind pass;
    uint8_t priorite;
    const CommandeTrace* commande;
  };
  std::vector<Ranked> met;
  for (const CommandeTrace& ct : trace.commandes) {
    const Commande& c = ct.state.commande;
    if (c.produit != lead.produit) continue;
    if (c.entity == lead.entity) {
      met.push_back({*member.own, c.priorite, &ct});
    } else if (!trace.params.onlyEntity) {
      met.push_back({fallbackOf(*member.own), c.priorite, &ct});
    }
  }
  std::sort(met.begin(), met.end(), [](const Ranked& a, const Ranked& b) {
    return std::tie(a.pass, a.priorite, a.commande->state.commande.id) <
           std::tie(b.pass, b.priorite, b.commande->state.commande.id);
  });
  for (const Ranked& m : met) {
    ExplainLine line;
    line.pass = m.pass;
    line.commande = m.commande->state.commande.id;
    line.client = m.commande->state.commande.client;
    line.commandeEntity = m.commande->state.commande.entity;
    explainCommande(line, *m.commande, m.pass, lead, trace, decisions);
    out.raisons.push_back(std::move(line));
  }
  return out;
}

}  // namespace rdz
