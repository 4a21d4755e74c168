// lead explain (explain.h, SPEC §7.4): the planner's trace and the reasons found again from it.
// Each reason code is provoked by a small run; a larger synthetic run checks that the explanation
// of every lead agrees with the plan, and that a run explained from the history it wrote (a run
// that happened) says the same as the plan (a dry run). The run date is Wednesday 25 November
// 2026, T = 09:30 Paris.
#include "daemon/domain/explain.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <tuple>

#include "daemon/domain/history.h"

namespace rdz {
namespace {

using std::chrono::hours;
constexpr Duration DAY = hours(24);

const Timestamp T = Timestamp(date::sys_days(date::year(2026) / 11 / 25).time_since_epoch() +
                              hours(8) + std::chrono::minutes(30));

RunParams params(std::optional<Entity> only = std::nullopt) {
  RunParams p;
  p.date = "2026-11-25";
  p.reference = T;
  p.onlyEntity = only;
  return p;
}

PoolLead lead(const std::string& id, Duration age = hours(1), Entity e = Entity::ZR7,
              Statut statut = Statut::NEW) {
  PoolLead l;
  l.id = id;
  l.entity = e;
  l.produit = "PV";
  l.departement = "33";
  l.telephoneE164 = "+33" + id;
  l.recuLe = T - age;
  l.statut = statut;
  return l;
}

CommandeState commande(const std::string& id, const std::string& client, uint32_t quota,
                       Entity e = Entity::ZR7) {
  CommandeState s;
  s.commande.id = id;
  s.commande.entity = e;
  s.commande.client = client;
  s.commande.produit = "PV";
  s.commande.departements = {"*"};
  s.commande.quotaSemaine = quota;
  return s;
}

Lead asLead(const PoolLead& p) {
  Lead l;
  l.id = p.id;
  l.entity = p.entity;
  l.produit = p.produit;
  l.departement = p.departement;
  l.telephoneE164 = p.telephoneE164;
  l.recuLe = p.recuLe;
  l.statut = p.statut;
  l.derniereLivraison = p.derniereLivraison;
  return l;
}

// One planned run with its trace, explained lead by lead as a dry run.
struct Planned {
  Planned(std::vector<PoolLead> l, std::vector<CommandeState> c, RunParams run = params())
      : leads(std::move(l)), commandes(std::move(c)), p(std::move(run)) {}
  std::vector<PoolLead> leads;
  std::vector<CommandeState> commandes;
  RunParams p;
  DuplicateLookup duplicates;
  OppositionLookup opposed;
  RunPlan plan;
  RunTrace trace;

