// The audit (SPEC §7.5) on a real store: clean after the real operations (ingestion, two runs,
// a fallback, sends, rejections with a week credit and a replacement, erasures of both kinds),
// and each class of violation, written by tests/support/corrupt-store.h, found with its
// invariant's name and the key of the record at fault.
#include "daemon/service/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <kj/debug.h>

#include <algorithm>
#include <atomic>

#include "daemon/domain/calendar.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/validation.h"
#include "daemon/service/after-delivery.h"
#include "daemon/service/operations.h"
#include "daemon/service/run.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"
#include "tests/support/corrupt-store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

std::string describe(const AuditReport& report) {
  std::string out = fmt::format("{} violation(s)\n", report.violationsTotal);
  for (auto& v : report.violations) out += v.invariant + "  " + v.key + "  " + v.detail + "\n";
  return out;
}

bool has(const AuditReport& report, std::string_view invariant, const std::string& key) {
  return std::any_of(report.violations.begin(), report.violations.end(),
                     [&](auto& v) { return v.invariant == invariant && v.key == key; });
}

Submission lead(const std::string& phone, const std::string& produit = "PV") {
  return {{"produit", produit}, {"nom", "Martin"},        {"prenom", "Élodie"},
          {"telephone", phone}, {"code_postal", "33000"}, {"consentement", "oui"}};
}

