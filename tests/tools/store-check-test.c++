// rdz-bench check (tools/store-check.h): a consistent store passes, and each broken promise it
// is there to catch is reported — a checker that cannot fail checks nothing.
#include "tools/store-check.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/domain/ids.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

Timestamp at(int64_t seconds) { return Timestamp(std::chrono::seconds(seconds)); }
std::string idAt(int64_t seconds) { return encodeId(static_cast<uint64_t>(seconds) * 1000000); }
constexpr int64_t DAY = 86400;

Lead lead(std::string id, std::string phone, Timestamp recu) {
  Lead l;
  l.id = kj::mv(id);
  l.entity = Entity::ZR7;
  l.produit = "PV";
  l.nom = "Durand";
  l.prenom = "Zoé";
  l.telephone = phone;
  l.telephoneE164 = kj::mv(phone);
  l.codePostal = "33000";
  l.departement = "33";
  l.consentement = true;
  l.recuLe = recu;
  return l;
}

class StoreCheckTest : public testing::Test {
 protected:
  void SetUp() override { store_ = Store::open(tmp_ / "db"); }

  // Delivers `l` to client "solaire" in run `run` at `when`, the way a run commits it.
  void deliver(Txn& txn, Lead l, std::string deliveryId, std::string batchId, std::string run,
               Timestamp when, bool dedup = true) {
    Lead before = l;
    l.statut = Statut::DELIVERED;
    putLead(txn, l, &before);
    Delivery d;
    d.id = deliveryId;
    d.lead = l.id;
    d.commande = "C000001";
    d.client = "solaire";
    d.run = run;
    d.at = when;
    d.batch = batchId;
    putDelivery(txn, d);
    Batch b;
    KJ_IF_MAYBE(existing, getBatch(txn, Entity::ZR7, batchId)) { b = *existing; }
    b.id = batchId;
    b.client = "solaire";
    b.run = run;
    b.deliveries.push_back(deliveryId);
    putBatch(txn, b, nullptr);
    if (dedup) putLastDelivery(txn, Entity::ZR7, l.telephoneE164, l.produit, "solaire", when);
  }

  std::vector<std::string> violations() { return checkStore(*store_).violations; }
  static bool mentions(const std::vector<std::string>& v, std::string_view what) {
    return std::any_of(v.begin(), v.end(),
                       [&](auto& line) { return line.find(what) != std::string::npos; });
  }

  test::TempDir tmp_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreCheckTest, AConsistentStorePasses) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  Lead b = lead(idAt(2), "+33698765432", at(2));
  putLead(*txn, a, nullptr);
  putLead(*txn, b, nullptr);
  deliver(*txn, a, idAt(10), idAt(11), "2026-01-05", at(DAY));
  store_->commit(*txn);
  auto report = checkStore(*store_);
  EXPECT_TRUE(report.violations.empty()) << report.violations.front();
  EXPECT_EQ(report.leads, 2u);
  EXPECT_EQ(report.deliveries, 1u);
}

TEST_F(StoreCheckTest, ADeliveryWithoutItsDedupEntryIsReported) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  putLead(*txn, a, nullptr);
  deliver(*txn, a, idAt(10), idAt(11), "2026-01-05", at(DAY), /*dedup=*/false);
  store_->commit(*txn);
  EXPECT_TRUE(mentions(violations(), "no duplicate-index entry"));
}

TEST_F(StoreCheckTest, AnOlderDedupEntryIsReported) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  putLead(*txn, a, nullptr);
  deliver(*txn, a, idAt(10), idAt(11), "2026-01-05", at(DAY));
  putLastDelivery(*txn, Entity::ZR7, a.telephoneE164, "PV", "solaire", at(DAY - 1));
  store_->commit(*txn);
  EXPECT_TRUE(mentions(violations(), "older than the delivery"));
}

TEST_F(StoreCheckTest, ALeadInTwoPoolsIsReported) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  putLead(*txn, a, nullptr);
  txn->put(Entity::ZR7, Family::INDEX, keys::statusKey(Statut::LB, a.recuLe, a.id), "");
  store_->commit(*txn);
  auto v = violations();
  EXPECT_TRUE(mentions(v, "sits in the lb pool"));
  EXPECT_TRUE(mentions(v, "2 status index entries"));
}

TEST_F(StoreCheckTest, ALeadDeliveredTwiceInOneRunIsReported) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  putLead(*txn, a, nullptr);
  deliver(*txn, a, idAt(10), idAt(11), "2026-01-05", at(DAY));
  KJ_IF_MAYBE(stored, getLead(*txn, Entity::ZR7, a.id)) { a = *stored; }
  deliver(*txn, a, idAt(12), idAt(11), "2026-01-05", at(DAY));
  store_->commit(*txn);
  auto v = violations();
  EXPECT_TRUE(mentions(v, "delivered twice in run 2026-01-05"));
  EXPECT_TRUE(mentions(v, "twice within 30 days"));
}

TEST_F(StoreCheckTest, OnePersonToOneClientWithin30DaysIsReportedAfterItIsNot) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  Lead b = lead(idAt(2), "+33612345678", at(2));  // the same person, submitted again
  putLead(*txn, a, nullptr);
  putLead(*txn, b, nullptr);
  deliver(*txn, a, idAt(10), idAt(11), "2026-01-05", at(DAY));
  deliver(*txn, b, idAt(12), idAt(13), "2026-02-04", at(31 * DAY));  // 30 days later: allowed
  store_->commit(*txn);
  EXPECT_TRUE(violations().empty());

  auto again = store_->begin();
  Lead c = lead(idAt(3), "+33612345678", at(3));
  putLead(*again, c, nullptr);
  deliver(*again, c, idAt(14), idAt(15), "2026-02-10", at(37 * DAY));  // 6 days after b
  store_->commit(*again);
  EXPECT_TRUE(mentions(violations(), "twice within 30 days"));
}

TEST_F(StoreCheckTest, ADeliveredLeadBackToNewIsReported) {
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  putLead(*txn, a, nullptr);
  deliver(*txn, a, idAt(10), idAt(11), "2026-01-05", at(DAY));
  KJ_IF_MAYBE(stored, getLead(*txn, Entity::ZR7, a.id)) {
    Lead back = *stored;
    back.statut = Statut::NEW;
    putLead(*txn, back, &*stored);
  }
  store_->commit(*txn);
  EXPECT_TRUE(mentions(violations(), "its lead is new"));
}

TEST_F(StoreCheckTest, StatsCountersThatDifferFromARecountAreReported) {
  ASSERT_TRUE(ensureStatsBuilt(*store_));  // as rdzd's first start does
  auto txn = store_->begin();
  Lead a = lead(idAt(1), "+33612345678", at(1));
  putLead(*txn, a, nullptr);
  applyStats(*txn, statsOfReception(a));
  store_->commit(*txn);
  EXPECT_TRUE(violations().empty()) << violations().front();

  txn = store_->begin();
  applyStats(*txn, statsOfReception(a));  // counted twice
  store_->commit(*txn);
  EXPECT_TRUE(mentions(violations(), "stats counters of ZR7 1970-01-01 differ from a recount: "
                                     "recus: stored 2, recounted 1"));
}

}  // namespace
}  // namespace rdz