  Planned& go() {
    TraceRecorder recorder(p.date);
    plan = planRun(p, leads, commandes, duplicates, opposed, &recorder);
    trace = recorder.trace();
    return *this;
  }
  const PoolLead& poolLead(const std::string& id) const {
    for (const auto& l : leads) {
      if (l.id == id) return l;
    }
    throw std::runtime_error("no lead " + id);
  }
  Explanation explain(const std::string& id, const std::vector<Delivery>& deliveries = {}) const {
    return explainLead(asLead(poolLead(id)), deliveries, trace, decisionsInPlan(plan, id));
  }
};

// "commande:raison:detail" per line, in order.
std::vector<std::string> lines(const Explanation& x) {
  std::vector<std::string> out;
  for (const auto& l : x.raisons) {
    out.push_back(l.commande + ":" + std::string(reasonName(l.reason)) +
                  (l.detail.empty() ? "" : ":" + l.detail));
  }
  return out;
}
const ExplainLine& line(const Explanation& x, const std::string& commande) {
  for (const auto& l : x.raisons) {
    if (l.commande == commande) return l;
  }
  throw std::runtime_error("no line for " + commande);
}
using V = std::vector<std::string>;

TEST(Explain, AttribueAndDevanceByAnEarlierRankedCommande) {
  auto c1 = commande("C1", "acme", 10);
  c1.commande.priorite = 1;
  auto c2 = commande("C2", "beta", 10);
  Planned r{{lead("a")}, {c1, c2}};
  r.go();
  Explanation x = r.explain("a");
  EXPECT_TRUE(x.delivered);
  EXPECT_EQ(x.commande, "C1");
  EXPECT_TRUE(x.dryRun);  // the recorder's trace has no commit time until the run sets it
  EXPECT_EQ(lines(x), (V{"C1:attribue", "C2:devance:C1"}));
  EXPECT_EQ(line(x, "C1").pass, PassKind::FRESH);
  EXPECT_EQ(line(x, "C2").client, "beta");
}

TEST(Explain, StaticReasonsFromTheSnapshot) {
  auto dep = commande("C1", "a", 10);
  dep.commande.departements = {"40", "64"};
  auto off = commande("C2", "b", 10);
  off.commande.actif = false;
  auto clientOff = commande("C3", "c", 10);
  clientOff.clientActif = false;
  auto saturday = commande("C4", "d", 10);
  saturday.commande.jours = {"sam"};
  auto later = commande("C5", "e", 10);
  later.commande.debut = "2026-12-01";
  auto other = commande("C6", "f", 10);
  other.commande.produit = "PAC";  // another produit: not listed
  Planned r{{lead("a")}, {dep, off, clientOff, saturday, later, other}};
  r.go();
  Explanation x = r.explain("a");
  EXPECT_FALSE(x.delivered);
  EXPECT_EQ(lines(x), (V{"C1:departement:33 hors de 40,64", "C2:inactif:commande inactive",
                         "C3:inactif:client inactif", "C4:jour:mer hors de sam",
                         "C5:periode:du 2026-12-01 au …"}));
  // Static: nothing needed beyond the snapshot (no closure recorded for them). C1 serves: it is
  // closed to LB passes (lb_max_pct 0), which its line does not need.
  for (size_t i = 1; i <= 4; ++i) {
    EXPECT_TRUE(r.trace.commandes[i].closures.empty()) << r.trace.commandes[i].state.commande.id;
  }
}

TEST(Explain, QuotaAtteintDuringTheRunAndFromItsStart) {
  auto c1 = commande("C1", "acme", 1);
  auto full = commande("C2", "beta", 5);
  full.deliveredThisWeek = 5;
  Planned r{{lead("old", hours(3)), lead("young", hours(1))}, {c1, full}};
  r.go();
  EXPECT_EQ(lines(r.explain("old")), (V{"C1:attribue", "C2:quota_atteint:5/5 cette semaine"}));
  EXPECT_EQ(lines(r.explain("young")),
            (V{"C1:quota_atteint:1/1 cette semaine", "C2:quota_atteint:5/5 cette semaine"}));
  // Replacements owed raise the quota the detail shows.
  auto owed = commande("C3", "gamma", 1);
  owed.replacementsOwed = 1;
  Planned r2{{lead("x", hours(3)), lead("y", hours(2)), lead("z", hours(1))}, {owed}};
  r2.go();
  EXPECT_EQ(lines(r2.explain("z")), (V{"C3:quota_atteint:2/2 cette semaine"}));
}

TEST(Explain, QuotaJourAtteint) {
  auto c = commande("C1", "acme", 10);
  c.commande.quotaJour = 1;
  Planned r{{lead("old", hours(3)), lead("young", hours(1))}, {c}};
  r.go();
  EXPECT_EQ(lines(r.explain("old")), V{"C1:attribue"});
  EXPECT_EQ(lines(r.explain("young")), V{"C1:quota_jour_atteint:1/1 ce jour"});
}

TEST(Explain, LbMaxAtteint) {
  auto none = commande("C1", "acme", 10);  // lb_max_pct 0
  auto some = commande("C2", "beta", 10);
  some.commande.lbMaxPct = 10;  // one LB lead a week
  // LB pass: newest first, so "b" (15 days) comes before "a" (20 days).
  Planned r{{lead("a", 20 * DAY, Entity::ZR7, Statut::LB), lead("b", 15 * DAY, Entity::ZR7, Statut::LB)},
        {none, some}};
  r.go();
  EXPECT_EQ(lines(r.explain("b")), (V{"C1:lb_max_atteint:0/0 en LB cette semaine", "C2:attribue"}));
  EXPECT_EQ(lines(r.explain("a")), (V{"C1:lb_max_atteint:0/0 en LB cette semaine",
                                      "C2:lb_max_atteint:1/1 en LB cette semaine"}));
  EXPECT_EQ(line(r.explain("a"), "C2").pass, PassKind::LB);
}

TEST(Explain, PasDeFallbackAndDeliveryByFallback) {
  auto own = commande("C1", "acme", 1);
  auto mdlNo = commande("C2", "mdl-no", 10, Entity::MDL);
  auto mdlYes = commande("C3", "mdl-yes", 10, Entity::MDL);
  mdlYes.commande.fallback = true;
  Planned r{{lead("first", hours(3)), lead("second", hours(1))}, {own, mdlNo, mdlYes}};
  r.go();
  Explanation first = r.explain("first");
  EXPECT_EQ(first.commande, "C1");
  // Taken in its own pass: the fallback commandes never saw it.
  EXPECT_EQ(lines(first), (V{"C1:attribue", "C2:pas_de_fallback", "C3:devance:C1"}));
  Explanation second = r.explain("second");
  EXPECT_TRUE(second.delivered);
  EXPECT_EQ(second.commande, "C3");
  EXPECT_EQ(lines(second), (V{"C1:quota_atteint:1/1 cette semaine", "C2:pas_de_fallback",
                              "C3:attribue"}));
  EXPECT_EQ(line(second, "C3").pass, PassKind::FRESH_FALLBACK);
  EXPECT_EQ(line(second, "C3").commandeEntity, Entity::MDL);

  // A one-entity run lists only its entity's commandes.
  Planned only{{lead("a")}, {commande("C1", "acme", 0), mdlYes}, params(Entity::ZR7)};
  only.go();
  EXPECT_EQ(lines(only.explain("a")), V{"C1:quota_atteint:0/0 cette semaine"});
}

TEST(Explain, DoublonClientWithTheDateOfTheEarlierDelivery) {
  auto c1 = commande("C1", "acme", 10);
  c1.commande.priorite = 1;
  auto c1bis = commande("C3", "acme", 10);  // same client, another commande
  auto c2 = commande("C2", "beta", 10);
  Planned r{{lead("a")}, {c1, c1bis, c2}};
  r.duplicates = [](std::string_view, std::string_view,
                    std::string_view client) -> std::optional<Timestamp> {
    if (client == "acme") return T - 3 * DAY;
    return std::nullopt;
  };
  r.go();
  ASSERT_EQ(r.plan.duplicates.size(), 1u);
  EXPECT_EQ(r.plan.duplicates[0].earlier, T - 3 * DAY);
  Explanation x = r.explain("a");
  EXPECT_EQ(x.commande, "C2");
  EXPECT_EQ(lines(x), (V{"C1:doublon_client:déjà livré le 2026-11-22", "C2:attribue",
                         "C3:doublon_client:déjà livré le 2026-11-22"}));
  EXPECT_EQ(line(x, "C1").client, "acme");

  // Given to the client earlier in this same run (another lead of the same person): the date is
  // the run's.
  PoolLead twin = lead("b", hours(2));
  twin.telephoneE164 = "+33a";
  Planned same{{twin, lead("a", hours(1))}, {commande("C1", "acme", 10)}};
  same.go();
  EXPECT_EQ(lines(same.explain("a")), V{"C1:doublon_client:déjà livré le 2026-11-25"});
}

TEST(Explain, Opposition) {
  auto c1 = commande("C1", "acme", 10);
  auto mdl = commande("C2", "mdl", 10, Entity::MDL);
  mdl.commande.fallback = true;
  auto ownFull = commande("C3", "full", 0);
  // On the lead's own list: skipped everywhere.
  Planned r{{lead("a")}, {c1, mdl}};
  r.opposed = [](Entity list, std::string_view e164) { return list == Entity::ZR7 && e164 == "+33a"; };
  r.go();
  EXPECT_EQ(lines(r.explain("a")), (V{"C1:opposition:liste ZR7", "C2:opposition:liste ZR7"}));
  // On the receiving entity's list only: the fallback is closed to it, not its own entity.
  Planned r2{{lead("a")}, {ownFull, mdl}};
  r2.opposed = [](Entity list, std::string_view) { return list == Entity::MDL; };
  r2.go();
  EXPECT_EQ(lines(r2.explain("a")),
            (V{"C3:quota_atteint:0/0 cette semaine", "C2:opposition:liste MDL"}));
}

TEST(Explain, HorsRunWhenTheLeadWasNotInThePool) {
  Planned r{{lead("a")}, {commande("C1", "acme", 10)}};
  r.go();
  Lead late = asLead(lead("late"));
  late.recuLe = T + hours(1);
  auto x = explainLead(late, {}, r.trace, {});
  ASSERT_EQ(x.raisons.size(), 1u);
  EXPECT_EQ(x.raisons[0].reason, Reason::HORS_RUN);
  EXPECT_FALSE(x.raisons[0].pass.has_value());
  EXPECT_NE(x.raisons[0].detail.find("après l'heure du run"), std::string::npos);

  Lead invalid = asLead(lead("inv"));
  invalid.statut = Statut::INVALID;
  EXPECT_EQ(lines(explainLead(invalid, {}, r.trace, {})), V{":hors_run:lead invalide"});

  // Delivered 10 days before the run: not back in LB yet.
  Lead delivered = asLead(lead("d", 20 * DAY));
  delivered.statut = Statut::DELIVERED;
  Delivery before;
  before.id = "D0";
  before.lead = "d";
  before.run = "2026-11-15";
  before.at = T - 10 * DAY;
  auto dx = explainLead(delivered, {before}, r.trace, {});
  ASSERT_EQ(dx.raisons.size(), 1u);
  EXPECT_EQ(dx.raisons[0].reason, Reason::HORS_RUN);
  EXPECT_NE(dx.raisons[0].detail.find("déjà livré le 2026-11-15"), std::string::npos);
  // Rejected before the run committed: out; rejected after: it was still delivered then.
  RunTrace recorded = r.trace;
  recorded.committedAt = T + hours(1);
  before.at = T - 40 * DAY;
  before.rejet = "faux_numero";
  before.rejeteLe = T - 38 * DAY;
  EXPECT_NE(lines(explainLead(delivered, {before}, recorded, {}))[0].find("rejeté"),
            std::string::npos);
  before.rejeteLe = T + 2 * DAY;
  EXPECT_EQ(lines(explainLead(delivered, {before}, recorded, {})),
            V{"C1:lb_max_atteint:0/0 en LB cette semaine"})
      << "in LB by then (delivered 40 days before)";
  // A lead of the pool a commande had room for, yet not given: the trace does not match (the
  // lead was not examined); said so rather than a reason that was not.
  RunTrace roomy = recorded;
  roomy.commandes[0].closures.clear();
  EXPECT_EQ(lines(explainLead(delivered, {before}, roomy, {})),
            V{"C1:hors_run:lead non examiné par ce run"});

  // Another entity's run.
  Planned mdlOnly{{lead("m", hours(1), Entity::MDL)}, {commande("C9", "mdl", 10, Entity::MDL)},
              params(Entity::MDL)};
  mdlOnly.go();
  EXPECT_EQ(lines(explainLead(asLead(lead("z")), {}, mdlOnly.trace, {})),
            V{":hors_run:run limité à MDL"});
}

// The history a run writes (run.c++) carries the same decisions as its plan: a run that happened
// is explained as its dry run was.
std::vector<HistoryEvent> historyOf(const RunPlan& plan, const std::string& leadId,
                                    const std::string& run) {
  std::vector<HistoryEvent> out;
  out.push_back(history::received(T - DAY, "ingest"));
  for (const auto& a : plan.assignments) {
    if (a.leadId != leadId) continue;
    Delivery d;
    d.id = "D-" + leadId;
    d.lead = leadId;
    d.leadEntity = a.leadEntity;
    d.entity = a.commandeEntity;
    d.commande = a.commandeId;
    d.client = a.client;
    d.pass = a.pass;
    d.run = run;
    d.batch = "B";
    out.push_back(history::delivered(T, d));
  }
  for (const auto& s : plan.duplicates) {
    if (s.leadId == leadId) out.push_back(history::duplicateSkipped(T, s, run));
  }
  for (const auto& o : plan.oppositions) {
    if (o.leadId == leadId) out.push_back(history::opposedInRun(T, o.list, run));
  }
  // Another run's events are not this run's decisions.
  DuplicateSkip other{leadId, Entity::ZR7, "zzz", "C999", T - DAY, "PV"};
  out.push_back(history::duplicateSkipped(T - DAY, other, "2026-11-24"));
  return out;
}

// A synthetic run of both entities, every feature at once: for every lead the explanation agrees
// with the plan (delivered to exactly the commande the plan says, every other commande with a
// reason, never "not examined" for a lead of the pool), and the history gives the same answer.
TEST(Explain, EveryLeadOfALargerRunAgreesWithThePlan) {
  std::vector<PoolLead> leads;
  const char* depts[] = {"33", "40", "64", "75"};
  for (int i = 0; i < 400; ++i) {
    Entity e = i % 3 == 0 ? Entity::MDL : Entity::ZR7;
    Statut s = i % 5 == 0 ? Statut::LB : Statut::NEW;
    char id[8];
    std::snprintf(id, sizeof id, "L%03d", i);
    PoolLead l = lead(id, hours(1 + (i * 37) % (24 * (s == Statut::LB ? 25 : 7))), e, s);
    if (s == Statut::LB) l.recuLe = T - 9 * DAY - hours(i % 200);
    l.departement = depts[i % 4];
    l.produit = i % 7 == 0 ? "PAC" : "PV";
    if (i % 11 == 0) l.telephoneE164 = "+33same";  // one person many times
    leads.push_back(l);
  }
  std::vector<CommandeState> commandes;
  for (int i = 0; i < 12; ++i) {
    auto c = commande("C" + std::to_string(100 + i), "client" + std::to_string(i % 5), 5 + i * 3,
                      i % 2 ? Entity::MDL : Entity::ZR7);
    c.commande.priorite = 1 + i % 4;
    c.commande.lbMaxPct = static_cast<uint8_t>((i * 13) % 60);
    c.commande.fallback = i % 3 == 0;
    c.commande.quotaJour = i % 4 == 1 ? 4 : 0;
    if (i % 5 == 2) c.commande.departements = {"33", "40"};
    if (i == 7) c.commande.produit = "PAC";
    if (i == 9) c.commande.jours = {"sam"};
    c.deliveredThisWeek = static_cast<uint32_t>(i % 4);
    if (i % 4 == 3) {  // room left for the LB passes, but a small LB share
      c.commande.quotaSemaine = 200;
      c.commande.lbMaxPct = 2;
    }
    commandes.push_back(c);
  }
  Planned r{leads, commandes};
  r.duplicates = [](std::string_view e164, std::string_view,
                    std::string_view client) -> std::optional<Timestamp> {
    if (client == "client1" && e164.back() == '7') return T - 2 * DAY;
    return std::nullopt;
  };
  r.opposed = [](Entity list, std::string_view e164) {
    return e164.back() == '3' && (list == Entity::MDL || e164.size() % 2 == 0);
  };
  r.go();
  ASSERT_FALSE(r.plan.assignments.empty());
  ASSERT_FALSE(r.plan.duplicates.empty());
  ASSERT_FALSE(r.plan.oppositions.empty());

  std::map<std::string, std::string> givenTo;
  for (const auto& a : r.plan.assignments) givenTo[a.leadId] = a.commandeId;
  std::map<Reason, int> seen;
  RunTrace recorded = r.trace;
  recorded.committedAt = T + hours(1);
  for (const auto& l : leads) {
    Explanation x = r.explain(l.id);
    auto it = givenTo.find(l.id);
    EXPECT_EQ(x.delivered, it != givenTo.end()) << l.id;
    EXPECT_EQ(x.commande, it == givenTo.end() ? "" : it->second) << l.id;
    int attribue = 0;
    for (const auto& line : x.raisons) {
      ++seen[line.reason];
      EXPECT_NE(line.detail, "lead non examiné par ce run") << l.id << " " << line.commande;
      if (line.reason == Reason::ATTRIBUE) {
        ++attribue;
        EXPECT_EQ(line.commande, x.commande) << l.id;
      }
    }
    EXPECT_EQ(attribue, x.delivered ? 1 : 0) << l.id;
    // The same run, explained from what it wrote.
    Explanation fromHistory =
        explainLead(asLead(l), {}, recorded,
                    decisionsInHistory(historyOf(r.plan, l.id, r.p.date), asLead(l), r.p.date));
    EXPECT_EQ(fromHistory.raisons, x.raisons) << l.id;
    EXPECT_EQ(fromHistory.commande, x.commande) << l.id;
  }
  for (Reason reason : {Reason::ATTRIBUE, Reason::DEPARTEMENT, Reason::JOUR, Reason::QUOTA_ATTEINT,
                        Reason::QUOTA_JOUR_ATTEINT, Reason::LB_MAX_ATTEINT, Reason::PAS_DE_FALLBACK,
                        Reason::DOUBLON_CLIENT, Reason::OPPOSITION, Reason::DEVANCE}) {
    EXPECT_GT(seen[reason], 0) << reasonName(reason);
  }
}

}  // namespace
}  // namespace rdz
