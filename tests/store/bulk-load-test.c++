// The bulk loader of the benchmarks (daemon/store/bulk-load.h): what the record functions write
// through it is, key for key, what they write through an ordinary transaction — whatever the
// order of the writes, across many small files, with keys written twice.
#include "daemon/store/bulk-load.h"

#include <gtest/gtest.h>
#include <kj/debug.h>

#include <map>

#include "daemon/domain/history.h"
#include "daemon/domain/ids.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

Timestamp at(int64_t seconds) { return Timestamp(std::chrono::seconds(seconds)); }

// Every key and value of the store, by family. A history key ends with a process-wide sequence
// number (records.c++): it is left out, the rest of the key and the value are kept.
std::map<std::string, std::string> everything(Store& store) {
  std::map<std::string, std::string> out;
  for (Entity e : ALL_ENTITIES) {
    for (size_t f = 0; f < FAMILY_COUNT; ++f) {
      auto family = static_cast<Family>(f);
      store.scan(e, family, "", [&](std::string_view key, std::string_view value) {
        std::string k(key);
        if (family == Family::HISTORY) k.resize(k.size() - 4);
        out[std::string(entitySlug(e)) + "." + std::string(familyName(family)) + " " + k] =
            std::string(value);
        return true;
      });
    }
  }
  store.scanSystem("", [&](std::string_view key, std::string_view value) {
    out["system " + std::string(key)] = std::string(value);
    return true;
  });
  return out;
}

// 3000 leads, half of them delivered, written through `txn`: phones in no particular order (the
// phone index and the duplicate index are written out of key order), and every tenth lead written
// twice with different values (a key written twice: the last write counts).
void writeRecords(Txn& txn) {
  IdGenerator ids;
  for (int i = 0; i < 3000; ++i) {
    Lead l;
    l.recuLe = at(1000000 + i * 60);
    l.id = ids.next(l.recuLe);
    l.entity = i % 3 ? Entity::ZR7 : Entity::MDL;
    l.produit = i % 2 ? "PV" : "PAC";
    l.nom = "Durand";
    l.prenom = "Zoé";
    uint64_t phone = (static_cast<uint64_t>(i) * 48271 + 7) % 100000000;
    l.telephone = "07" + std::to_string(10000000 + phone % 90000000);
    l.telephoneE164 = "+337" + std::to_string(10000000 + phone % 90000000);
    l.codePostal = "33000";
    l.departement = "33";
    l.consentement = true;
    addHistory(txn, l.entity, l.id, history::received(l.recuLe, "ingest"));
    if (i % 10 == 5) {  // a first version, rewritten below: the same keys, another value
      Lead first = l;
      first.nom = "Ancien";
      putLead(txn, first, nullptr);
    }
    if (i % 2 == 0) {
      Delivery d;
      d.id = ids.next(l.recuLe + 24h);
      d.leadEntity = l.entity;
      d.entity = l.entity;
      d.lead = l.id;
      d.commande = "C000001";
      d.client = "acme";
      d.run = "2026-01-01";
      d.at = l.recuLe + 24h;
      d.batch = "B1";
      putDelivery(txn, d);
      putLastDelivery(txn, l.entity, l.telephoneE164, l.produit, d.client, d.at);
      addHistory(txn, l.entity, l.id, history::delivered(d.at, d));
      l.statut = Statut::DELIVERED;
      l.nbLivraisons = 1;
      l.derniereLivraison = d.at;
    }
    putLead(txn, l, nullptr);
  }
  RunRecord run;
  run.id = "2026-01-01";
  run.date = run.id;
  run.status = "committed";
  putRun(txn, run);
}

TEST(BulkLoadTest, WritesWhatATransactionWrites) {
  test::TempDir dir;
  {
    auto store = Store::open(dir / "txn");
    auto txn = store->begin();
    writeRecords(*txn);
    store->commit(*txn);
  }
  Store::open(dir / "bulk");  // the database the load goes into, closed at once
  BulkLoadFigures figures;
  {
    BulkLoad bulk(dir / "bulk", 4096);  // many small files per stream
    writeRecords(bulk.txn());
    figures = bulk.finish();
  }
  EXPECT_GT(figures.files, 20u);
  EXPECT_GT(figures.mergedFamilies, 0u);  // the phone and duplicate indexes came out of order
  auto fromTxn = everything(*Store::open(dir / "txn"));
  auto fromBulk = everything(*Store::open(dir / "bulk"));
  EXPECT_GT(fromTxn.size(), 9000u);
  EXPECT_TRUE(fromTxn == fromBulk) << fromTxn.size() << " keys through a transaction, "
                                   << fromBulk.size() << " through the bulk load";

  // And the record functions read it back as usual.
  auto store = Store::open(dir / "bulk");
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::DELIVERED).size() +
                leadIdsByStatus(*store, Entity::MDL, Statut::DELIVERED).size(),
            1500u);
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::NEW).size() +
                leadIdsByStatus(*store, Entity::MDL, Statut::NEW).size(),
            1500u);
}

TEST(BulkLoadTest, RefusesReadsAndDeletesAndLeavesTheDatabaseUntouchedWithoutFinish) {
  test::TempDir dir;
  Store::open(dir / "db");
  {
    BulkLoad bulk(dir / "db");
    Txn& txn = bulk.txn();
    EXPECT_ANY_THROW(getLead(txn, Entity::ZR7, "X"));
    EXPECT_ANY_THROW(txn.del(Entity::ZR7, Family::LEADS, "X"));
    RunRecord run;
    run.id = "2026-01-01";
    putRun(txn, run);
  }  // no finish()
  auto store = Store::open(dir / "db");
  EXPECT_TRUE(getRun(*store, "2026-01-01") == nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir / "db.bulk-load.tmp"));
}

}  // namespace
}  // namespace rdz
