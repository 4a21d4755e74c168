// The daily counters (SPEC §7.3) kept in step by the real state changes — ingestion, runs,
// rejection, erasure — on a real store, read back through Viewer.stats over in-process RPC.
// Every expectation below is counted by hand from the scenario, not by the code under test.
//
// The scenario straddles the spring DST change of 2026 (Sunday 29 March, 01:00 UTC: Paris goes
// from UTC+1 to UTC+2), so a lead received at 23:30 UTC on the 28th belongs to the 29th, and one
// received at 22:30 UTC on the 29th to the 30th.
#include "daemon/service/stats.h"

#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/time.h"
#include "daemon/domain/validation.h"
#include "daemon/service/after-delivery.h"
#include "daemon/service/audit.h"
#include "daemon/service/auth.h"
#include "daemon/service/operations.h"
#include "daemon/service/opposition.h"
#include "daemon/service/run.h"
#include "daemon/service/server.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"
#include "daemon/store/store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

constexpr char ADMIN[] = "admin-token";
constexpr char ADMIN_MDL[] = "admin-mdl-token";
constexpr char VIEWER[] = "viewer-token";

Timestamp at(const char* iso) {
  auto t = parseIso(iso);
  KJ_REQUIRE(t.has_value(), iso);
  return *t;
}

struct Env {
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  ManualClock clock{at("2026-03-31T12:00:00Z")};
  IdGenerator ids;
  OppositionKey opposition{std::string(64, 'a')};
};

class StatsTest : public testing::Test {
 protected:
  std::unique_ptr<Env> env = std::make_unique<Env>();
  Store& store = *env->store;

  template <typename F>
  auto write(F&& f) {
    auto txn = store.begin();
    auto result = f(*txn);
    store.commit(*txn);
    return result;
  }

  // An admin import (recu_le given). `extra` overrides or adds fields; a value "" removes one.
  std::string lead(Entity e, const char* recuLe, std::string produit, std::string phone,
                   std::vector<Field> extra = {}) {
    Submission fields = {{"produit", produit}, {"nom", "Nom"},           {"prenom", "Prenom"},
                         {"telephone", phone}, {"code_postal", "33000"}, {"consentement", "oui"},
                         {"recu_le", recuLe}};
    for (auto& f : extra) {
      auto it =
          std::find_if(fields.begin(), fields.end(), [&](auto& g) { return g.name == f.name; });
      if (it != fields.end()) {
        if (f.value.empty()) {
          fields.erase(it);
        } else {
          it->value = f.value;
        }
      } else {
        fields.push_back(f);
      }
    }
    IngestRequest request{e, fields, "", env->clock.now(), true, "import", "test"};
    request.opposition = &env->opposition;
    SubmitAnswer answer = write([&](Txn& txn) { return ingestLead(txn, env->ids, request); });
    KJ_REQUIRE(answer.refused.empty(), answer.refused);
    return answer.id;
  }

  void client(Entity e, std::string id) {
    Client c;
    c.entity = e;
    c.id = id;
    c.nom = id;
    c.emails = {"leads@" + id + ".example"};
    write([&](Txn& txn) { return addClient(txn, c, env->clock.now()); });
  }

  std::string commande(std::string clientId, std::string produit, uint32_t quota, uint8_t lbPct,
                       bool fallback) {
    Commande c;
    c.client = clientId;
    c.produit = produit;
    c.departements = {"*"};
    c.quotaSemaine = quota;
    c.lbMaxPct = lbPct;
    c.fallback = fallback;
    c.jours = {"lun", "mar", "mer", "jeu", "ven", "sam", "dim"};
    return write([&](Txn& txn) { return addCommande(txn, c, env->clock.now()); });
  }

  RunOutcome run(const char* date) {
    RunParams params = runParams(RunSettings{}, date, std::nullopt, std::nullopt, env->clock.now());
    return write([&](Txn& txn) {
      return executeRun(txn, env->ids, params, env->clock.now(), &env->opposition);
    });
  }