class AuditTest : public testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  IdGenerator ids;
  OppositionKey opposition{std::string(64, 'a')};
  const Timestamp T1 = *referenceTime("2026-11-23", "09:30");  // Monday, week 48
  const Timestamp T2 = *referenceTime("2026-12-01", "09:30");  // Tuesday, week 49

  std::vector<std::string> zr7;  // ZR7 leads, in reception order
  std::string spare;             // a new ZR7 lead, never delivered
  std::string c1, c2, c3;        // commandes: solaire (ZR7), soleil (ZR7), thermo (MDL, fallback)

  void write(kj::Function<void(Txn&)> job) {
    auto txn = store->begin();
    job(*txn);
    store->commit(*txn, false);  // no fsync: nothing here is about durability
  }

  std::string ingest(Entity e, const std::string& phone, Timestamp at) {
    std::string id;
    write([&](Txn& t) {
      id = ingestLead(t, ids, {e, lead(phone), "", at, false, "test", "", &opposition}).id;
    });
    return id;
  }

  std::string commande(Txn& t, const std::string& client, uint32_t quota, uint8_t priorite,
                       bool fallback) {
    Commande c;
    c.client = client;
    c.produit = "PV";
    c.quotaSemaine = quota;
    c.priorite = priorite;
    c.lbMaxPct = 100;
    c.fallback = fallback;
    c.departements = {"*"};
    c.jours = {"lun", "mar", "mer", "jeu", "ven", "sam", "dim"};
    return addCommande(t, c, T1 - 48h);
  }

  RunOutcome run(const std::string& date, Timestamp now) {
    RunOutcome outcome;
    RunParams params = runParams(RunSettings{}, date, std::nullopt, std::nullopt, now);
    write([&](Txn& t) { outcome = executeRun(t, ids, params, now, &opposition); });
    return outcome;
  }

  void markSent(const std::vector<Batch>& batches, Timestamp at) {
    write([&](Txn& t) {
      for (const Batch& b : batches) {
        Batch sent = b;
        sent.status = BatchStatus::SENT;
        sent.attempts += 1;
        sent.sentAt = at;
        sent.nextAttempt.reset();
        putBatch(t, sent, &b);
      }
    });
  }

  void erase(const std::string& phone, std::vector<Entity> entities, Timestamp now) {
    std::string e164 = *normalizePhone(phone);
    write([&](Txn& t) { eraseLeads(t, entities, e164, opposition.hash(e164), now); });
  }

  std::vector<Delivery> deliveriesOf(const std::string& leadId) {
    std::vector<Delivery> out;
    for (Entity e : ALL_ENTITIES) {
      for (auto& d : deliveriesOfLead(*store, e, leadId)) out.push_back(d);
    }
    return out;
  }
  Delivery onlyDelivery(const std::string& leadId) {
    auto all = deliveriesOf(leadId);
    KJ_REQUIRE(all.size() == 1, leadId, all.size());
    return all[0];
  }
  Lead leadRecord(Entity e, const std::string& id) {
    KJ_IF_MAYBE (l, getLead(*store, e, id)) {
      return *l;
    }
    KJ_FAIL_REQUIRE("no lead", id);
  }

  AuditReport audit(std::vector<Entity> entities = {Entity::ZR7, Entity::MDL}) {
    std::atomic<bool> cancelled{false};
    AuditOptions options;
    options.entities = kj::mv(entities);
    options.opposition = &opposition;
    auto snapshot = store->snapshot();
    return auditStore(*snapshot, options, cancelled);
  }

  // The store after the operations of SPEC §5 and §7.1–7.2, all through their real code.
  void SetUp() override {
    write([&](Txn& t) {
      for (auto [id, entity] :
           {std::pair{"solaire", Entity::ZR7}, {"soleil", Entity::ZR7}, {"thermo", Entity::MDL}}) {
        Client c;
        c.id = id;
        c.entity = entity;
        c.nom = id;
        c.emails = {std::string("leads@") + id + ".example"};
        addClient(t, c, T1 - 48h);
      }
      c1 = commande(t, "solaire", 3, 5, false);
      c2 = commande(t, "soleil", 2, 6, false);
      c3 = commande(t, "thermo", 2, 5, true);
    });
    for (int i = 0; i < 8; ++i) {
      zr7.push_back(ingest(Entity::ZR7, fmt::format("06100000{:02}", i), T1 - 24h + i * 1min));
    }
    ingest(Entity::MDL, "0620000000", T1 - 24h);
    ingest(Entity::ZR7, "123", T1 - 24h);  // invalid

    // Run 1: solaire and soleil fill up, thermo takes its own lead and one ZR7 leftover.
    RunOutcome first = run("2026-11-23", T1);
    ASSERT_FALSE(first.batches.empty());
    markSent(first.batches, T1 + 1min);
    // A rejection in the same week (the week counter goes down), one in the next week (a
    // replacement owed, served by run 2).
    write([&](Txn& t) { rejectLead(t, std::nullopt, zr7[0], "injoignable", T1 + 24h, T1 + 24h); });
    write([&](Txn& t) {
      rejectLead(t, std::nullopt, zr7[1], "faux_numero", T1 + 7 * 24h - 1h, T1 + 7 * 24h - 1h);
    });
    for (int i = 8; i < 11; ++i) {
      zr7.push_back(ingest(Entity::ZR7, fmt::format("06100000{:02}", i), T2 - 24h + i * 1min));
    }
    // Run 2: aging to LB, fresh and LB deliveries, the replacement; its batches stay unsent.
    RunOutcome second = run("2026-12-01", T2);
    ASSERT_FALSE(second.batches.empty());
    spare = ingest(Entity::ZR7, "0610000099", T2 + 1h);

    // Erasures: a lead of an unsent batch (dropped, credited), a lead of a sent one, and a ZR7
    // lead given to MDL by fallback erased in MDL only (MDL's duplicate entries of the number go,
    // the ZR7 lead stays whole).
    std::string unsent;
    for (int i = 8; i < 11 && unsent.empty(); ++i) {
      if (!deliveriesOf(zr7[i]).empty()) unsent = zr7[i];
    }
    ASSERT_FALSE(unsent.empty());
    erase(leadRecord(Entity::ZR7, unsent).telephone, {Entity::ZR7, Entity::MDL}, T2 + 2h);
    erasedSent = zr7[3];
    ASSERT_EQ(deliveriesOf(erasedSent).size(), 1u);
    erase(leadRecord(Entity::ZR7, erasedSent).telephone, {Entity::ZR7, Entity::MDL}, T2 + 2h);
    for (auto& id : zr7) {
      auto ds = deliveriesOf(id);
      if (ds.size() == 1 && ds[0].entity == Entity::MDL) fallbackLead = id;
    }
    ASSERT_FALSE(fallbackLead.empty());
    erase(leadRecord(Entity::ZR7, fallbackLead).telephone, {Entity::MDL}, T2 + 3h);
    pendingBatch = second.batches[0];
  }

  std::string erasedSent;    // erased; its delivery went out in a sent batch
  std::string fallbackLead;  // ZR7 lead delivered to MDL's thermo, erased in MDL only
  Batch pendingBatch;        // of run 2, in the outbox
};

