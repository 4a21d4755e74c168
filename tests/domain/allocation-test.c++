// The allocation of a daily run (allocation.h, SPEC §5): aging, demand, eligibility, choice,
// the four passes and duplicate replacement. The run date is Wednesday 25 November 2026, so
// T = 09:30 Paris = 08:30 UTC, and the default jours (lun–ven) include it.
#include "daemon/domain/allocation.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace rdz {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;

constexpr Duration DAY = hours(24);
constexpr Duration US = microseconds(1);

const Timestamp T = Timestamp(date::sys_days(date::year(2026) / 11 / 25).time_since_epoch() +
                              hours(8) + std::chrono::minutes(30));

RunParams params(std::optional<Entity> only = std::nullopt) {
  RunParams p;
  p.date = "2026-11-25";
  p.reference = T;
  p.onlyEntity = only;
  return p;
}

// A lead received `age` before T. Every lead has its own phone unless told otherwise.
PoolLead lead(const std::string& id, Duration age, Statut statut = Statut::NEW,
              Entity entity = Entity::ZR7) {
  PoolLead l;
  l.id = id;
  l.entity = entity;
  l.produit = "PV";
  l.departement = "33";
  l.telephoneE164 = "+33" + id;
  l.recuLe = T - age;
  l.statut = statut;
  return l;
}
PoolLead fresh(const std::string& id, Duration age = hours(1), Entity e = Entity::ZR7) {
  return lead(id, age, Statut::NEW, e);
}
PoolLead lb(const std::string& id, Duration age = 20 * DAY, Entity e = Entity::ZR7) {
  return lead(id, age, Statut::LB, e);
}

CommandeState commande(const std::string& id, const std::string& client, uint32_t quota,
                       Entity entity = Entity::ZR7) {
  CommandeState s;
  s.commande.id = id;
  s.commande.entity = entity;
  s.commande.client = client;
  s.commande.produit = "PV";
  s.commande.departements = {"*"};
  s.commande.quotaSemaine = quota;
  return s;
}

// The duplicate index: last delivery time of (phone, produit, client).
class History {
 public:
  void add(const std::string& e164, const std::string& produit, const std::string& client,
           Timestamp at) {
    last_[{e164, produit, client}] = at;
  }
  DuplicateLookup lookup() const {
    return [this](std::string_view e164, std::string_view produit,
                  std::string_view client) -> std::optional<Timestamp> {
      auto it = last_.find({std::string(e164), std::string(produit), std::string(client)});
      if (it == last_.end()) return std::nullopt;
      return it->second;
    };
  }

 private:
  std::map<std::tuple<std::string, std::string, std::string>, Timestamp> last_;
};

const DuplicateLookup NO_HISTORY = [](std::string_view, std::string_view,
                                      std::string_view) -> std::optional<Timestamp> {
  return std::nullopt;
};

RunPlan plan(const std::vector<PoolLead>& leads, const std::vector<CommandeState>& commandes,
             const DuplicateLookup& lookup = NO_HISTORY, const RunParams& p = params()) {
  return planRun(p, leads, commandes, lookup);
}

// "lead>commande" in decision order.
std::vector<std::string> given(const RunPlan& p) {
  std::vector<std::string> out;
  for (const auto& a : p.assignments) out.push_back(a.leadId + ">" + a.commandeId);
  return out;
}
std::vector<PassKind> passes(const RunPlan& p) {
  std::vector<PassKind> out;
  for (const auto& a : p.assignments) out.push_back(a.pass);
  return out;
}
std::vector<std::string> aged(const RunPlan& p) {
  std::vector<std::string> out;
  for (const auto& a : p.aging) out.push_back(a.leadId + ":" + std::string(statutName(a.from)));
  return out;
}
// "lead/client/commande".
std::vector<std::string> skips(const RunPlan& p) {
  std::vector<std::string> out;
  for (const auto& d : p.duplicates) out.push_back(d.leadId + "/" + d.client + "/" + d.commandeId);
  return out;
}

using V = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Demand (§5.2)

TEST(Demand, QuotaMinusDelivered) {
  auto c = commande("C1", "acme", 10);
  c.deliveredThisWeek = 3;
  Demand d = demandOf(c, params());
  EXPECT_EQ(d.remaining, 7u);
  EXPECT_EQ(d.lbAllowance, 0u);  // lb_max_pct defaults to 0
  c.deliveredThisWeek = 12;      // over quota (e.g. the quota was lowered): never negative
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
}

TEST(Demand, ZeroWhenInactive) {
  auto c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 50;
  EXPECT_EQ(demandOf(c, params()).remaining, 10u);
  c.commande.actif = false;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 0u);
  c.commande.actif = true;
  c.clientActif = false;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 0u);
}

TEST(Demand, Jours) {
  auto c = commande("C1", "acme", 10);
  c.commande.jours = {"lun", "mar"};  // D is a Wednesday
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  c.commande.jours = {"mer"};
  EXPECT_EQ(demandOf(c, params()).remaining, 10u);

  RunParams saturday = params();
  saturday.date = "2026-11-28";
  c.commande.jours = {"lun", "mar", "mer", "jeu", "ven"};
  EXPECT_EQ(demandOf(c, saturday).remaining, 0u);
  c.commande.jours = {"sam"};
  EXPECT_EQ(demandOf(c, saturday).remaining, 10u);
}