  // What the Sender does after a 250: the batches of `run` are sent.
  void markSent(const RunOutcome& run) {
    write([&](Txn& txn) {
      for (auto& b : run.batches) {
        Batch sent = b;
        sent.status = BatchStatus::SENT;
        sent.nextAttempt = std::nullopt;
        putBatch(txn, sent, &b);
      }
      return 0;
    });
  }

  void reject(const std::string& id, const char* when) {
    write([&](Txn& txn) {
      return rejectLead(txn, std::nullopt, id, "faux_numero", at(when), at(when));
    });
  }

  void erase(const std::string& phone, const char* when) {
    std::string e164 = *normalizePhone(phone);
    write([&](Txn& txn) {
      return eraseLeads(txn, {Entity::ZR7, Entity::MDL}, e164, env->opposition.hash(e164),
                        at(when));
    });
  }

  std::map<std::string, DayCounters> days(Entity e, std::string from, std::string to,
                                          std::string produit = "", std::string client = "") {
    std::map<std::string, DayCounters> out;
    for (auto& [date, c] : readStats(store, e, {from, to, produit, client})) out[date] = c;
    return out;
  }

  // The scenario of the file's header. Leads: L1..L13 (ids kept for rejections).
  void scenario() {
    client(Entity::ZR7, "alpha");
    client(Entity::ZR7, "beta");
    client(Entity::MDL, "gamma");
    commandeA = commande("alpha", "PV", 5, 100, false);
    commandeB = commande("beta", "PAC", 5, 0, true);
    commandeG = commande("gamma", "PV", 5, 0, true);

    lead(Entity::ZR7, "2026-03-10T10:00:00Z", "ITE", "0612000012");  // L12: ages, stays LB
    lead(Entity::ZR7, "2026-03-15T10:00:00Z", "PV", "0612000011");   // L11: ages, LB to alpha
    // L1, with a warning (email.invalid) that does not make it invalid.
    lead(Entity::ZR7, "2026-03-27T10:00:00Z", "PV", "0612000001", {{"email", "pas-un-email"}});
    lead(Entity::ZR7, "2026-03-27T12:00:00Z", "PV", "0612000005",
         {{"consentement", "non"}});  // L5 invalid
    l9 = lead(Entity::ZR7, "2026-03-27T13:00:00Z", "PAC", "0612000009");
    lead(Entity::ZR7, "2026-03-28T10:00:00Z", "ITE", "0612000010");      // L10: fresh, unsold
    l2 = lead(Entity::ZR7, "2026-03-28T23:30:00Z", "PV", "0612000002");  // Paris: 29th 00:30
    lead(Entity::MDL, "2026-03-28T08:00:00Z", "PAC", "0612000006");      // L6
    lead(Entity::MDL, "2026-03-28T08:05:00Z", "PAC", "0612000007");      // L7
    lead(Entity::MDL, "2026-03-28T09:00:00Z", "XYZ", "0612000008");      // L8 produit.unknown
    lead(Entity::ZR7, "2026-03-29T20:00:00Z", "PV", "0612000001");       // L13: P1 again
    lead(Entity::ZR7, "2026-03-29T21:30:00Z", "PV", "0612000003");       // L3: Paris 29th 23:30
    l4 = lead(Entity::ZR7, "2026-03-29T22:30:00Z", "PV", "123",
              {{"code_postal", ""}});  // L4: Paris 30th 00:30

    // Run of Sunday the 29th (T = 07:30 UTC): L11, L12 age to LB; fresh own: L1, L2 -> alpha,
    // L9 -> beta; fresh fallback: L6, L7 (MDL PAC) -> beta; LB own: L11 -> alpha.
    auto r1 = run("2026-03-29");
    EXPECT_EQ(r1.run.assigned, 6u);
    markSent(r1);
    // Run of Monday the 30th: fresh own: L13 is a duplicate for alpha (it had P1 on the 29th),
    // L3 -> alpha; fresh fallback: L13 -> gamma. Its batches stay pending.
    auto r2 = run("2026-03-30");
    EXPECT_EQ(r2.run.assigned, 2u);
    EXPECT_EQ(r2.run.doublonsEvites, 1u);

    reject(l2, "2026-03-30T21:30:00Z");  // Paris 30th 23:30 (a week after: replacement owed)
    reject(l9, "2026-03-30T22:30:00Z");  // Paris 31st 00:30
    // P1: L1 (sent) and L13 (pending batch to gamma: withdrawn, not delivered after all).
    erase("0612000001", "2026-03-31T10:00:00Z");
    erase("0612000007", "2026-03-31T11:00:00Z");  // L7, delivered in a sent batch
  }