size_t countOutsideStats(const AuditReport& report) {
  return std::count_if(report.violations.begin(), report.violations.end(),
                       [](auto& v) { return v.invariant != invariant::STATS_COUNTER; });
}
bool hasInvariant(const AuditReport& report, std::string_view name) {
  return std::any_of(report.violations.begin(), report.violations.end(),
                     [&](auto& v) { return v.invariant == name; });
}

TEST_F(AuditTest, TheRealOperationsLeaveNoViolation) {
  AuditReport report = audit();
  EXPECT_TRUE(report.ok()) << describe(report);
  EXPECT_EQ(report.checked.leads, 14u);  // 12 ZR7 (one invalid) + spare, 1 MDL
  EXPECT_GT(report.checked.deliveries, 8u);
  EXPECT_GT(report.checked.batches, 3u);
  EXPECT_GT(report.checked.quotaCounters, 6u);
  EXPECT_GE(report.checked.indexEntries, 2 * report.checked.leads - 4);  // erased: no phone entry
  // The scenario did what it says: a replacement was owed and served, a delivery was dropped
  // from an unsent batch, a fallback delivery crossed.
  EXPECT_EQ(replacementsOwed(*store, Entity::ZR7, c1), 0u);
  EXPECT_EQ(weekCount(*store, Entity::ZR7, c1, "2026-W49").replacements, 1u);
  for (Entity e : {Entity::ZR7, Entity::MDL}) {
    AuditReport one = audit({e});
    EXPECT_TRUE(one.ok()) << entityName(e) << "\n" << describe(one);
  }
}

TEST_F(AuditTest, AStatusEntryMissing) {
  std::string key = test::dropStatusEntry(*store, Entity::ZR7, spare);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::INDEX_MISSING, auditKey(Entity::ZR7, "index", key)))
      << describe(report);
}

TEST_F(AuditTest, AnIndexEntryOfNoLead) {
  std::string key = test::addOrphanStatusEntry(*store, Entity::ZR7, encodeId(42), T1);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::INDEX_ORPHAN, auditKey(Entity::ZR7, "index", key)))
      << describe(report);
}

TEST_F(AuditTest, AnIndexEntryNotOfTheLeadsStatut) {
  std::string key = test::addExtraStatusEntry(*store, Entity::ZR7, spare, Statut::LB);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::INDEX_EXTRA, auditKey(Entity::ZR7, "index", key)))
      << describe(report);
  // The key is printable: the statut and time bytes are hex-escaped.
  EXPECT_NE(auditKey(Entity::ZR7, "index", key).find("\\x02"), std::string::npos);
}

TEST_F(AuditTest, APoolEntryNotHoldingItsLeadsFields) {
  std::string key = test::staleDepartementInPoolEntry(*store, Entity::ZR7, spare);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::INDEX_VALUE, auditKey(Entity::ZR7, "index", key)))
      << describe(report);
}

TEST_F(AuditTest, ADeliveryCountThatIsNotTheDeliveries) {
  test::setNbLivraisons(*store, Entity::ZR7, zr7[2], 5);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::LEAD_NB_LIVRAISONS, auditKey(Entity::ZR7, "leads", zr7[2])));
}

TEST_F(AuditTest, ALastDeliveryTimeThatIsNotTheLatestDelivery) {
  test::setDerniereLivraison(*store, Entity::ZR7, zr7[2], T1 - 24h);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(
      has(report, invariant::LEAD_DERNIERE_LIVRAISON, auditKey(Entity::ZR7, "leads", zr7[2])));
}

TEST_F(AuditTest, ADeliveredLeadWithoutDelivery) {
  test::setStatut(*store, Entity::ZR7, spare, Statut::DELIVERED);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::LEAD_STATUT, auditKey(Entity::ZR7, "leads", spare)));
}