TEST(Demand, DebutAndFinAreInclusive) {
  auto c = commande("C1", "acme", 10);
  c.commande.debut = "2026-11-25";
  EXPECT_EQ(demandOf(c, params()).remaining, 10u);
  c.commande.debut = "2026-11-26";
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  c.commande.debut = "";
  c.commande.fin = "2026-11-25";
  EXPECT_EQ(demandOf(c, params()).remaining, 10u);
  c.commande.fin = "2026-11-24";
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  c.commande.debut = "2025-01-01";
  c.commande.fin = "2027-01-01";
  EXPECT_EQ(demandOf(c, params()).remaining, 10u);
}

TEST(Demand, QuotaJourCaps) {
  auto c = commande("C1", "acme", 10);
  c.deliveredThisWeek = 2;
  EXPECT_EQ(demandOf(c, params()).remaining, 8u);  // quota_jour 0: no daily cap
  c.commande.quotaJour = 3;
  c.deliveredToday = 1;
  EXPECT_EQ(demandOf(c, params()).remaining, 2u);
  c.deliveredToday = 3;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  c.deliveredToday = 5;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  // The weekly rest is smaller than the daily cap.
  c.deliveredToday = 0;
  c.commande.quotaJour = 5;
  c.deliveredThisWeek = 8;
  EXPECT_EQ(demandOf(c, params()).remaining, 2u);
}

TEST(Demand, LbAllowanceFloors) {
  auto c = commande("C1", "acme", 7);
  c.commande.lbMaxPct = 30;  // 7 × 30 / 100 = 2.1 → 2
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 2u);
  c.lbDeliveredThisWeek = 1;
  c.deliveredThisWeek = 1;
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 1u);
  c.lbDeliveredThisWeek = 3;  // over the share: never negative
  c.deliveredThisWeek = 3;
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 0u);

  c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 50;
  c.deliveredThisWeek = 9;  // remaining 1 caps the allowance of 5
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 1u);
  c.commande.lbMaxPct = 100;
  c.deliveredThisWeek = 0;
  c.commande.quotaJour = 4;  // the daily cap caps it too
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 4u);
  c.commande.lbMaxPct = 9;  // 10 × 9 / 100 = 0.9 → 0
  EXPECT_EQ(demandOf(c, params()).lbAllowance, 0u);
}

TEST(Demand, ZeroDemandCommandeGetsNothing) {
  auto c = commande("C1", "acme", 10);
  c.commande.jours = {"lun"};
  EXPECT_TRUE(plan({fresh("a")}, {c}).assignments.empty());
  c.commande.jours = {"mer"};
  c.clientActif = false;
  EXPECT_TRUE(plan({fresh("a")}, {c}).assignments.empty());
  c.clientActif = true;
  EXPECT_EQ(given(plan({fresh("a")}, {c})), V{"a>C1"});
}

// ---------------------------------------------------------------------------------------------
// Aging (§5.1) and the reference time

TEST(Aging, NewLeadAgesExactlyAtEightDays) {
  auto c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 100;
  auto p = plan({fresh("exact", 8 * DAY), fresh("young", 8 * DAY - US), fresh("old", 8 * DAY + US)},
                {c});
  EXPECT_EQ(aged(p), (V{"exact:new", "old:new"}));
  for (const auto& a : p.aging) EXPECT_EQ(a.entity, Entity::ZR7);
  // Aged leads are in this run's LB pool (newest first), after the fresh one.
  EXPECT_EQ(given(p), (V{"young>C1", "exact>C1", "old>C1"}));
  EXPECT_EQ(passes(p), (std::vector{PassKind::FRESH, PassKind::LB, PassKind::LB}));
}

TEST(Aging, AgedLeadNeedsLbAllowance) {
  // An aged lead is no longer fresh: a commande taking no LB does not get it.
  auto p = plan({fresh("old", 8 * DAY)}, {commande("C1", "acme", 10)});
  EXPECT_EQ(aged(p), V{"old:new"});
  EXPECT_TRUE(p.assignments.empty());
}

TEST(Aging, DeliveredLeadReentersExactlyAtThirtyDays) {
  auto delivered = [](const std::string& id, std::optional<Duration> since) {
    PoolLead l = lead(id, 60 * DAY, Statut::DELIVERED);
    if (since) l.derniereLivraison = T - *since;
    return l;
  };
  auto c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 100;
  auto p = plan({delivered("exact", 30 * DAY), delivered("recent", 30 * DAY - US),
                 delivered("old", 30 * DAY + US), delivered("unknown", std::nullopt)},
                {c});
  EXPECT_EQ(aged(p), (V{"exact:delivered", "old:delivered"}));
  auto g = given(p);
  std::sort(g.begin(), g.end());
  EXPECT_EQ(g, (V{"exact>C1", "old>C1"}));
  EXPECT_EQ(passes(p), (std::vector{PassKind::LB, PassKind::LB}));
}

TEST(Aging, WindowsAreConfigurable) {
  RunParams p = params();
  p.freshWindow = 2 * DAY;
  p.lbReentry = 3 * DAY;
  PoolLead d = lead("d", 10 * DAY, Statut::DELIVERED);
  d.derniereLivraison = T - 3 * DAY;
  auto r = plan({fresh("n", 2 * DAY), fresh("m", 2 * DAY - US), d}, {}, NO_HISTORY, p);
  EXPECT_EQ(aged(r), (V{"n:new", "d:delivered"}));
}

TEST(Aging, OnlyLeadsReceivedByT) {
  auto c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 100;
  auto p = plan({fresh("at", Duration(0)), fresh("after", -US), lb("lbAfter", -US)}, {c});
  EXPECT_EQ(given(p), V{"at>C1"});
  EXPECT_TRUE(p.aging.empty());
}