  std::string commandeA, commandeB, commandeG, l2, l4, l9;
};

DayCounters counters(std::initializer_list<std::pair<const char*, int64_t>> values) {
  DayCounters c;
  for (auto& [name, v] : values) {
    std::string n = name;
    if (n == "recus")
      c.recus = v;
    else if (n == "livres_fresh")
      c.livresFresh = v;
    else if (n == "livres_lb")
      c.livresLb = v;
    else if (n == "fallback_entrants")
      c.fallbackEntrants = v;
    else if (n == "fallback_sortants")
      c.fallbackSortants = v;
    else if (n == "doublons_evites")
      c.doublonsEvites = v;
    else if (n == "rejetes")
      c.rejetes = v;
    else if (n == "effaces")
      c.effaces = v;
    else if (n == "stock_lb")
      c.stockLb = v;
    else if (n == "fresh_invendus")
      c.freshInvendus = v;
    else
      ADD_FAILURE() << "no counter " << n;
  }
  return c;
}

TEST_F(StatsTest, EveryChangeMovesItsDayCounters) {
  scenario();
  auto lead4 = getLead(store, Entity::ZR7, l4);
  KJ_IF_MAYBE(l, lead4) {
    ASSERT_EQ(l->problemes, (std::vector<std::string>{"telephone.invalid", "code_postal.missing"}));
  } else {
    FAIL();
  }

  auto zr7 = days(Entity::ZR7, "2026-03-09", "2026-04-01");
  ASSERT_EQ(zr7.size(), 24u);  // every day of the period, active or not
  EXPECT_EQ(zr7["2026-03-09"], DayCounters{});
  EXPECT_EQ(zr7["2026-03-10"], counters({{"recus", 1}}));
  EXPECT_EQ(zr7["2026-03-15"], counters({{"recus", 1}}));
  DayCounters d27 = counters({{"recus", 3}});
  d27.invalides = {{"consentement.absent", 1}};
  EXPECT_EQ(zr7["2026-03-27"], d27);
  EXPECT_EQ(zr7["2026-03-28"], counters({{"recus", 1}}));
  // L2 (23:30 UTC on the 28th), L13, L3; the run: 5 fresh (2 of them MDL's, by fallback), 1 LB;
  // left: L12 in LB, L10 fresh (L3 and L13 came after 09:30).
  EXPECT_EQ(zr7["2026-03-29"], counters({{"recus", 3},
                                         {"livres_fresh", 5},
                                         {"livres_lb", 1},
                                         {"fallback_entrants", 2},
                                         {"stock_lb", 1},
                                         {"fresh_invendus", 1}}));
  // L4 (22:30 UTC on the 29th: after the change, UTC+2); the run: L3 to alpha, L13 out to gamma
  // (taken back by the erasure), one duplicate avoided; L2 rejected at 23:30 Paris.
  DayCounters d30 = counters({{"recus", 1},
                              {"livres_fresh", 1},
                              {"doublons_evites", 1},
                              {"rejetes", 1},
                              {"stock_lb", 1},
                              {"fresh_invendus", 1}});
  d30.invalides = {{"code_postal.missing", 1}, {"telephone.invalid", 1}};
  EXPECT_EQ(zr7["2026-03-30"], d30);
  EXPECT_EQ(zr7["2026-03-31"], counters({{"rejetes", 1}, {"effaces", 2}}));
  EXPECT_EQ(zr7["2026-04-01"], DayCounters{});

  auto mdl = days(Entity::MDL, "2026-03-28", "2026-03-31");
  DayCounters m28 = counters({{"recus", 3}});
  m28.invalides = {{"produit.unknown", 1}};
  EXPECT_EQ(mdl["2026-03-28"], m28);
  EXPECT_EQ(mdl["2026-03-29"],
            counters({{"fallback_sortants", 2}, {"stock_lb", 0}, {"fresh_invendus", 0}}));
  // L13 came in by fallback and was taken back: a run with nothing left still has its pools.
  EXPECT_EQ(mdl["2026-03-30"], counters({{"stock_lb", 0}, {"fresh_invendus", 0}}));
  EXPECT_EQ(mdl["2026-03-31"], counters({{"effaces", 1}}));

  // The counters match a recount from the records (what `rdzctl audit` checks).
  auto mismatches = compareStats(storedStats(store), recountStats(store));
  for (auto& m : mismatches) ADD_FAILURE() << m.key << ": " << m.detail;
}