TEST_F(AuditTest, AnErasedLeadHoldingAPersonalField) {
  test::restorePersonalField(*store, Entity::ZR7, erasedSent);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::LEAD_EFFACE, auditKey(Entity::ZR7, "leads", erasedSent)));
  EXPECT_NE(report.violations[0].detail.find("nom"), std::string::npos);
  EXPECT_EQ(report.violations[0].detail.find("Durand"), std::string::npos);  // no value shown
}

TEST_F(AuditTest, ARecordThatCannotBeRead) {
  test::overwriteWithGarbage(*store, Entity::ZR7, Family::LEADS, spare);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::RECORD_DECODE, auditKey(Entity::ZR7, "leads", spare)));
}

TEST_F(AuditTest, ADeliveryWhoseLeadIsGone) {
  Delivery d = onlyDelivery(zr7[2]);
  test::deleteLeadKeepingDeliveries(*store, Entity::ZR7, zr7[2]);
  AuditReport report = audit();
  // The stats counters never saw what was written behind the records' back: stats.counter too.
  EXPECT_EQ(countOutsideStats(report), 1u) << describe(report);
  EXPECT_TRUE(hasInvariant(report, invariant::STATS_COUNTER)) << describe(report);
  EXPECT_TRUE(has(report, invariant::DELIVERY_LEAD,
                  auditKey(d.entity, "deliveries", keys::deliveryKey(d.id))));
}

TEST_F(AuditTest, ADeliveryWithoutItsLeadToDeliveryEntry) {
  Delivery d = onlyDelivery(zr7[2]);
  std::string key = test::dropLeadToDeliveryEntry(*store, d.entity, d.id);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::DELIVERY_INDEX, auditKey(d.entity, "deliveries", key)));
}

TEST_F(AuditTest, ADeliveryItsBatchDoesNotList) {
  Delivery d = onlyDelivery(zr7[2]);
  test::unlistFromBatch(*store, d.entity, d.id);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::DELIVERY_BATCH,
                  auditKey(d.entity, "deliveries", keys::deliveryKey(d.id))));
}

TEST_F(AuditTest, ABatchListingADeliveryThatDoesNotExist) {
  test::listMissingDelivery(*store, pendingBatch.entity, pendingBatch.id, encodeId(7));
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::BATCH_DELIVERY,
                  auditKey(pendingBatch.entity, "batches", keys::batchKey(pendingBatch.id))));
}

TEST_F(AuditTest, ADeliveryWithoutItsDuplicateIndexEntry) {
  Delivery d = onlyDelivery(zr7[2]);
  test::dropDedupEntry(*store, d.entity, d.id);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::DELIVERY_DEDUP,
                  auditKey(d.entity, "deliveries", keys::deliveryKey(d.id))));
}

TEST_F(AuditTest, OnePersonTwiceToOneClientWithin30Days) {
  // The same person, submitted again two days later (a new lead), given to the same client.
  Delivery first = onlyDelivery(zr7[2]);
  std::string again = ingest(Entity::ZR7, leadRecord(Entity::ZR7, zr7[2]).telephone, T1 + 48h);
  Delivery d = first;
  d.id = ids.next(T1 + 48h);
  d.lead = again;
  d.run = "2026-11-25";
  d.at = *referenceTime("2026-11-25", "09:30");
  test::addDelivery(*store, d);
  AuditReport report = audit();
  // The stats counters never saw what was written behind the records' back: stats.counter too.
  EXPECT_EQ(countOutsideStats(report), 1u) << describe(report);
  EXPECT_TRUE(hasInvariant(report, invariant::STATS_COUNTER)) << describe(report);
  EXPECT_TRUE(has(report, invariant::CLIENT_DOUBLON,
                  auditKey(d.entity, "deliveries", keys::deliveryKey(d.id))));
}