TEST(Aging, OtherStatusesAreIgnored) {
  auto c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 100;
  PoolLead rejected = lead("r", 40 * DAY, Statut::REJECTED);
  rejected.derniereLivraison = T - 35 * DAY;
  auto p = plan(
      {lead("i", hours(1), Statut::INVALID), rejected, lead("d", 2 * DAY, Statut::DELIVERED)}, {c});
  EXPECT_TRUE(p.aging.empty());
  EXPECT_TRUE(p.assignments.empty());
}

// ---------------------------------------------------------------------------------------------
// Eligibility (§5.3)

TEST(Eligibility, ProduitAndDepartement) {
  auto pv = commande("C1", "acme", 10);
  pv.commande.departements = {"40", "33", "2A"};
  auto pac = commande("C2", "acme", 10);
  pac.commande.produit = "PAC";  // all departements
  PoolLead pv33 = fresh("pv33", hours(6)), pv75 = fresh("pv75", hours(5)),
           pv2a = fresh("pv2a", hours(4)), pac75 = fresh("pac75", hours(3)),
           ite33 = fresh("ite33", hours(2));
  pv75.departement = "75";
  pv2a.departement = "2A";
  pac75.produit = "PAC";
  pac75.departement = "75";
  ite33.produit = "ITE";
  auto p = plan({pv33, pv75, pv2a, pac75, ite33}, {pv, pac});
  EXPECT_EQ(given(p), (V{"pv33>C1", "pv2a>C1", "pac75>C2"}));
}

TEST(Eligibility, NoPhoneOrNoDepartementIsNeverEligible) {
  PoolLead noPhone = fresh("a", hours(3)), noDep = fresh("b", hours(2));
  noPhone.telephoneE164 = "";
  noDep.departement = "";
  auto p = plan({noPhone, noDep, fresh("c", hours(1))}, {commande("C1", "acme", 10)});
  EXPECT_EQ(given(p), V{"c>C1"});
}

TEST(Eligibility, RemainingIsLive) {
  auto p = plan({fresh("a", hours(5)), fresh("b", hours(4)), fresh("c", hours(3)),
                 fresh("d", hours(2)), fresh("e", hours(1))},
                {commande("C1", "acme", 2)});
  EXPECT_EQ(given(p), (V{"a>C1", "b>C1"}));
}

TEST(Eligibility, QuotaJourIsLive) {
  auto c = commande("C1", "acme", 10);
  c.commande.quotaJour = 2;
  std::vector<PoolLead> leads = {fresh("a", hours(3)), fresh("b", hours(2)), fresh("c", hours(1))};
  EXPECT_EQ(given(plan(leads, {c})), (V{"a>C1", "b>C1"}));
  c.deliveredToday = 1;
  EXPECT_EQ(given(plan(leads, {c})), V{"a>C1"});
}

// ---------------------------------------------------------------------------------------------
// Choice (§5.4)

TEST(Choice, PrioriteBeatsCompletion) {
  auto low = commande("C1", "acme", 10);  // 0 % done, priorite 5
  auto high = commande("C2", "bobo", 10);
  high.commande.priorite = 1;
  high.deliveredThisWeek = 9;  // 90 % done, priorite 1
  auto p = plan({fresh("a", hours(2)), fresh("b", hours(1))}, {low, high});
  EXPECT_EQ(given(p), (V{"a>C2", "b>C1"}));
}

TEST(Choice, CompletionBeatsId) {
  auto older = commande("C0001", "acme", 10);
  older.deliveredThisWeek = 5;
  auto newer = commande("C0002", "bobo", 10);
  newer.deliveredThisWeek = 1;
  EXPECT_EQ(given(plan({fresh("a")}, {older, newer})), V{"a>C0002"});
}

TEST(Choice, CompletionComparedExactly) {
  // 1/3 and 2/6 are equal: the id decides.
  auto a = commande("C0001", "acme", 3);
  a.deliveredThisWeek = 1;
  auto b = commande("C0002", "bobo", 6);
  b.deliveredThisWeek = 2;
  EXPECT_EQ(given(plan({fresh("x")}, {b, a})), V{"x>C0001"});
  // 33333/100000 is just below 1/3.
  b = commande("C0002", "bobo", 100000);
  b.deliveredThisWeek = 33333;
  EXPECT_EQ(given(plan({fresh("x")}, {a, b})), V{"x>C0002"});
  b.deliveredThisWeek = 33334;
  EXPECT_EQ(given(plan({fresh("x")}, {a, b})), V{"x>C0001"});
}

TEST(Choice, OldestIdOnTies) {
  // Given in reverse: the smallest (oldest) id still wins.
  auto p = plan({fresh("a")}, {commande("C0003", "c", 10), commande("C0002", "b", 10),
                               commande("C0010", "d", 10)});
  EXPECT_EQ(given(p), V{"a>C0002"});
}

TEST(Choice, LiveCompletionAlternates) {
  std::vector<PoolLead> leads;
  for (int i = 0; i < 6; ++i) leads.push_back(fresh("L" + std::to_string(i), hours(10 - i)));
  auto c1 = commande("C1", "acme", 10);
  auto c2 = commande("C2", "bobo", 10);
  EXPECT_EQ(given(plan(leads, {c1, c2})),
            (V{"L0>C1", "L1>C2", "L2>C1", "L3>C2", "L4>C1", "L5>C2"}));
  // C2 starts at 2/10: C1 catches up first, then they alternate.
  c2.deliveredThisWeek = 2;
  EXPECT_EQ(given(plan(leads, {c1, c2})),
            (V{"L0>C1", "L1>C1", "L2>C1", "L3>C2", "L4>C1", "L5>C2"}));
  // Different quotas: ratios, not counts.
  auto c3 = commande("C2", "bobo", 5);
  EXPECT_EQ(given(plan({leads[0], leads[1], leads[2]}, {c1, c3})), (V{"L0>C1", "L1>C2", "L2>C1"}));
}