TEST_F(StatsTest, AGroupsIncrementsAreWrittenOnceAndUndoneWithTheirJob) {
  // As the WriteQueue runs a group: one txn, a save point per job.
  auto ingest = [&](Txn& txn, const char* phone, const char* recuLe) {
    IngestRequest request{Entity::ZR7,
                          {{"produit", "PV"}, {"nom", "Nom"}, {"prenom", "Prenom"},
                           {"telephone", phone}, {"code_postal", "33000"},
                           {"consentement", "oui"}, {"recu_le", recuLe}},
                          "", env->clock.now(), true, "import", "test"};
    return ingestLead(txn, env->ids, request);
  };
  auto txn = store.begin();
  txn->setSavePoint();
  ingest(*txn, "0612345601", "2026-03-30T10:00:00Z");
  txn->popSavePoint();
  txn->setSavePoint();
  ingest(*txn, "0612345602", "2026-03-30T10:01:00Z");
  txn->rollbackToSavePoint();  // this job failed: its lead and its increment go
  txn->setSavePoint();
  ingest(*txn, "0612345603", "2026-03-30T10:02:00Z");
  txn->popSavePoint();
  // A job that reads the day's row (applyStats settles first) and then fails: what it settled
  // is undone with it, and stays to be written.
  txn->setSavePoint();
  StatsChange erased;
  erased.entity = Entity::ZR7;
  erased.date = "2026-03-30";
  erased.delta.effaces = 1;
  applyStats(*txn, {erased});
  txn->rollbackToSavePoint();

  size_t writes = txn->size();
  txn->settle();
  EXPECT_EQ(txn->size(), writes + 1);  // one row, for both leads
  txn->settle();
  EXPECT_EQ(txn->size(), writes + 1);  // settled once
  store.commit(*txn);

  auto day = days(Entity::ZR7, "2026-03-30", "2026-03-30");
  EXPECT_EQ(day["2026-03-30"].recus, 2);
  EXPECT_EQ(day["2026-03-30"].effaces, 0);
  EXPECT_TRUE(compareStats(storedStats(store), recountStats(store)).empty());

  // A decrement is not an increment.
  auto other = store.begin();
  StatsChange down = erased;
  down.delta.effaces = -1;
  EXPECT_ANY_THROW(addStats(*other, {down}));
}