TEST_F(AuditTest, OneLeadTwiceInOneRun) {
  Delivery first = onlyDelivery(zr7[2]);
  Delivery d = first;
  d.id = ids.next(T1);
  d.client = first.client == "solaire" ? "soleil" : "solaire";
  d.commande = first.client == "solaire" ? c2 : c1;
  for (const Batch& b : listBatches(*store, Entity::ZR7)) {
    if (b.client == d.client && b.run == first.run) d.batch = b.id;
  }
  test::addDelivery(*store, d);
  AuditReport report = audit();
  // The stats counters never saw what was written behind the records' back: stats.counter too.
  EXPECT_EQ(countOutsideStats(report), 1u) << describe(report);
  EXPECT_TRUE(hasInvariant(report, invariant::STATS_COUNTER)) << describe(report);
  EXPECT_TRUE(has(report, invariant::LEAD_RUN_TWICE, auditKey(Entity::ZR7, "leads", zr7[2])));
}

TEST_F(AuditTest, QuotaCountersThatAreNotTheDeliveries) {
  test::bumpWeekCounter(*store, Entity::ZR7, c1, "2026-W48", 1);
  test::bumpDayCount(*store, Entity::ZR7, c2, "2026-11-23", -1);
  test::bumpReplacementsOwed(*store, Entity::ZR7, c1, 1);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 3u) << describe(report);
  EXPECT_TRUE(has(report, invariant::QUOTA_WEEK,
                  auditKey(Entity::ZR7, "quotas", keys::weekKey(c1, "2026-W48"))));
  EXPECT_TRUE(has(report, invariant::QUOTA_DAY,
                  auditKey(Entity::ZR7, "quotas", keys::dayKey(c2, "2026-11-23"))));
  EXPECT_TRUE(has(report, invariant::QUOTA_REPLACEMENTS,
                  auditKey(Entity::ZR7, "quotas", keys::owedKey(c1))));
  EXPECT_EQ(auditKey(Entity::ZR7, "quotas", keys::owedKey(c1)), "zr7.quotas/" + c1 + "\\x00R");
}

TEST_F(AuditTest, AStatsCounterThatIsNotTheRecount) {
  auto stored = storedStats(*store);
  auto row = std::find_if(stored.begin(), stored.end(),
                          [](auto& r) { return r.first.first == Entity::ZR7 && r.second.recus > 0; });
  ASSERT_NE(row, stored.end());
  test::bumpStatsRecus(*store, Entity::ZR7, row->first.second);
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1u) << describe(report);
  ASSERT_EQ(report.violations.size(), 1u);
  EXPECT_EQ(report.violations[0].invariant, invariant::STATS_COUNTER);
  EXPECT_EQ(report.violations[0].key.rfind("zr7.stats/", 0), 0u) << report.violations[0].key;
  EXPECT_NE(report.violations[0].detail.find("recus"), std::string::npos)
      << report.violations[0].detail;
  EXPECT_TRUE(audit({Entity::MDL}).ok());  // not reported to the other entity
}

TEST_F(AuditTest, APendingBatchOutOfTheOutboxQueue) {
  test::dropOutboxEntry(*store, pendingBatch.entity, pendingBatch.id);
  AuditReport report = audit();
  EXPECT_GE(report.violationsTotal, 1u) << describe(report);
  EXPECT_TRUE(has(report, invariant::BATCH_OUTBOX,
                  auditKey(pendingBatch.entity, "batches", keys::batchKey(pendingBatch.id))))
      << describe(report);
}

TEST_F(AuditTest, AnEntityBoundAuditSeesOnlyItsEntity) {
  Delivery d = onlyDelivery(fallbackLead);  // ZR7 lead, MDL delivery
  ASSERT_EQ(d.entity, Entity::MDL);
  test::dropLeadToDeliveryEntry(*store, Entity::MDL, d.id);
  EXPECT_TRUE(audit({Entity::ZR7}).ok()) << describe(audit({Entity::ZR7}));
  AuditReport mdl = audit({Entity::MDL});
  EXPECT_EQ(mdl.violationsTotal, 1u) << describe(mdl);
  EXPECT_EQ(mdl.violations.at(0).invariant, invariant::DELIVERY_INDEX);
  // The ZR7 audit counts its lead's MDL delivery (nb_livraisons) without reporting on it; a
  // wrong count is seen by ZR7's audit only.
  test::setNbLivraisons(*store, Entity::ZR7, fallbackLead, 0);
  EXPECT_TRUE(has(audit({Entity::ZR7}), invariant::LEAD_NB_LIVRAISONS,
                  auditKey(Entity::ZR7, "leads", fallbackLead)));
  EXPECT_FALSE(has(audit({Entity::MDL}), invariant::LEAD_NB_LIVRAISONS,
                   auditKey(Entity::ZR7, "leads", fallbackLead)));
}