// ---------------------------------------------------------------------------------------------
// Passes (§5.5)

TEST(Passes, FreshOldestFirst) {
  auto p = plan({fresh("mid", hours(5)), fresh("b", hours(7)), fresh("young", hours(1)),
                 fresh("a", hours(7))},
                {commande("C1", "acme", 3)});
  // Same recu_le: by id.
  EXPECT_EQ(given(p), (V{"a>C1", "b>C1", "mid>C1"}));
}

TEST(Passes, LbNewestFirst) {
  auto c = commande("C1", "acme", 3);
  c.commande.lbMaxPct = 100;
  auto p =
      plan({lb("mid", 20 * DAY), lb("a", 10 * DAY), lb("old", 50 * DAY), lb("b", 10 * DAY)}, {c});
  // Same recu_le: by id, descending.
  EXPECT_EQ(given(p), (V{"b>C1", "a>C1", "mid>C1"}));
  EXPECT_EQ(passes(p), (std::vector{PassKind::LB, PassKind::LB, PassKind::LB}));
}

TEST(Passes, FreshBeforeLb) {
  auto c = commande("C1", "acme", 1);
  c.commande.lbMaxPct = 100;
  auto p = plan({lb("l", hours(1)), fresh("f", 7 * DAY)}, {c});
  EXPECT_EQ(given(p), V{"f>C1"});
}

TEST(Passes, FallbackOnlyToFallbackCommandes) {
  auto closed = commande("M1", "mdl-a", 10, Entity::MDL);
  auto open = commande("M2", "mdl-b", 10, Entity::MDL);
  open.commande.fallback = true;
  auto p = plan({fresh("z")}, {closed, open});
  ASSERT_EQ(given(p), V{"z>M2"});
  const Assignment& a = p.assignments[0];
  EXPECT_EQ(a.pass, PassKind::FRESH_FALLBACK);
  EXPECT_EQ(a.leadEntity, Entity::ZR7);
  EXPECT_EQ(a.commandeEntity, Entity::MDL);
  EXPECT_EQ(a.client, "mdl-b");
  EXPECT_TRUE(plan({fresh("z")}, {closed}).assignments.empty());
}

TEST(Passes, FallbackTakesOnlyLeftovers) {
  auto own = commande("Z1", "zr7-a", 1, Entity::ZR7);
  own.commande.fallback = true;  // irrelevant to its own entity's leads
  auto other = commande("M1", "mdl-a", 5, Entity::MDL);
  other.commande.fallback = true;
  auto p = plan({fresh("z2", hours(1)), fresh("z1", hours(2))}, {other, own});
  EXPECT_EQ(given(p), (V{"z1>Z1", "z2>M1"}));
  EXPECT_EQ(passes(p), (std::vector{PassKind::FRESH, PassKind::FRESH_FALLBACK}));
}

TEST(Passes, OwnEntityFirstThenFallback) {
  // The MDL commande is served by MDL's own fresh leads before any ZR7 leftover, even an older
  // one.
  auto m = commande("M1", "mdl-a", 1, Entity::MDL);
  m.commande.fallback = true;
  auto p = plan({fresh("z", 5 * DAY, Entity::ZR7), fresh("m", hours(1), Entity::MDL)}, {m});
  EXPECT_EQ(given(p), V{"m>M1"});
}

TEST(Passes, FreshFallbackBeforeOwnLb) {
  auto z = commande("Z1", "zr7-a", 1, Entity::ZR7);
  z.commande.fallback = true;
  z.commande.lbMaxPct = 100;
  auto p = plan({lb("zl", hours(1), Entity::ZR7), fresh("m", hours(2), Entity::MDL)}, {z});
  EXPECT_EQ(given(p), V{"m>Z1"});
  EXPECT_EQ(passes(p), std::vector{PassKind::FRESH_FALLBACK});
}

TEST(Passes, LbFallback) {
  auto own = commande("Z1", "zr7-a", 1, Entity::ZR7);
  own.commande.lbMaxPct = 100;
  auto closed = commande("M1", "mdl-a", 5, Entity::MDL);
  closed.commande.lbMaxPct = 100;
  auto open = commande("M2", "mdl-b", 5, Entity::MDL);
  open.commande.lbMaxPct = 100;
  open.commande.fallback = true;
  auto p = plan({lb("z1", 10 * DAY), lb("z2", 11 * DAY)}, {own, closed, open});
  EXPECT_EQ(given(p), (V{"z1>Z1", "z2>M2"}));
  EXPECT_EQ(passes(p), (std::vector{PassKind::LB, PassKind::LB_FALLBACK}));
  EXPECT_EQ(p.assignments[1].commandeEntity, Entity::MDL);
  EXPECT_EQ(p.assignments[1].leadEntity, Entity::ZR7);
}