TEST_F(StatsTest, FiltersApplyToTheDeliverySide) {
  scenario();
  // alpha: L1, L2 fresh and L11 LB on the 29th; L3 on the 30th, the duplicate avoided for it
  // and the rejection of L2. recus and the pools stay the entity's.
  auto alpha = days(Entity::ZR7, "2026-03-29", "2026-03-31", "", "alpha");
  EXPECT_EQ(alpha["2026-03-29"], counters({{"recus", 3},
                                           {"livres_fresh", 2},
                                           {"livres_lb", 1},
                                           {"stock_lb", 1},
                                           {"fresh_invendus", 1}}));
  DayCounters a30 = counters({{"recus", 1},
                              {"livres_fresh", 1},
                              {"doublons_evites", 1},
                              {"rejetes", 1},
                              {"stock_lb", 1},
                              {"fresh_invendus", 1}});
  a30.invalides = {{"code_postal.missing", 1}, {"telephone.invalid", 1}};
  EXPECT_EQ(alpha["2026-03-30"], a30);
  EXPECT_EQ(alpha["2026-03-31"], counters({{"effaces", 2}}));
  EXPECT_EQ(days(Entity::ZR7, "2026-03-29", "2026-03-31", "PV", "alpha"), alpha);

  // PAC: beta's L9 and the two MDL leads by fallback; L9's rejection after midnight.
  auto pac = days(Entity::ZR7, "2026-03-29", "2026-03-31", "PAC");
  EXPECT_EQ(deliverySide(pac["2026-03-29"]),
            counters({{"livres_fresh", 3}, {"fallback_entrants", 2}}));
  EXPECT_EQ(deliverySide(pac["2026-03-30"]), DayCounters{});
  EXPECT_EQ(deliverySide(pac["2026-03-31"]), counters({{"rejetes", 1}}));

  // A client of the other entity: where ZR7's fallback leads went (L13, taken back) / MDL's.
  auto gamma = days(Entity::ZR7, "2026-03-29", "2026-03-31", "", "gamma");
  for (auto& [date, c] : gamma) EXPECT_EQ(deliverySide(c), DayCounters{}) << date;
  auto mdlToBeta = days(Entity::MDL, "2026-03-29", "2026-03-29", "", "beta");
  EXPECT_EQ(deliverySide(mdlToBeta["2026-03-29"]), counters({{"fallback_sortants", 2}}));
  auto none = days(Entity::ZR7, "2026-03-29", "2026-03-31", "PV", "beta");
  for (auto& [date, c] : none) EXPECT_EQ(deliverySide(c), DayCounters{}) << date;
}

TEST_F(StatsTest, CommandesShowTheWeekOfTo) {
  scenario();
  auto report = [&](const char* to) {
    StatsRequest request =
        resolveStatsRequest(store, {Entity::ZR7, Entity::MDL}, "", to, "", "", env->clock.now());
    return computeStatsReport(store, request);
  };
  // Week 14 (30 March – 5 April): alpha has L3; its L2 of week 13 rejected: a replacement owed.
  // beta: nothing this week, L9 (week 13) rejected: owed. gamma: L13 withdrawn: 0.
  auto w14 = report("2026-03-31");
  ASSERT_EQ(w14.entities.size(), 2u);
  ASSERT_EQ(w14.entities[0].commandes.size(), 2u);
  auto& a = w14.entities[0].commandes[0];
  EXPECT_EQ(a.id, commandeA);
  EXPECT_EQ(a.client, "alpha");
  EXPECT_EQ(a.produit, "PV");
  EXPECT_EQ(a.quotaSemaine, 5u);
  EXPECT_EQ(a.livresSemaine, 1u);
  EXPECT_EQ(a.lbSemaine, 0u);
  EXPECT_EQ(a.remplacementsDus, 1u);
  EXPECT_EQ(a.figures, (CommandeWeekFigures{20, 4}));
  auto& b = w14.entities[0].commandes[1];
  EXPECT_EQ(b.id, commandeB);
  EXPECT_EQ(b.livresSemaine, 0u);
  EXPECT_EQ(b.remplacementsDus, 1u);
  EXPECT_EQ(b.figures, (CommandeWeekFigures{0, 5}));
  ASSERT_EQ(w14.entities[1].commandes.size(), 1u);
  EXPECT_EQ(w14.entities[1].commandes[0].id, commandeG);
  EXPECT_EQ(w14.entities[1].commandes[0].livresSemaine, 0u);
  EXPECT_EQ(w14.entities[1].commandes[0].figures, (CommandeWeekFigures{0, 5}));
  // The default period is `to` alone.
  EXPECT_EQ(w14.from, "2026-03-31");
  ASSERT_EQ(w14.entities[0].days.size(), 1u);

  // Week 13: alpha got L1, L2 (rejected the next week: still counted there), L11 from LB.
  auto w13 = report("2026-03-29");
  auto& a13 = w13.entities[0].commandes[0];
  EXPECT_EQ(a13.livresSemaine, 3u);
  EXPECT_EQ(a13.lbSemaine, 1u);
  EXPECT_EQ(a13.figures, (CommandeWeekFigures{60, 2}));
  auto& b13 = w13.entities[0].commandes[1];
  EXPECT_EQ(b13.livresSemaine, 3u);
  EXPECT_EQ(b13.figures, (CommandeWeekFigures{60, 2}));
}