TEST_F(AuditTest, TheReportKeepsTheFirstThousandAndCountsThemAll) {
  write([&](Txn& t) {
    for (uint64_t i = 1; i <= 1500; ++i) {
      t.put(Entity::MDL, Family::INDEX, keys::statusKey(Statut::NEW, T1, encodeId(i)), "");
    }
  });
  AuditReport report = audit();
  EXPECT_EQ(report.violationsTotal, 1500u);
  EXPECT_EQ(report.violations.size(), MAX_AUDIT_VIOLATIONS);
  EXPECT_FALSE(report.ok());
}

TEST_F(AuditTest, ACancelledAuditStops) {
  write([&](Txn& t) {
    for (uint64_t i = 1; i <= 3000; ++i) {
      t.put(Entity::ZR7, Family::INDEX, keys::statusKey(Statut::NEW, T1, encodeId(i)), "");
    }
  });
  std::atomic<bool> cancelled{true};
  auto snapshot = store->snapshot();
  EXPECT_THROW(auditStore(*snapshot, AuditOptions{}, cancelled), kj::Exception);
}

TEST_F(AuditTest, TheSnapshotIsOneStateWhileWritesGoOn) {
  auto snapshot = store->snapshot();
  test::setNbLivraisons(*store, Entity::ZR7, zr7[2], 9);
  std::atomic<bool> cancelled{false};
  AuditOptions options;
  options.opposition = &opposition;
  AuditReport before = auditStore(*snapshot, options, cancelled);
  EXPECT_TRUE(before.ok()) << describe(before);
  snapshot = nullptr;
  EXPECT_FALSE(audit().ok());
}

TEST(AuditRulesTest, KeysArePrintable) {
  EXPECT_EQ(printableKey(std::string("C1\0W2026-W48", 12)), "C1\\x00W2026-W48");
  EXPECT_EQ(printableKey("a\\b\xff"), "a\\x5cb\\xff");
  EXPECT_EQ(auditKey(Entity::MDL, "leads", "01ABC"), "mdl.leads/01ABC");
}

TEST(AuditRulesTest, FingerprintsTellSetsApart) {
  KeySetFingerprint a, b;
  for (auto k : {"S1", "S2", "P3"}) a.add(k);
  for (auto k : {"P3", "S1", "S2"}) b.add(k);
  EXPECT_EQ(a, b);  // order does not matter
  b.add("S4");
  EXPECT_NE(a, b);
  KeySetFingerprint c;
  for (auto k : {"S1", "S2", "P4"}) c.add(k);
  EXPECT_NE(a, c);  // same count, one key differs
}

TEST(AuditRulesTest, WhatCountsInTheQuota) {
  Delivery d;
  d.run = "2026-11-23";
  EXPECT_TRUE(countsInQuota(d));
  d.rejet = "injoignable";
  d.rejeteLe = *referenceTime("2026-11-24", "10:00");  // same week: the counter went down
  EXPECT_FALSE(countsInQuota(d));
  EXPECT_FALSE(creditedAsReplacement(d));
  d.rejeteLe = *referenceTime("2026-11-30", "08:00");  // next week: a replacement owed
  EXPECT_TRUE(countsInQuota(d));
  EXPECT_TRUE(creditedAsReplacement(d));
  EXPECT_EQ(statutAgainstDeliveries(Statut::NEW, 1, false).has_value(), true);
  EXPECT_EQ(statutAgainstDeliveries(Statut::REJECTED, 1, false).has_value(), true);
  EXPECT_EQ(statutAgainstDeliveries(Statut::REJECTED, 1, true).has_value(), false);
  EXPECT_EQ(statutAgainstDeliveries(Statut::LB, 0, false).has_value(), false);
}

}  // namespace
}  // namespace rdz