TEST(Passes, LbShareLimit) {
  std::vector<PoolLead> leads;
  for (int i = 0; i < 5; ++i) leads.push_back(lb("L" + std::to_string(i), (10 + i) * DAY));
  auto c = commande("C1", "acme", 10);
  c.commande.lbMaxPct = 30;
  EXPECT_EQ(given(plan(leads, {c})), (V{"L0>C1", "L1>C1", "L2>C1"}));
  c.lbDeliveredThisWeek = 2;
  c.deliveredThisWeek = 2;
  EXPECT_EQ(given(plan(leads, {c})), V{"L0>C1"});
  c.commande.lbMaxPct = 0;
  c.lbDeliveredThisWeek = 0;
  EXPECT_TRUE(plan(leads, {c}).assignments.empty());
}

TEST(Passes, FreshDeliveriesShrinkTheLbAllowance) {
  auto c = commande("C1", "acme", 4);
  c.commande.lbMaxPct = 50;  // allowance 2, but only 1 left after 3 fresh
  auto p = plan({fresh("f1", hours(3)), fresh("f2", hours(2)), fresh("f3", hours(1)),
                 lb("l1", 10 * DAY), lb("l2", 11 * DAY), lb("l3", 12 * DAY)},
                {c});
  EXPECT_EQ(given(p), (V{"f1>C1", "f2>C1", "f3>C1", "l1>C1"}));
}

TEST(Passes, LbShareLimitInFallback) {
  auto m = commande("M1", "mdl-a", 10, Entity::MDL);
  m.commande.fallback = true;
  m.commande.lbMaxPct = 20;  // 2 LB leads
  auto p = plan({lb("m1", 10 * DAY, Entity::MDL), lb("z1", 11 * DAY), lb("z2", 12 * DAY)}, {m});
  EXPECT_EQ(given(p), (V{"m1>M1", "z1>M1"}));
}

// ---------------------------------------------------------------------------------------------
// Duplicates (§5.3, §5.6)

TEST(Duplicates, ReplacedByTheNextLead) {
  History h;
  h.add("+33a", "PV", "acme", T - 3 * DAY);
  auto p = plan({fresh("a", hours(3)), fresh("b", hours(2)), fresh("c", hours(1))},
                {commande("C1", "acme", 2)}, h.lookup());
  EXPECT_EQ(given(p), (V{"b>C1", "c>C1"}));  // the quota is still met
  EXPECT_EQ(skips(p), V{"a/acme/C1"});
  EXPECT_EQ(p.duplicates[0].leadEntity, Entity::ZR7);
}

TEST(Duplicates, DuplicateForAStillGoesToB) {
  History h;
  h.add("+33a", "PV", "acme", T - 3 * DAY);
  auto ca = commande("CA", "acme", 10);
  ca.commande.priorite = 1;
  auto cb = commande("CB", "bobo", 10);
  auto p = plan({fresh("a", hours(2)), fresh("b", hours(1))}, {ca, cb}, h.lookup());
  EXPECT_EQ(given(p), (V{"a>CB", "b>CA"}));
  EXPECT_EQ(skips(p), V{"a/acme/CA"});
}

TEST(Duplicates, WindowIsExactlyThirtyDays) {
  auto run = [](Duration ago) {
    History h;
    h.add("+33a", "PV", "acme", T - ago);
    return plan({fresh("a")}, {commande("C1", "acme", 10)}, h.lookup());
  };
  EXPECT_EQ(given(run(30 * DAY)), V{"a>C1"});  // exactly 30 days ago: no longer a duplicate
  EXPECT_EQ(given(run(30 * DAY + US)), V{"a>C1"});
  EXPECT_TRUE(run(30 * DAY - US).assignments.empty());
  EXPECT_EQ(skips(run(30 * DAY - US)), V{"a/acme/C1"});
  EXPECT_TRUE(run(Duration(0)).assignments.empty());
}

TEST(Duplicates, WindowIsConfigurable) {
  History h;
  h.add("+33a", "PV", "acme", T - 8 * DAY);
  RunParams p = params();
  EXPECT_TRUE(plan({fresh("a")}, {commande("C1", "acme", 10)}, h.lookup(), p).assignments.empty());
  p.dedupWindow = 7 * DAY;
  EXPECT_EQ(given(plan({fresh("a")}, {commande("C1", "acme", 10)}, h.lookup(), p)), V{"a>C1"});
}

TEST(Duplicates, SamePersonOtherProduitOrOtherClientIsNoDuplicate) {
  History h;
  h.add("+33a", "PAC", "acme", T - DAY);
  h.add("+33a", "PV", "bobo", T - DAY);
  auto p = plan({fresh("a")}, {commande("C1", "acme", 10)}, h.lookup());
  EXPECT_EQ(given(p), V{"a>C1"});
  EXPECT_TRUE(p.duplicates.empty());
}

TEST(Duplicates, InsideOneRun) {
  PoolLead a = fresh("a", hours(3)), b = fresh("b", hours(2));
  b.telephoneE164 = a.telephoneE164;
  auto p = plan({a, b}, {commande("C1", "acme", 5)});
  EXPECT_EQ(given(p), V{"a>C1"});
  EXPECT_EQ(skips(p), V{"b/acme/C1"});

  // With a second client the twin goes there.
  auto ca = commande("CA", "acme", 5);
  ca.commande.priorite = 1;
  p = plan({a, b}, {ca, commande("CB", "bobo", 5)});
  EXPECT_EQ(given(p), (V{"a>CA", "b>CB"}));
  EXPECT_EQ(skips(p), V{"b/acme/CA"});

  // Another produit is another purchase.
  PoolLead c = b;
  c.produit = "PAC";
  auto pac = commande("C2", "acme", 5);
  pac.commande.produit = "PAC";
  EXPECT_EQ(given(plan({a, c}, {commande("C1", "acme", 5), pac})), (V{"a>C1", "b>C2"}));
}