TEST_F(StatsTest, TotalsAddUpAndKeepTheLastRunsPools) {
  scenario();
  StatsRequest request = resolveStatsRequest(store, {Entity::ZR7}, "2026-03-27", "2026-04-02", "",
                                             "", env->clock.now());
  auto report = computeStatsReport(store, request);
  ASSERT_EQ(report.entities.size(), 1u);
  EXPECT_EQ(report.entities[0].days.size(), 7u);
  DayCounters total = counters({{"recus", 8},
                                {"livres_fresh", 6},
                                {"livres_lb", 1},
                                {"fallback_entrants", 2},
                                {"doublons_evites", 1},
                                {"rejetes", 2},
                                {"effaces", 2},
                                {"stock_lb", 1},
                                {"fresh_invendus", 1}});
  total.invalides = {
      {"code_postal.missing", 1}, {"consentement.absent", 1}, {"telephone.invalid", 1}};
  EXPECT_EQ(report.entities[0].total, total);
}

TEST_F(StatsTest, QueriesAreChecked) {
  client(Entity::ZR7, "alpha");
  auto resolve = [&](std::string from, std::string to, std::string produit = "",
                     std::string clientId = "") {
    return resolveStatsRequest(store, {Entity::ZR7}, from, to, produit, clientId, env->clock.now());
  };
  // Default: today in Paris (12:00 UTC on the 31st).
  EXPECT_EQ(resolve("", "").from, "2026-03-31");
  EXPECT_EQ(resolve("", "").to, "2026-03-31");
  EXPECT_EQ(resolve("", "", "pv").produit, "PV");
  EXPECT_ANY_THROW(resolve("2026-04-01", "2026-03-31"));
  EXPECT_ANY_THROW(resolve("2026-02-30", ""));
  EXPECT_ANY_THROW(resolve("31/03/2026", ""));
  EXPECT_NO_THROW(resolve("2023-07-06", "2026-03-31"));   // 1000 days
  EXPECT_ANY_THROW(resolve("2023-07-05", "2026-03-31"));  // 1001
  EXPECT_ANY_THROW(resolve("", "", "", "nobody"));
  EXPECT_ANY_THROW(resolve("", "", "NOPE"));
  EXPECT_NO_THROW(resolve("", "", "ITE", "alpha"));
}

// A database from before the counters: rdzd rebuilds them at startup from the records.
TEST_F(StatsTest, RebuildFromTheRecordsGivesTheSameCounters) {
  EXPECT_TRUE(ensureStatsBuilt(store));  // rdzd's first start: nothing to count yet
  EXPECT_TRUE(storedStats(store).empty());
  scenario();
  StatsTable kept = storedStats(store);
  ASSERT_FALSE(kept.empty());
  EXPECT_FALSE(ensureStatsBuilt(store));  // built, and kept in step since

  // The counter rows lost (the runs' own records kept): the rebuild gives every row back.
  write([&](Txn& txn) {
    for (auto& [row, c] : kept) txn.del(row.first, Family::STATS, row.second);
    txn.delSystem(keys::STATS_BUILT_KEY);
    return 0;
  });
  EXPECT_TRUE(storedStats(store).empty());
  EXPECT_TRUE(ensureStatsBuilt(store));
  EXPECT_EQ(storedStats(store), kept);
  EXPECT_FALSE(ensureStatsBuilt(store));

  // Runs from before the counters have no record of their own: the pools they left are
  // unknown, and their duplicates count only on the day row (from the run record).
  write([&](Txn& txn) {
    for (Entity e : ALL_ENTITIES) {
      std::vector<std::string> all;
      txn.scan(e, Family::STATS, "", [&](std::string_view key, auto) {
        all.emplace_back(key);
        return true;
      });
      for (auto& key : all) txn.del(e, Family::STATS, key);
    }
    txn.delSystem(keys::STATS_BUILT_KEY);
    return 0;
  });
  EXPECT_TRUE(ensureStatsBuilt(store));
  StatsTable rebuilt = storedStats(store);
  StatsTable expected = kept;
  for (auto it = expected.begin(); it != expected.end();) {
    DayCounters& c = it->second;
    c.stockLb.reset();
    c.freshInvendus.reset();
    if (it->first.second[0] != 'T') c.doublonsEvites = 0;
    it = isZero(c) ? expected.erase(it) : std::next(it);
  }
  EXPECT_EQ(rebuilt, expected);
  auto alpha = days(Entity::ZR7, "2026-03-30", "2026-03-30", "", "alpha");
  EXPECT_EQ(alpha["2026-03-30"].doublonsEvites, 0);
  auto all = days(Entity::ZR7, "2026-03-30", "2026-03-30");
  EXPECT_EQ(all["2026-03-30"].doublonsEvites, 1);
  EXPECT_FALSE(all["2026-03-30"].stockLb.has_value());
  EXPECT_TRUE(compareStats(storedStats(store), recountStats(store)).empty());
}