TEST(Duplicates, InsideOneRunAcrossPasses) {
  // Fresh then LB, same client.
  auto c = commande("C1", "acme", 5);
  c.commande.lbMaxPct = 100;
  PoolLead f = fresh("f"), l = lb("l");
  l.telephoneE164 = f.telephoneE164;
  auto p = plan({l, f}, {c});
  EXPECT_EQ(given(p), V{"f>C1"});
  EXPECT_EQ(skips(p), V{"l/acme/C1"});

  // Own entity, then the other entity's lead by fallback, same client.
  auto m = commande("M1", "mdl-a", 5, Entity::MDL);
  m.commande.fallback = true;
  PoolLead z = fresh("z", hours(5), Entity::ZR7), mm = fresh("m", hours(1), Entity::MDL);
  mm.telephoneE164 = z.telephoneE164;
  p = plan({z, mm}, {m});
  EXPECT_EQ(given(p), V{"m>M1"});
  EXPECT_EQ(skips(p), V{"z/mdl-a/M1"});
}

TEST(Duplicates, OneSkipPerLeadAndClient) {
  History h;
  h.add("+33a", "PV", "acme", T - DAY);
  auto a1 = commande("CA1", "acme", 5);
  a1.commande.priorite = 1;
  auto a2 = commande("CA2", "acme", 5);
  a2.commande.priorite = 1;
  auto p = plan({fresh("a")}, {a1, a2, commande("CB", "bobo", 5)}, h.lookup());
  EXPECT_EQ(given(p), V{"a>CB"});
  EXPECT_EQ(skips(p), V{"a/acme/CA1"});
}

TEST(Duplicates, SkipOnlyWhenOtherwiseChosen) {
  History h;
  h.add("+33a", "PV", "acme", T - DAY);
  auto ca = commande("CA", "acme", 5);
  ca.commande.priorite = 1;
  auto cb = commande("CB", "bobo", 5);

  auto full = ca;
  full.deliveredThisWeek = 5;
  auto p = plan({fresh("a")}, {full, cb}, h.lookup());
  EXPECT_EQ(given(p), V{"a>CB"});
  EXPECT_TRUE(p.duplicates.empty());

  auto elsewhere = ca;
  elsewhere.commande.departements = {"40"};
  p = plan({fresh("a")}, {elsewhere, cb}, h.lookup());
  EXPECT_EQ(given(p), V{"a>CB"});
  EXPECT_TRUE(p.duplicates.empty());

  auto noLb = ca;  // an LB lead, and acme takes no LB
  p = plan({lb("a")},
           {noLb,
            [&] {
              auto c = cb;
              c.commande.lbMaxPct = 100;
              return c;
            }()},
           h.lookup());
  EXPECT_EQ(given(p), V{"a>CB"});
  EXPECT_TRUE(p.duplicates.empty());

  // acme comes after the chosen commande: nothing was avoided.
  ca.commande.priorite = 9;
  p = plan({fresh("a")}, {ca, cb}, h.lookup());
  EXPECT_EQ(given(p), V{"a>CB"});
  EXPECT_TRUE(p.duplicates.empty());

  // Nowhere else to go: a skip, no assignment.
  p = plan({fresh("a")}, {ca}, h.lookup());
  EXPECT_TRUE(p.assignments.empty());
  EXPECT_EQ(skips(p), V{"a/acme/CA"});
}

// ---------------------------------------------------------------------------------------------
// Whole runs

TEST(Run, LeadNeverAssignedTwice) {
  auto z = commande("Z1", "zr7-a", 1, Entity::ZR7);
  z.commande.lbMaxPct = 100;
  auto m = commande("M1", "mdl-a", 10, Entity::MDL);
  m.commande.fallback = true;
  m.commande.lbMaxPct = 100;
  auto z2 = commande("Z2", "zr7-b", 10, Entity::ZR7);
  z2.commande.fallback = true;
  z2.commande.lbMaxPct = 100;
  PoolLead f = fresh("f", hours(2)), dup = f;  // the same lead given twice
  auto p = plan(
      {f, dup, fresh("g", hours(1)), lb("l1", 10 * DAY), lb("l2", 11 * DAY),
       fresh("m", hours(1), Entity::MDL), lb("ml", 10 * DAY, Entity::MDL), fresh("aged", 9 * DAY)},
      {z, m, z2});
  std::set<std::string> ids;
  for (const auto& a : p.assignments) EXPECT_TRUE(ids.insert(a.leadId).second) << a.leadId;
  EXPECT_EQ(ids, (std::set<std::string>{"f", "g", "l1", "l2", "m", "ml", "aged"}));
  EXPECT_EQ(aged(p), V{"aged:new"});
}

// The service writes a plan through the leads' positions (Aging::lead, Assignment::lead): each
// names the lead it was made for, the first one when a lead is given twice.
TEST(Run, PositionsNameTheLeadsPlanned) {
  auto z = commande("Z1", "zr7-a", 10, Entity::ZR7);
  z.commande.lbMaxPct = 100;
  auto m = commande("M1", "mdl-a", 10, Entity::MDL);
  m.commande.fallback = true;
  PoolLead f = fresh("f", hours(2)), dup = f;
  std::vector<PoolLead> leads = {fresh("g", hours(1)),
                                 f,
                                 dup,
                                 lb("l1", 10 * DAY),
                                 fresh("aged", 9 * DAY),
                                 fresh("m", hours(1), Entity::MDL)};
  auto p = plan(leads, {z, m});
  ASSERT_EQ(p.assignments.size(), 5u);
  ASSERT_EQ(p.aging.size(), 1u);
  for (const auto& a : p.assignments) {
    ASSERT_LT(a.lead, leads.size());
    EXPECT_EQ(leads[a.lead].id, a.leadId);
    EXPECT_EQ(leads[a.lead].entity, a.leadEntity);
  }
  EXPECT_EQ(p.aging[0].lead, 4u);
  auto given = std::find_if(p.assignments.begin(), p.assignments.end(),
                            [](const Assignment& a) { return a.leadId == "f"; });
  ASSERT_NE(given, p.assignments.end());
  EXPECT_EQ(given->lead, 1u);  // not the copy at 2
}

TEST(Run, OnlyEntity) {
  auto z = commande("Z1", "zr7-a", 1, Entity::ZR7);
  z.commande.fallback = true;
  auto m = commande("M1", "mdl-a", 1, Entity::MDL);
  m.commande.fallback = true;
  std::vector<PoolLead> leads = {fresh("z1", hours(2)),
                                 fresh("z2", hours(1)),
                                 fresh("zOld", 9 * DAY),
                                 fresh("m1", hours(2), Entity::MDL),
                                 fresh("m2", hours(1), Entity::MDL),
                                 fresh("mOld", 9 * DAY, Entity::MDL)};

  auto all = plan(leads, {z, m});
  EXPECT_EQ(given(all), (V{"z1>Z1", "m1>M1"}));  // both full: no room for fallback

  z.commande.quotaSemaine = 2;
  m.commande.quotaSemaine = 2;
  auto zr7 = plan(leads, {z, m}, NO_HISTORY, params(Entity::ZR7));
  EXPECT_EQ(given(zr7), (V{"z1>Z1", "z2>Z1"}));
  EXPECT_EQ(aged(zr7), V{"zOld:new"});

  // MDL alone: its leftover does not cross to ZR7's fallback commande.
  z.commande.quotaSemaine = 5;
  m.commande.quotaSemaine = 1;
  auto mdl = plan(leads, {z, m}, NO_HISTORY, params(Entity::MDL));
  EXPECT_EQ(given(mdl), V{"m1>M1"});
  EXPECT_EQ(aged(mdl), V{"mOld:new"});
  // Without the restriction it does.
  EXPECT_EQ(given(plan(leads, {z, m})), (V{"z1>Z1", "z2>Z1", "m1>M1", "m2>Z1"}));
}

TEST(Run, DeterministicWhateverTheInputOrder) {
  History h;
  h.add("+33L3", "PV", "acme", T - DAY);
  std::vector<PoolLead> leads;
  for (int i = 0; i < 12; ++i) {
    Entity e = i % 3 == 0 ? Entity::MDL : Entity::ZR7;
    leads.push_back(i % 2 ? fresh("L" + std::to_string(i), hours(i + 1), e)
                          : lb("L" + std::to_string(i), (10 + i % 4) * DAY, e));
  }
  std::vector<CommandeState> commandes = {commande("C1", "acme", 3), commande("C2", "bobo", 4),
                                          commande("M1", "mdl-a", 3, Entity::MDL)};
  for (auto& c : commandes) {
    c.commande.lbMaxPct = 50;
    c.commande.fallback = true;
  }
  auto first = plan(leads, commandes, h.lookup());
  EXPECT_FALSE(first.assignments.empty());
  std::reverse(leads.begin(), leads.end());
  std::reverse(commandes.begin(), commandes.end());
  auto second = plan(leads, commandes, h.lookup());
  EXPECT_EQ(given(first), given(second));
  EXPECT_EQ(passes(first), passes(second));
  EXPECT_EQ(skips(first), skips(second));
}

TEST(Run, PassNames) {
  EXPECT_EQ(passName(PassKind::FRESH), "fresh");
  EXPECT_EQ(passName(PassKind::FRESH_FALLBACK), "fresh_fallback");
  EXPECT_EQ(passName(PassKind::LB), "lb");
  EXPECT_EQ(passName(PassKind::LB_FALLBACK), "lb_fallback");
}

}  // namespace
}  // namespace rdz

// ---------------------------------------------------------------------------------------------
// After delivery (SPEC §7.1–7.2): replacements owed, rejected leads, the opposition list

namespace rdz {
namespace {

TEST(Replacement, OwedAddsToRemainingStillCappedByQuotaJour) {
  auto c = commande("C1", "acme", 2);
  c.deliveredThisWeek = 2;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);
  c.replacementsOwed = 1;
  EXPECT_EQ(demandOf(c, params()).remaining, 1u);
  c.commande.quotaJour = 1;
  c.deliveredToday = 1;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);  // quota_jour still caps
  c.deliveredToday = 0;
  c.commande.actif = false;
  EXPECT_EQ(demandOf(c, params()).remaining, 0u);  // and actif
}