TEST_F(StatsTest, TheAuditComparisonNamesWhatDiffers) {
  scenario();
  StatsTable tampered = storedStats(store);
  tampered[{Entity::ZR7, keys::statsDayKey("2026-03-29")}].livresFresh += 1;
  tampered[{Entity::MDL, keys::statsClientKey("beta", "2026-03-29", "PAC")}].fallbackSortants = 0;
  tampered[{Entity::ZR7, keys::statsDayKey("2026-05-01")}].stockLb = 7;
  auto mismatches = compareStats(tampered, recountStats(store));
  ASSERT_EQ(mismatches.size(), 3u);
  EXPECT_EQ(mismatches[0].entity, Entity::ZR7);
  EXPECT_EQ(mismatches[0].key, "2026-03-29");
  EXPECT_EQ(mismatches[0].detail, "livres_fresh: stored 6, recounted 5");
  EXPECT_EQ(mismatches[1].key, "2026-05-01");
  EXPECT_EQ(mismatches[1].detail, "stock_lb: stored 7, recounted null");
  EXPECT_EQ(mismatches[2].entity, Entity::MDL);
  EXPECT_EQ(mismatches[2].key, "2026-03-29 client beta PAC");
  EXPECT_EQ(mismatches[2].detail, "fallback_sortants: stored 0, recounted 2");
}

// `rdzctl audit` (SPEC §7.5) after the whole scenario: every invariant holds, and a counter that
// disagrees with the records is reported on the audited entities only.
TEST_F(StatsTest, TheAuditFindsTheCountersInStepAndATamperedOneOut) {
  ASSERT_TRUE(ensureStatsBuilt(store));
  scenario();
  std::atomic<bool> cancelled{false};
  AuditOptions options;
  options.opposition = &env->opposition;
  AuditReport clean = auditStore(store, options, cancelled);
  for (auto& v : clean.violations) ADD_FAILURE() << v.invariant << " " << v.key << ": " << v.detail;

  write([&](Txn& txn) {
    std::string key = keys::statsDayKey("2026-03-29");
    KJ_IF_MAYBE(bytes, txn.get(Entity::ZR7, Family::STATS, key)) {
      DayCounters c = decodeDayCounters(*bytes);
      c.livresFresh += 1;
      txn.put(Entity::ZR7, Family::STATS, key, encode(c));
    }
    return 0;
  });
  AuditReport report = auditStore(store, options, cancelled);
  ASSERT_EQ(report.violationsTotal, 1u);
  EXPECT_EQ(report.violations[0].invariant, invariant::STATS_COUNTER);
  EXPECT_EQ(report.violations[0].key, "zr7.stats/2026-03-29");
  EXPECT_EQ(report.violations[0].detail, "livres_fresh: stored 6, recounted 5");

  options.entities = {Entity::MDL};  // an MDL-bound admin's audit: nothing of ZR7
  EXPECT_TRUE(auditStore(store, options, cancelled).ok());
}

// ---- over RPC -----------------------------------------------------------------------------

struct RpcParts {
  Auth auth;
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::unique_ptr<WriteQueue> writes;
  std::unique_ptr<ServiceContext> context;
  kj::TwoWayPipe pipe = kj::newTwoWayPipe();
  std::unique_ptr<capnp::TwoPartyServer> server;
  std::unique_ptr<capnp::TwoPartyClient> client;
};