TEST(Replacement, ServedOnlyByDeliveriesBeyondTheWeeklyQuota) {
  auto c = commande("C1", "acme", 3);
  c.deliveredThisWeek = 1;
  c.replacementsOwed = 2;
  // 4 open: the 2 of the quota, then the 2 replacements; 3 leads serve the quota and 1.
  RunPlan p = plan({fresh("1", hours(3)), fresh("2", hours(2)), fresh("3", hours(1))}, {c});
  EXPECT_EQ(given(p), (V{"1>C1", "2>C1", "3>C1"}));
  ASSERT_EQ(p.replacements.size(), 1u);
  EXPECT_EQ(p.replacements[0].commandeId, "C1");
  EXPECT_EQ(p.replacements[0].count, 1u);
  // Only 2 leads: the quota is served, no replacement yet.
  EXPECT_TRUE(plan({fresh("1"), fresh("2")}, {c}).replacements.empty());
  // Replacements served earlier this week count as part of the week's target.
  c.replacementsServedThisWeek = 1;
  c.deliveredThisWeek = 4;
  c.replacementsOwed = 1;
  EXPECT_EQ(demandOf(c, params()).remaining, 1u);
}

TEST(Rejected, NeverInAPoolNorAged) {
  PoolLead r = lead("9", 40 * DAY, Statut::REJECTED);
  r.derniereLivraison = T - 40 * DAY;
  auto own = commande("C1", "acme", 5);
  auto other = commande("C2", "autre", 5, Entity::MDL);
  other.commande.fallback = true;
  other.commande.lbMaxPct = 100;
  own.commande.lbMaxPct = 100;
  RunPlan p = plan({r, lead("8", hours(1), Statut::REJECTED)}, {own, other});
  EXPECT_TRUE(p.assignments.empty());
  EXPECT_TRUE(p.aging.empty());
}

TEST(Opposition, OwnListSkipsEveryPassAndFallbackChecksTheReceivingList) {
  auto own = commande("C1", "acme", 5);
  auto other = commande("C2", "autre", 5, Entity::MDL);
  other.commande.fallback = true;
  std::set<std::pair<Entity, std::string>> lists = {{Entity::ZR7, "+331"},
                                                    {Entity::MDL, "+332"}};
  OppositionLookup opposed = [&](Entity list, std::string_view e164) {
    return lists.count({list, std::string(e164)}) > 0;
  };
  // 1: on ZR7's list (its own): never. 2: on MDL's list: its own ZR7 commande only. 3: free.
  RunPlan p = planRun(params(), {fresh("1", hours(3)), fresh("2", hours(2)), fresh("3", hours(1))},
                      {own}, NO_HISTORY, opposed);
  EXPECT_EQ(given(p), (V{"2>C1", "3>C1"}));
  ASSERT_EQ(p.oppositions.size(), 1u);
  EXPECT_EQ(p.oppositions[0].leadId, "1");
  EXPECT_EQ(p.oppositions[0].list, Entity::ZR7);
  // Only the MDL fallback commande: 2 is on the receiving entity's list.
  auto closed = own;
  closed.commande.actif = false;
  p = planRun(params(), {fresh("1", hours(3)), fresh("2", hours(2)), fresh("3", hours(1))},
              {closed, other}, NO_HISTORY, opposed);
  EXPECT_EQ(given(p), (V{"3>C2"}));
  std::set<std::pair<std::string, Entity>> skipped;
  for (auto& s : p.oppositions) skipped.insert({s.leadId, s.list});
  EXPECT_EQ(skipped, (std::set<std::pair<std::string, Entity>>{{"1", Entity::ZR7},
                                                                {"2", Entity::MDL}}));
}

TEST(RepeatedIds, EveryLaterCopyOfAnIdInOrder) {
  std::vector<std::string_view> ids{"a", "b", "a", "c", "b", "a", ""};
  EXPECT_EQ(repeatedIds(ids), (std::vector<size_t>{2, 4, 5}));
  EXPECT_TRUE(repeatedIds({}).empty());
  EXPECT_TRUE(repeatedIds({"x"}).empty());
  EXPECT_EQ(repeatedIds({"", ""}), (std::vector<size_t>{1}));
}

TEST(RepeatedIds, AgreesWithASetOverManyIds) {
  std::vector<std::string> owned;
  for (size_t i = 0; i < 20000; ++i) owned.push_back("lead-" + std::to_string((i * 7919) % 13001));
  std::vector<std::string_view> ids(owned.begin(), owned.end());
  std::vector<size_t> expected;
  std::set<std::string_view> seen;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!seen.insert(ids[i]).second) expected.push_back(i);
  }
  ASSERT_EQ(expected.size(), 20000u - 13001u);
  EXPECT_EQ(repeatedIds(ids), expected);
}

// Many leads, a few of them sharing their person: those are the ones this run's own
// deliveries can make duplicates of; the others are never held back by them.
TEST(Duplicates, InsideOneRunAmongManyLeads) {
  auto idOf = [](int i) {
    return "l" + std::string(i < 10 ? "00" : i < 100 ? "0" : "") + std::to_string(i);
  };
  std::vector<PoolLead> leads;
  for (int i = 0; i < 200; ++i) {
    PoolLead l = fresh(idOf(i), hours(1) + std::chrono::minutes(200 - i));
    l.telephoneE164 = "+3361" + std::to_string(1000 + i % 150);  // l000–l049 share with l150–l199
    leads.push_back(l);
  }
  auto a = commande("CA", "acme", 1000);
  a.commande.priorite = 1;
  auto p = plan(leads, {a, commande("CB", "bobo", 1000)});
  std::map<std::string, std::string> to;
  for (auto& g : given(p)) to[g.substr(0, 4)] = g.substr(5);
  ASSERT_EQ(to.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    std::string id = idOf(i);
    // The oldest of two leads of one person goes to acme, its twin to bobo.
    EXPECT_EQ(to[id], i >= 150 ? "CB" : "CA") << id;
  }
  EXPECT_EQ(skips(p).size(), 50u);
}

}  // namespace
}  // namespace rdz