class StatsRpcTest : public StatsTest {
 protected:
  std::unique_ptr<RpcParts> rpc = std::make_unique<RpcParts>();

  void SetUp() override {
    rpc->auth.add({Role::ADMIN, std::nullopt, "admin"}, sha256Hex(ADMIN));
    rpc->auth.add({Role::ADMIN, Entity::MDL, "admin-mdl"}, sha256Hex(ADMIN_MDL));
    rpc->auth.add({Role::VIEWER, std::nullopt, "viewer"}, sha256Hex(VIEWER));
    rpc->writes = std::make_unique<WriteQueue>(store);
    rpc->context = std::make_unique<ServiceContext>(
        ServiceContext{store, *rpc->writes, env->ids, env->clock, rpc->auth, RunSettings{}});
    rpc->server = std::make_unique<capnp::TwoPartyServer>(newBootstrap(*rpc->context));
    rpc->server->accept(kj::mv(rpc->pipe.ends[1]));
    rpc->client = std::make_unique<capnp::TwoPartyClient>(*rpc->pipe.ends[0]);
  }

  schema::Viewer::Client viewer(const char* token) {
    auto req = rpc->client->bootstrap().castAs<schema::Bootstrap>().authenticateRequest();
    req.setToken(token);
    return req.send().wait(rpc->io.waitScope).getSession().getViewer();
  }

  capnp::Response<schema::Viewer::StatsResults> stats(schema::Viewer::Client v,
                                                      std::optional<Entity> e, const char* from,
                                                      const char* to) {
    auto req = v.statsRequest();
    if (e) {
      req.initEntity().setOne(static_cast<schema::Entity>(*e));
    } else {
      req.initEntity().setAll();
    }
    req.setFrom(from);
    req.setTo(to);
    return req.send().wait(rpc->io.waitScope);
  }
};

TEST_F(StatsRpcTest, AnEntityBoundSessionSeesOnlyItsEntity) {
  scenario();
  auto all = stats(viewer(VIEWER), std::nullopt, "2026-03-29", "2026-03-30");
  ASSERT_EQ(all.getReport().getEntities().size(), 2u);

  auto mdlAdmin = viewer(ADMIN_MDL);
  auto own = stats(mdlAdmin, std::nullopt, "2026-03-29", "2026-03-30");
  auto entities = own.getReport().getEntities();
  ASSERT_EQ(entities.size(), 1u);
  EXPECT_EQ(entities[0].getEntity(), schema::Entity::MDL);
  EXPECT_EQ(entities[0].getDays()[0].getDate(), "2026-03-29");
  EXPECT_EQ(entities[0].getDays()[0].getFallbackSortants(), 2u);
  EXPECT_EQ(entities[0].getDays()[1].getStockLb(), 0);
  EXPECT_EQ(entities[0].getTotal().getFallbackSortants(), 2u);
  EXPECT_FALSE(entities[0].getTotal().hasDate());
  ASSERT_EQ(entities[0].getCommandes().size(), 1u);
  EXPECT_EQ(entities[0].getCommandes()[0].getClient(), "gamma");
  EXPECT_ANY_THROW(stats(mdlAdmin, Entity::ZR7, "2026-03-29", "2026-03-30"));
}

TEST_F(StatsRpcTest, DefaultsToTodayInParis) {
  // 22:30 UTC on 31 March is 00:30 on 1 April in Paris (UTC+2).
  env->clock.set(at("2026-03-31T22:30:00Z"));
  auto today = stats(viewer(ADMIN), Entity::ZR7, "", "");
  EXPECT_EQ(today.getReport().getFrom(), "2026-04-01");
  EXPECT_EQ(today.getReport().getTo(), "2026-04-01");
  ASSERT_EQ(today.getReport().getEntities()[0].getDays().size(), 1u);
  EXPECT_EQ(today.getReport().getEntities()[0].getDays()[0].getStockLb(), -1);  // no run
}

}  // namespace
}  // namespace rdz
