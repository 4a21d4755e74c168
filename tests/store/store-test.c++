// The store: atomic transactions, reads through a pending transaction, save points, ordered
// indexes, and durability across a reopen.
#include "daemon/store/store.h"

#include <capnp/any.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <kj/debug.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "daemon/domain/history.h"
#include "daemon/domain/ids.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/lead-state.h"
#include "daemon/store/records.h"
#include "tests/support/files.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

Timestamp at(int64_t seconds) { return Timestamp(std::chrono::seconds(seconds)); }

Lead lead(std::string id, Entity e, std::string phone, std::string produit, Timestamp recu,
          Statut statut = Statut::NEW) {
  Lead l;
  l.id = kj::mv(id);
  l.entity = e;
  l.produit = kj::mv(produit);
  l.nom = "Durand";
  l.prenom = "Zoé";
  l.telephone = phone;
  l.telephoneE164 = kj::mv(phone);
  l.codePostal = "33000";
  l.departement = "33";
  l.consentement = true;
  l.recuLe = recu;
  l.statut = statut;
  return l;
}

std::string idAt(int64_t seconds) { return encodeId(static_cast<uint64_t>(seconds) * 1000000); }

class StoreTest : public testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
};

TEST_F(StoreTest, NothingIsVisibleBeforeCommitAndAllOfItAfter) {
  auto txn = store->begin();
  Lead l = lead(idAt(100), Entity::ZR7, "+33612345678", "PV", at(100));
  putLead(*txn, l, nullptr);
  addHistory(*txn, Entity::ZR7, l.id, history::received(at(100), "test"));
  // The transaction sees its own writes; the database does not yet.
  EXPECT_TRUE(getLead(*txn, Entity::ZR7, l.id) != nullptr);
  EXPECT_TRUE(getLead(*store, Entity::ZR7, l.id) == nullptr);
  EXPECT_TRUE(leadIdsByStatus(*store, Entity::ZR7, Statut::NEW).empty());
  store->commit(*txn);
  KJ_IF_MAYBE(stored, getLead(*store, Entity::ZR7, l.id)) {
    EXPECT_EQ(*stored, l);
  } else {
    FAIL() << "lead not stored";
  }
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::NEW), std::vector<std::string>{l.id});
  ASSERT_EQ(getHistory(*store, Entity::ZR7, l.id).size(), 1u);
}

TEST_F(StoreTest, EntitiesAreSeparateFamilies) {
  auto txn = store->begin();
  putLead(*txn, lead(idAt(1), Entity::ZR7, "+33612345678", "PV", at(1)), nullptr);
  store->commit(*txn);
  EXPECT_TRUE(getLead(*store, Entity::MDL, idAt(1)) == nullptr);
  EXPECT_TRUE(leadsByPhone(*store, Entity::MDL, "+33612345678").empty());
  EXPECT_EQ(leadsByPhone(*store, Entity::ZR7, "+33612345678").size(), 1u);
}

TEST_F(StoreTest, RollbackToSavePointUndoesOnlyTheLastJob) {
  auto txn = store->begin();
  txn->setSavePoint();
  putLead(*txn, lead(idAt(1), Entity::ZR7, "+33611111111", "PV", at(1)), nullptr);
  txn->popSavePoint();
  txn->setSavePoint();
  putLead(*txn, lead(idAt(2), Entity::ZR7, "+33622222222", "PV", at(2)), nullptr);
  txn->rollbackToSavePoint();
  store->commit(*txn);
  EXPECT_TRUE(getLead(*store, Entity::ZR7, idAt(1)) != nullptr);
  EXPECT_TRUE(getLead(*store, Entity::ZR7, idAt(2)) == nullptr);
  EXPECT_TRUE(leadsByPhone(*store, Entity::ZR7, "+33622222222").empty());
}

TEST_F(StoreTest, StatusChangeMovesTheLeadBetweenPools) {
  Lead l = lead(idAt(5), Entity::MDL, "+33612345678", "PAC", at(5));
  auto t1 = store->begin();
  putLead(*t1, l, nullptr);
  store->commit(*t1);
  Lead moved = l;
  moved.statut = Statut::LB;
  auto t2 = store->begin();
  putLead(*t2, moved, &l);
  store->commit(*t2);
  EXPECT_TRUE(leadIdsByStatus(*store, Entity::MDL, Statut::NEW).empty());
  EXPECT_EQ(leadIdsByStatus(*store, Entity::MDL, Statut::LB), std::vector<std::string>{l.id});
  EXPECT_EQ(leadsByPhone(*store, Entity::MDL, "+33612345678").size(), 1u);
}

TEST_F(StoreTest, PoolsAreOrderedByReceptionTimeEitherWay) {
  auto txn = store->begin();
  // Ids in creation order, reception times not: an import may bring older leads later.
  putLead(*txn, lead(idAt(10), Entity::ZR7, "+33610000001", "PV", at(300)), nullptr);
  putLead(*txn, lead(idAt(11), Entity::ZR7, "+33610000002", "PV", at(100)), nullptr);
  putLead(*txn, lead(idAt(12), Entity::ZR7, "+33610000003", "PV", at(200)), nullptr);
  putLead(*txn, lead(idAt(13), Entity::ZR7, "+33610000004", "PV", at(-50)), nullptr);  // 1969
  store->commit(*txn);
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::NEW),
            (std::vector<std::string>{idAt(13), idAt(11), idAt(12), idAt(10)}));
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::NEW, true),
            (std::vector<std::string>{idAt(10), idAt(12), idAt(11), idAt(13)}));
}

TEST_F(StoreTest, FirstSubmissionSinceHonoursTheWindowAndTheProduit) {
  auto txn = store->begin();
  putLead(*txn, lead(idAt(1), Entity::ZR7, "+33612345678", "PV", at(1000)), nullptr);
  putLead(*txn, lead(idAt(2), Entity::ZR7, "+33612345678", "PAC", at(1100)), nullptr);
  putLead(*txn, lead(idAt(3), Entity::ZR7, "+33612345678", "PV", at(1200)), nullptr);
  store->commit(*txn);
  auto first = [&](std::string produit, int64_t since, int64_t until) {
    KJ_IF_MAYBE(id, firstSubmissionSince(*store, Entity::ZR7, "+33612345678", produit, at(since),
                                         at(until))) {
      return *id;
    }
    return std::string("none");
  };
  EXPECT_EQ(first("PV", 1000, 1600), idAt(1));   // exactly at the window's start counts
  EXPECT_EQ(first("PV", 1001, 1600), idAt(3));
  EXPECT_EQ(first("PV", 1201, 1600), "none");
  EXPECT_EQ(first("PV", 0, 999), "none");       // nothing received after `until` counts
  EXPECT_EQ(first("PAC", 0, 2000), idAt(2));
  EXPECT_EQ(first("ITE", 0, 2000), "none");
}

TEST_F(StoreTest, CountersAndCatalogue) {
  auto txn = store->begin();
  EXPECT_EQ(nextCounter(*txn, "commande"), 1u);
  EXPECT_EQ(nextCounter(*txn, "commande"), 2u);  // sees its own pending write
  store->commit(*txn);
  auto txn2 = store->begin();
  EXPECT_EQ(nextCounter(*txn2, "commande"), 3u);

  auto codes = [&](Entity e) {
    std::vector<std::string> out;
    for (auto& p : listProduits(*store, e)) out.push_back(p.code);
    return out;
  };
  EXPECT_EQ(codes(Entity::ZR7), (std::vector<std::string>{"PV", "PAC", "ITE"}));
  putProduit(*txn2, {Entity::MDL, "BAT", "Batterie"});
  store->commit(*txn2);
  EXPECT_EQ(codes(Entity::MDL), (std::vector<std::string>{"PV", "PAC", "ITE", "BAT"}));
  EXPECT_EQ(codes(Entity::ZR7), (std::vector<std::string>{"PV", "PAC", "ITE"}));
}

std::vector<std::string> ids(const std::vector<PoolLead>& leads) {
  std::vector<std::string> out;
  for (auto& l : leads) out.push_back(l.id);
  return out;
}

TEST_F(StoreTest, DeliveredLeadsAreIndexedByLastDeliveryWhileDelivered) {
  auto txn = store->begin();
  Lead a = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::DELIVERED);
  a.derniereLivraison = at(500);
  Lead b = lead(idAt(2), Entity::ZR7, "+33610000002", "PV", at(2), Statut::DELIVERED);
  b.derniereLivraison = at(100);
  Lead c = lead(idAt(3), Entity::ZR7, "+33610000003", "PV", at(3), Statut::REJECTED);
  c.derniereLivraison = at(50);  // rejected: never re-enters
  for (auto* l : {&a, &b, &c}) putLead(*txn, *l, nullptr);
  store->commit(*txn);
  EXPECT_EQ(ids(deliveredLeadsUntil(*store, Entity::ZR7, at(1000))),
            (std::vector<std::string>{b.id, a.id}));  // oldest delivery first
  EXPECT_EQ(ids(deliveredLeadsUntil(*store, Entity::ZR7, at(100))), std::vector<std::string>{b.id});
  EXPECT_TRUE(ids(deliveredLeadsUntil(*store, Entity::MDL, at(1000))).empty());

  // Delivered again later, then aged to LB: the entry follows, then goes.
  Lead again = b;
  again.derniereLivraison = at(700);
  auto t2 = store->begin();
  putLead(*t2, again, &b);
  store->commit(*t2);
  EXPECT_EQ(ids(deliveredLeadsUntil(*store, Entity::ZR7, at(600))), std::vector<std::string>{a.id});
  Lead aged = again;
  aged.statut = Statut::LB;
  auto t3 = store->begin();
  putLead(*t3, aged, &again);
  store->commit(*t3);
  EXPECT_EQ(ids(deliveredLeadsUntil(*store, Entity::ZR7, at(1000))),
            std::vector<std::string>{a.id});
  EXPECT_EQ(ids(poolLeadsUntil(*store, Entity::ZR7, Statut::LB, at(1))),
            std::vector<std::string>{});
  EXPECT_EQ(ids(poolLeadsUntil(*store, Entity::ZR7, Statut::LB, at(2))),
            std::vector<std::string>{b.id});
}

TEST_F(StoreTest, TheLastDeliveryIndexOfAnOlderDatabaseIsBuiltOnce) {
  EXPECT_TRUE(ensureAgingIndexBuilt(*store));  // an empty database: built (nothing to index)
  EXPECT_FALSE(ensureAgingIndexBuilt(*store));
  // A database written before the index: the records and their older entries only.
  Lead a = lead(idAt(1), Entity::MDL, "+33610000001", "PV", at(1), Statut::DELIVERED);
  a.derniereLivraison = at(40);
  auto txn = store->begin();
  putLead(*txn, a, nullptr);
  txn->del(Entity::MDL, Family::INDEX, keys::agingKey(*a.derniereLivraison, a.id));
  txn->delSystem(keys::AGING_BUILT_KEY);
  store->commit(*txn);
  EXPECT_TRUE(ids(deliveredLeadsUntil(*store, Entity::MDL, at(100))).empty());
  EXPECT_TRUE(ensureAgingIndexBuilt(*store));
  EXPECT_EQ(ids(deliveredLeadsUntil(*store, Entity::MDL, at(100))), std::vector<std::string>{a.id});
  EXPECT_FALSE(ensureAgingIndexBuilt(*store));
}

TEST_F(StoreTest, ThePoolsAreReadFromTheirIndexEntriesAlone) {
  Lead fresh = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::NEW);
  fresh.departement = "33";
  Lead old = lead(idAt(2), Entity::ZR7, "+33610000002", "PAC", at(2), Statut::LB);
  old.departement = "2A";
  Lead delivered = lead(idAt(3), Entity::ZR7, "+33610000003", "ITE", at(3), Statut::DELIVERED);
  delivered.departement = "75";
  delivered.derniereLivraison = at(40);
  auto txn = store->begin();
  for (auto* l : {&fresh, &old, &delivered}) putLead(*txn, *l, nullptr);
  // The records gone: what the pools hold comes from the index entries.
  for (auto* l : {&fresh, &old, &delivered}) txn->del(Entity::ZR7, Family::LEADS, l->id);
  store->commit(*txn);
  EXPECT_EQ(poolLeadsUntil(*store, Entity::ZR7, Statut::NEW, at(10)),
            std::vector<PoolLead>{poolView(fresh)});
  EXPECT_EQ(poolLeadsUntil(*store, Entity::ZR7, Statut::LB, at(10)),
            std::vector<PoolLead>{poolView(old)});
  EXPECT_EQ(deliveredLeadsUntil(*store, Entity::ZR7, at(40)),
            std::vector<PoolLead>{poolView(delivered)});

  // A lead whose pool fields change (an erasure clears the phone) has its entry rewritten.
  Lead erased = fresh;
  erased.telephoneE164.clear();
  erased.departement.clear();
  auto t2 = store->begin();
  putLead(*t2, erased, &fresh);
  store->commit(*t2);
  EXPECT_EQ(poolLeadsUntil(*store, Entity::ZR7, Statut::NEW, at(10)),
            std::vector<PoolLead>{poolView(erased)});
  KJ_IF_MAYBE (value, store->get(Entity::ZR7, Family::INDEX,
                                 keys::statusKey(Statut::NEW, fresh.recuLe, fresh.id))) {
    EXPECT_EQ(value->find("610000001"), std::string::npos);
  } else {
    ADD_FAILURE() << "the status entry is gone";
  }
}

std::optional<Lead> storedLead(Reader& r, const std::string& id) {
  KJ_IF_MAYBE (l, getLead(r, Entity::ZR7, id)) {
    return *l;
  }
  return std::nullopt;
}

TEST_F(StoreTest, ARunsChangeOfALeadIsPartOfTheRecordForEveryReader) {
  Lead l = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::NEW);
  auto txn = store->begin();
  putLead(*txn, l, nullptr);
  store->commit(*txn);

  Lead expected = l;
  expected.statut = Statut::LB;
  auto aging = store->begin();
  changeLeadState(*aging, poolView(l), true, std::nullopt);
  EXPECT_EQ(storedLead(*aging, l.id),
            std::optional<Lead>(expected));  // the transaction's own change
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(l));
  store->commit(*aging);
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(expected));

  // Delivered on a snapshot's transaction, included in another: one write.
  {
    auto prepared = store->beginAtSnapshot();
    changeLeadState(*prepared, poolView(expected), false, at(50));
    auto writer = store->begin();
    writer->include(kj::mv(prepared));
    store->commit(*writer);
  }  // the snapshot released
  expected.statut = Statut::DELIVERED;
  expected.nbLivraisons = 1;
  expected.derniereLivraison = at(50);
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(expected));
  EXPECT_TRUE(poolLeadsUntil(*store, Entity::ZR7, Statut::LB, at(100)).empty());
  EXPECT_EQ(deliveredLeadsUntil(*store, Entity::ZR7, at(50)),
            std::vector<PoolLead>{poolView(expected)});
  auto scanned = [&] {
    std::vector<Lead> leads;
    store->scan(Entity::ZR7, Family::LEADS, "", [&](auto, std::string_view value) {
      leads.push_back(decodeLead(value));
      return true;
    });
    return leads;
  };
  EXPECT_EQ(scanned(), std::vector<Lead>{expected});

  // After a reopen (the changes replayed from the WAL) and a compaction that folds them in.
  store.reset();
  store = Store::open(dir / "db");
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(expected));
  store->purgeOldVersions({{Entity::ZR7, Family::LEADS, l.id, l.id}});
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(expected));
  EXPECT_EQ(scanned(), std::vector<Lead>{expected});

  // A whole record written later replaces the record and its changes.
  Lead rejected = expected;
  rejected.statut = Statut::REJECTED;
  auto t4 = store->begin();
  putLead(*t4, rejected, &expected);
  store->commit(*t4);
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(rejected));
}

TEST_F(StoreTest, WritesMadeWriteOnlyAtASnapshotAreCommittedWithTheRestAndNeverReadBack) {
  {
    auto prepared = store->beginAtSnapshot();
    Txn& writes = prepared->writeOnly();
    EXPECT_NE(&writes, prepared.get());
    writes.put(Entity::MDL, Family::HISTORY, "h1", "one");
    // Put in key order when written, two writes of one key in the order they were made.
    writes.put(Entity::MDL, Family::HISTORY, "h2", "gone");
    writes.put(Entity::MDL, Family::HISTORY, "h0", "first");
    writes.del(Entity::MDL, Family::HISTORY, "h2");
    writes.put(Entity::MDL, Family::HISTORY, "h0", "last");
    prepared->put(Entity::MDL, Family::STATS, "s1", "two");
    prepared->setSavePoint();  // a save point covers the write-only part too
    writes.put(Entity::MDL, Family::HISTORY, "h9", "undone");
    prepared->rollbackToSavePoint();
    EXPECT_EQ(prepared->size(), 6u);
    EXPECT_TRUE(prepared->get(Entity::MDL, Family::HISTORY, "h1") == nullptr);  // not indexed
    EXPECT_ANY_THROW(writes.get(Entity::MDL, Family::HISTORY, "h1"));
    EXPECT_ANY_THROW(
        writes.scan(Entity::MDL, Family::HISTORY, "", [](auto, auto) { return true; }));
    auto writer = store->begin();
    EXPECT_EQ(&writer->writeOnly(), writer.get());  // not at a snapshot: itself
    writer->put(Entity::MDL, Family::STATS, "s2", "three");
    writer->include(kj::mv(prepared));
    EXPECT_EQ(writer->size(), 7u);
    store->commit(*writer);
  }
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h1"), kj::Maybe<std::string>("one"));
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h0"), kj::Maybe<std::string>("last"));
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "h2") == nullptr);
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "h9") == nullptr);
  EXPECT_EQ(store->get(Entity::MDL, Family::STATS, "s1"), kj::Maybe<std::string>("two"));
  EXPECT_EQ(store->get(Entity::MDL, Family::STATS, "s2"), kj::Maybe<std::string>("three"));
}

// finishWrites() on a transaction at a snapshot puts its write-only part, with its other writes of
// the same families, in SST files; the commit ingests them with the rest (the other families'
// writes, the including transaction's) in one atomic step: nothing through the WAL or memtables.
TEST_F(StoreTest, WritesFinishedAtASnapshotAreIngestedAsFilesWithTheRest) {
  Lead l = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::NEW);
  {
    auto txn = store->begin();
    putLead(*txn, l, nullptr);
    txn->put(Entity::MDL, Family::HISTORY, "h3", "before");
    store->commit(*txn);
  }
  auto ingestDir = dir / "db/ingest";
  auto filesIn = [&] {
    return std::distance(std::filesystem::directory_iterator(ingestDir),
                         std::filesystem::directory_iterator());
  };
  uint64_t sstBefore = store->size().liveSstBytes;
  auto earlier = store->snapshot();
  {
    auto prepared = store->beginAtSnapshot();
    Txn& writes = prepared->writeOnly();
    writes.put(Entity::MDL, Family::HISTORY, "h1", "one");
    writes.put(Entity::MDL, Family::HISTORY, "h2", "gone");
    writes.del(Entity::MDL, Family::HISTORY, "h2");
    writes.del(Entity::MDL, Family::HISTORY, "h3");
    changeLeadState(writes, poolView(l), false, at(50));  // a merge, and index moves
    // Indexed writes of a family the files hold go in them, after the write-only ones.
    prepared->put(Entity::MDL, Family::HISTORY, "h1", "indexed");
    prepared->put(Entity::MDL, Family::HISTORY, "h4", "four");
    prepared->put(Entity::MDL, Family::BATCHES, "r1", "run");  // a family of its own: the commit's
    prepared->finishWrites();
    EXPECT_GE(filesIn(), 2);  // history, leads, index
    auto writer = store->begin();
    writer->put(Entity::MDL, Family::STATS, "s1", "counters");
    writer->include(kj::mv(prepared));
    store->commit(*writer);
  }
  EXPECT_EQ(filesIn(), 0);                           // linked into the database, the names removed
  EXPECT_GT(store->size().liveSstBytes, sstBefore);  // in SST files at once, no flush
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h1"), kj::Maybe<std::string>("indexed"));
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "h2") == nullptr);
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "h3") == nullptr);
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h4"), kj::Maybe<std::string>("four"));
  EXPECT_EQ(store->get(Entity::MDL, Family::BATCHES, "r1"), kj::Maybe<std::string>("run"));
  EXPECT_EQ(store->get(Entity::MDL, Family::STATS, "s1"), kj::Maybe<std::string>("counters"));
  Lead delivered = l;
  delivered.statut = Statut::DELIVERED;
  delivered.nbLivraisons = 1;
  delivered.derniereLivraison = at(50);
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(delivered));
  EXPECT_EQ(deliveredLeadsUntil(*store, Entity::ZR7, at(50)),
            std::vector<PoolLead>{poolView(delivered)});
  EXPECT_TRUE(poolLeadsUntil(*store, Entity::ZR7, Statut::NEW, at(100)).empty());
  // A snapshot taken before sees none of it.
  EXPECT_EQ(earlier->get(Entity::MDL, Family::HISTORY, "h3"), kj::Maybe<std::string>("before"));
  EXPECT_TRUE(earlier->get(Entity::MDL, Family::HISTORY, "h1") == nullptr);
  EXPECT_TRUE(earlier->get(Entity::MDL, Family::STATS, "s1") == nullptr);
  earlier = nullptr;

  // Durable without a WAL record: after a reopen, and after a compaction.
  store.reset();
  store = Store::open(dir / "db");
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(delivered));
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h1"), kj::Maybe<std::string>("indexed"));
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "h3") == nullptr);
  store->purgeOldVersions({{Entity::ZR7, Family::LEADS, l.id, l.id}});
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(delivered));
}

TEST_F(StoreTest, ACommitWithFilesThatWouldWriteTheirFamiliesAgainWritesNothing) {
  {
    auto prepared = store->beginAtSnapshot();
    prepared->writeOnly().put(Entity::ZR7, Family::HISTORY, "h1", "prepared");
    prepared->finishWrites();
    auto writer = store->begin();
    writer->put(Entity::ZR7, Family::HISTORY, "h0", "writer");  // a family the files hold
    writer->put(Entity::ZR7, Family::STATS, "s1", "writer");
    writer->include(kj::mv(prepared));
    EXPECT_ANY_THROW(store->commit(*writer));
  }
  EXPECT_TRUE(store->get(Entity::ZR7, Family::HISTORY, "h1") == nullptr);
  EXPECT_TRUE(store->get(Entity::ZR7, Family::HISTORY, "h0") == nullptr);
  EXPECT_TRUE(store->get(Entity::ZR7, Family::STATS, "s1") == nullptr);
  EXPECT_TRUE(std::filesystem::is_empty(dir / "db/ingest"));  // the files went with it
}

TEST_F(StoreTest, AKeyMergedAndWrittenAgainKeepsTheWritesInOneBatch) {
  Lead l = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::NEW);
  {
    auto prepared = store->beginAtSnapshot();
    Txn& writes = prepared->writeOnly();
    putLead(writes, l, nullptr);  // a put, then a merge of the same key: no one SST entry
    writes.merge(Entity::ZR7, Family::LEADS, l.id, leadStateChange(true, std::nullopt));
    prepared->finishWrites();
    EXPECT_TRUE(std::filesystem::is_empty(dir / "db/ingest"));
    auto writer = store->begin();
    writer->include(kj::mv(prepared));
    store->commit(*writer);
  }
  Lead aged = l;
  aged.statut = Statut::LB;
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(aged));
}

TEST_F(StoreTest, FilesACrashLeftBeforeTheirIngestionAreRemovedAtOpenAndByAPurge) {
  store.reset();
  test::writeFile(dir / "db/ingest/7.sst", "what a crash left");
  store = Store::open(dir / "db");
  EXPECT_TRUE(std::filesystem::is_empty(dir / "db/ingest"));
  // An erasure's purge leaves none either (no transaction that could own one is open then).
  test::writeFile(dir / "db/ingest/8.sst", "a stray copy");
  store->purgeOldVersions({});
  EXPECT_TRUE(std::filesystem::is_empty(dir / "db/ingest"));
}

// The write-only part past its memory budget goes to sorted spill files, read back in order (a
// key's writes across spills in the order made) into the ingested files, or into the batch.
TEST_F(StoreTest, AWriteOnlyPartLargerThanItsBudgetIsSpilledAndReadBackInOrder) {
  setRunSpillBytes(512);  // a spill every few writes
  KJ_DEFER(setRunSpillBytes(size_t{64} << 20));
  Lead l = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::NEW);
  {
    auto txn = store->begin();
    putLead(*txn, l, nullptr);
    store->commit(*txn);
  }
  auto filesIn = [&](std::string_view extension) {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir / "db/ingest")) {
      n += e.path().extension() == extension ? 1 : 0;
    }
    return n;
  };
  auto spillsIn = [&] { return filesIn(".spill"); };
  {
    auto prepared = store->beginAtSnapshot();
    Txn& writes = prepared->writeOnly();
    for (int i = 0; i < 200; ++i) {
      writes.put(Entity::MDL, Family::HISTORY, fmt::format("h{:03}", (i * 37) % 200),
                 fmt::format("v{}", i));
    }
    writes.put(Entity::MDL, Family::HISTORY, "h005", "last");  // after spills that hold h005
    writes.del(Entity::MDL, Family::HISTORY, "h007");
    changeLeadState(writes, poolView(l), true, std::nullopt);  // a merge, index moves
    prepared->setSavePoint();  // while a save point is open nothing is spilled: undone whole
    for (int i = 0; i < 50; ++i)
      writes.put(Entity::MDL, Family::HISTORY, "z" + std::to_string(i), "x");
    prepared->rollbackToSavePoint();
    prepared->put(Entity::MDL, Family::HISTORY, "h009", "indexed");
    EXPECT_GT(spillsIn(), 3u);
    EXPECT_EQ(prepared->size(), 200u + 2 + 3 + 1);  // a merge and two index moves
    prepared->finishWrites();
    EXPECT_EQ(spillsIn(), 0u);  // read back into the files, removed
    // Files, not the batch fallback (which a merge out of order would have taken, silently).
    EXPECT_EQ(filesIn(".sst"), 3u);  // history, leads, index
    auto writer = store->begin();
    writer->include(kj::mv(prepared));
    store->commit(*writer);
  }
  for (int i = 0; i < 200; ++i) {
    std::string key = fmt::format("h{:03}", (i * 37) % 200);
    if (key == "h005" || key == "h007" || key == "h009") continue;
    EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, key),
              kj::Maybe<std::string>(fmt::format("v{}", i)))
        << key;
  }
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h005"), kj::Maybe<std::string>("last"));
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "h007") == nullptr);
  EXPECT_EQ(store->get(Entity::MDL, Family::HISTORY, "h009"), kj::Maybe<std::string>("indexed"));
  EXPECT_TRUE(store->get(Entity::MDL, Family::HISTORY, "z0") == nullptr);
  Lead aged = l;
  aged.statut = Statut::LB;
  EXPECT_EQ(storedLead(*store, l.id), std::optional<Lead>(aged));
  EXPECT_EQ(poolLeadsUntil(*store, Entity::ZR7, Statut::LB, at(100)),
            std::vector<PoolLead>{poolView(aged)});

  // A key put in one spill and merged in a later one cannot be one SST entry: the batch, from the
  // spills too, in the order made.
  Lead other = lead(idAt(2), Entity::ZR7, "+33610000002", "PV", at(2), Statut::NEW);
  {
    auto prepared = store->beginAtSnapshot();
    Txn& writes = prepared->writeOnly();
    putLead(writes, other, nullptr);
    for (int i = 0; i < 100; ++i)
      writes.put(Entity::ZR7, Family::HISTORY, "f" + std::to_string(i), "y");
    writes.merge(Entity::ZR7, Family::LEADS, other.id, leadStateChange(true, std::nullopt));
    prepared->finishWrites();
    EXPECT_TRUE(std::filesystem::is_empty(dir / "db/ingest"));
    auto writer = store->begin();
    writer->include(kj::mv(prepared));
    store->commit(*writer);
  }
  Lead otherAged = other;
  otherAged.statut = Statut::LB;
  EXPECT_EQ(storedLead(*store, other.id), std::optional<Lead>(otherAged));
  EXPECT_EQ(store->get(Entity::ZR7, Family::HISTORY, "f99"), kj::Maybe<std::string>("y"));
}

TEST_F(StoreTest, AChangeOfADamagedLeadLeavesItAsItWasAndTheStoreWritable) {
  auto txn = store->begin();
  txn->put(Entity::ZR7, Family::LEADS, "L1", "damaged");  // not a record
  store->commit(*txn);
  auto change = store->begin();
  change->merge(Entity::ZR7, Family::LEADS, "L1", leadStateChange(false, at(5)));
  store->commit(*change);
  EXPECT_EQ(store->get(Entity::ZR7, Family::LEADS, "L1"), kj::Maybe<std::string>("damaged"));
  // A flush and a compaction meet the change: the database stays writable (a failed merge
  // there would fail every later write).
  store->purgeOldVersions({{Entity::ZR7, Family::LEADS, "L1", "L1"}});
  auto later = store->begin();
  later->put(Entity::ZR7, Family::LEADS, "L2", "after");
  EXPECT_NO_THROW(store->commit(*later));
  EXPECT_EQ(store->get(Entity::ZR7, Family::LEADS, "L1"), kj::Maybe<std::string>("damaged"));
  EXPECT_EQ(store->get(Entity::ZR7, Family::LEADS, "L2"), kj::Maybe<std::string>("after"));
}

TEST(LeadStateTest, ChangesApplyInOrderAndStrangeBytesAreRefused) {
  Lead l;
  l.statut = Statut::NEW;
  applyLeadStateChange(leadStateChange(true, std::nullopt), l);
  EXPECT_EQ(l.statut, Statut::LB);
  applyLeadStateChange(leadStateChange(false, at(7)) + leadStateChange(true, at(9)), l);
  EXPECT_EQ(l.statut, Statut::DELIVERED);
  EXPECT_EQ(l.nbLivraisons, 2u);
  EXPECT_EQ(l.derniereLivraison, at(9));
  EXPECT_ANY_THROW(applyLeadStateChange("x", l));
  EXPECT_ANY_THROW(applyLeadStateChange(leadStateChange(false, at(7)).substr(0, 5), l));
}

TEST_F(StoreTest, ABadPoolEntryIsReadFromItsLeadOrPassedOverNeverStopsTheRead) {
  Lead damaged = lead(idAt(1), Entity::ZR7, "+33610000001", "PV", at(1), Statut::NEW);
  Lead elsewhere = lead(idAt(2), Entity::ZR7, "+33610000002", "PV", at(2), Statut::NEW);
  Lead fine = lead(idAt(3), Entity::ZR7, "+33610000003", "PV", at(3), Statut::NEW);
  auto txn = store->begin();
  for (auto* l : {&damaged, &elsewhere, &fine}) putLead(*txn, *l, nullptr);
  // Damaged bytes; a value of another time than its key's; an entry of no lead (an entry that
  // decodes and agrees with its key is taken as it is: that is what makes the read a range).
  txn->put(Entity::ZR7, Family::INDEX, keys::statusKey(Statut::NEW, damaged.recuLe, damaged.id),
           "\x01garbage");
  PoolLead other = poolView(elsewhere);
  other.recuLe = at(9);
  txn->put(Entity::ZR7, Family::INDEX,
           keys::statusKey(Statut::NEW, elsewhere.recuLe, elsewhere.id), encodePoolEntry(other));
  txn->put(Entity::ZR7, Family::INDEX, keys::statusKey(Statut::NEW, at(4), idAt(4)), "");
  store->commit(*txn);
  EXPECT_EQ(poolLeadsUntil(*store, Entity::ZR7, Statut::NEW, at(10)),
            (std::vector<PoolLead>{poolView(damaged), poolView(elsewhere), poolView(fine)}));
}

TEST_F(StoreTest, ThePoolEntriesOfAnOlderDatabaseAreFilledOnce) {
  EXPECT_TRUE(ensurePoolEntriesFilled(*store));  // an empty database: nothing to fill
  EXPECT_FALSE(ensurePoolEntriesFilled(*store));
  // A database written before the pool entries held anything.
  Lead fresh = lead(idAt(1), Entity::MDL, "+33610000001", "PV", at(1), Statut::NEW);
  Lead delivered = lead(idAt(2), Entity::MDL, "+33610000002", "PV", at(2), Statut::DELIVERED);
  delivered.derniereLivraison = at(40);
  auto txn = store->begin();
  for (auto* l : {&fresh, &delivered}) {
    putLead(*txn, *l, nullptr);
    for (auto& entry : leadIndexEntries(*l)) txn->put(Entity::MDL, Family::INDEX, entry.key, "");
  }
  txn->delSystem(keys::POOL_FILLED_KEY);
  store->commit(*txn);
  // Not filled yet: read from the records.
  EXPECT_EQ(poolLeadsUntil(*store, Entity::MDL, Statut::NEW, at(10)),
            std::vector<PoolLead>{poolView(fresh)});
  EXPECT_TRUE(ensurePoolEntriesFilled(*store));
  for (auto* l : {&fresh, &delivered}) {
    for (auto& entry : leadIndexEntries(*l)) {
      EXPECT_EQ(store->get(Entity::MDL, Family::INDEX, entry.key), kj::Maybe<std::string>(entry.value));
    }
  }
  EXPECT_EQ(poolLeadsUntil(*store, Entity::MDL, Statut::NEW, at(10)),
            std::vector<PoolLead>{poolView(fresh)});
  EXPECT_EQ(deliveredLeadsUntil(*store, Entity::MDL, at(40)),
            std::vector<PoolLead>{poolView(delivered)});
  EXPECT_FALSE(ensurePoolEntriesFilled(*store));
}

TEST(StoreDurabilityTest, CommittedDataSurvivesAReopen) {
  test::TempDir dir;
  Lead l = lead(idAt(7), Entity::MDL, "+262692123456", "ITE", at(7));
  Client c;
  c.id = "acme";
  c.entity = Entity::MDL;
  c.nom = "Acme";
  c.emails = {"ops@acme.fr"};
  {
    auto store = Store::open(dir / "db");
    auto txn = store->begin();
    putLead(*txn, l, nullptr);
    putClient(*txn, c);
    store->commit(*txn);
  }
  auto store = Store::open(dir / "db");
  KJ_IF_MAYBE(stored, getLead(*store, Entity::MDL, l.id)) {
    EXPECT_EQ(*stored, l);
  } else {
    FAIL() << "lead lost";
  }
  KJ_IF_MAYBE(stored, getClient(*store, Entity::MDL, "acme")) {
    EXPECT_EQ(*stored, c);
  } else {
    FAIL() << "client lost";
  }
  EXPECT_EQ(lastLeadId(*store, Entity::MDL), l.id);
}

TEST(StoreCheckpointTest, BackupIsAConsistentCopy) {
  test::TempDir dir;
  {
    auto store = Store::open(dir / "db");
    auto txn = store->begin();
    putLead(*txn, lead(idAt(9), Entity::ZR7, "+33612345678", "PV", at(9)), nullptr);
    store->commit(*txn);
    store->checkpoint(dir / "backup");
    EXPECT_ANY_THROW(store->checkpoint(dir / "backup"));  // never overwrites
  }
  auto copy = Store::open(dir / "backup");
  EXPECT_TRUE(getLead(*copy, Entity::ZR7, idAt(9)) != nullptr);
}

TEST_F(StoreTest, TheIdFloorCoversDeliveriesAndBatchesNotOnlyLeads) {
  auto txn = store->begin();
  putLead(*txn, lead(idAt(10), Entity::ZR7, "+33612345678", "PV", at(10)), nullptr);
  Delivery d;
  d.id = idAt(20);
  d.entity = Entity::MDL;
  d.lead = idAt(10);
  putDelivery(*txn, d);
  Batch b;
  b.id = idAt(30);
  b.entity = Entity::ZR7;
  putBatch(*txn, b, nullptr);
  store->commit(*txn);
  EXPECT_EQ(lastGeneratedId(*store, Entity::ZR7), idAt(30));  // the batch, later than the lead
  EXPECT_EQ(lastGeneratedId(*store, Entity::MDL), idAt(20));  // the delivery, in its family
}

TEST(KeysTest, TimesSortAsBytesIncludingBeforeTheEpoch) {
  std::string a, b, c;
  keys::appendTime(a, at(-10));
  keys::appendTime(b, at(0));
  keys::appendTime(c, at(10));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(keys::readTime(a), at(-10));
  EXPECT_EQ(keys::readTime(c), at(10));
}

TEST(IdsTest, IdsAreOrderedUniqueAndSurviveAClockStepBack) {
  IdGenerator ids;
  std::string a = ids.next(at(100));
  std::string b = ids.next(at(100));  // same microsecond
  std::string c = ids.next(at(50));   // the clock stepped back
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(decodeId(a), std::optional<uint64_t>(100000000));
  IdGenerator reseeded(*decodeId(c));
  EXPECT_LT(c, reseeded.next(at(1)));
  EXPECT_EQ(decodeId("not-an-id!!!!"), std::nullopt);
}

TEST(CodecTest, RecordsRoundTripThroughBytes) {
  Lead l = lead(idAt(3), Entity::MDL, "+33612345678", "PV", at(3), Statut::INVALID);
  l.problemes = {"email.invalid", "doublon.soumission"};
  l.doublonDe = idAt(1);
  l.consentementLe = at(2);
  l.proprietaire = TriState::NON;
  l.typeLogement = TypeLogement::APPARTEMENT;
  EXPECT_EQ(decodeLead(encode(l)), l);
  Commande c;
  c.id = "C000001";
  c.client = "acme";
  c.produit = "PAC";
  c.departements = {"2A", "971"};
  c.quotaSemaine = 40;
  c.quotaJour = 10;
  c.priorite = 1;
  c.lbMaxPct = 25;
  c.fallback = true;
  c.debut = "2026-01-05";
  EXPECT_EQ(decodeCommande(encode(c)), c);
  EXPECT_ANY_THROW(decodeLead("abc"));  // not a whole number of words
}

TEST(CodecTest, BatchPartsAcceptedRoundTripAndOldRecordsDecodeWithout) {
  Batch b;
  b.id = "B000001";
  b.entity = Entity::MDL;
  b.client = "acme";
  b.run = "2026-11-25";
  b.status = BatchStatus::FAILED;
  b.deliveries = {"D1", "D2", "D3"};
  b.responses = {"2026-11-25T09:30:00+01:00 echec 500 api part 2/3: 500"};
  b.partsAccepted = {1, 3};
  EXPECT_EQ(decodeBatch(encode(b)), b);

  // A record written before the field existed: its root struct has one pointer fewer (the field
  // is the only one added since). Made from a current record by shrinking the root pointer's
  // pointer count (bits 48..63 of the word after the one-segment table).
  capnp::MallocMessageBuilder message;
  auto old = message.initRoot<schema::Batch>();
  old.setId("B000002");
  old.setClient("acme");
  old.initResponses(1).set(0, "ok 250");
  auto words = capnp::messageToFlatArray(message);
  std::string bytes(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
  uint16_t pointers = static_cast<uint8_t>(bytes[14]) | static_cast<uint8_t>(bytes[15]) << 8;
  ASSERT_EQ(pointers, 7u);  // id, client, run, deliveries, lastError, responses, partsAccepted
  bytes[14] = 6;
  Batch decoded = decodeBatch(bytes);
  EXPECT_EQ(decoded.id, "B000002");
  EXPECT_EQ(decoded.responses, std::vector<std::string>{"ok 250"});
  EXPECT_TRUE(decoded.partsAccepted.empty());
}

// History (SPEC §3.3): typed events round-trip; records written before events were typed (only
// at, event and detail) decode into their kind with their text kept, and an erasure's rewrite
// keeps them legacy.
TEST(CodecTest, HistoryEventsRoundTripAndLegacyRecordsDecodeIntoTheirKind) {
  Delivery d;
  d.id = "D1";
  d.entity = Entity::MDL;
  d.commande = "C000002";
  d.client = "acme";
  d.pass = PassKind::LB_FALLBACK;
  d.batch = "B1";
  d.run = "2026-11-25";
  d.rejet = "faux_numero";
  d.rejeteLe = at(50);
  DuplicateSkip skip{"L1", Entity::ZR7, "acme", "C000002", at(40), "PV"};
  for (const HistoryEvent& e :
       {history::received(at(1), "ingest"), history::doubleSubmission(at(1), "L0"),
        history::opposedAtReception(at(1), Entity::MDL), history::problems(at(1), {"a.b", "c.d"}),
        history::status(at(1), Statut::INVALID), history::aged(at(2), "2026-11-25"),
        history::delivered(at(3), d), history::duplicateSkipped(at(3), skip, "2026-11-25"),
        history::opposedInRun(at(3), Entity::ZR7, "2026-11-25/zr7"), history::erased(at(4)),
        history::rejected(at(5), d, "semaine"), history::droppedFromBatch(at(6), d, "remplacement_du"),
        history::forwarded(at(7), at(6), GatewayTime::TOO_OLD, true),
        history::requestProof(at(8), {"192.0.2.1", "UA", ""}, {"127.0.0.1", "", "https://x"})}) {
    EXPECT_EQ(decodeHistoryEvent(encode(e)), e) << historyText(e);
  }

  // The bytes of a record of the first schema: a root of 1 data word (at) and 2 pointers.
  auto written = [](int64_t us, const char* event, const char* detail) {
    capnp::MallocMessageBuilder message;
    auto root = message.getRoot<capnp::AnyPointer>().initAsAnyStruct(1, 2);
    auto data = root.getDataSection();
    for (int i = 0; i < 8; ++i) data[i] = static_cast<kj::byte>((us >> (8 * i)) & 0xff);
    root.getPointerSection()[0].setAs<capnp::Text>(event);
    root.getPointerSection()[1].setAs<capnp::Text>(detail);
    auto words = capnp::messageToFlatArray(message);
    return std::string(reinterpret_cast<const char*>(words.asBytes().begin()),
                       words.asBytes().size());
  };
  struct Old {
    const char* event;
    const char* detail;
    HistoryKind kind;
  };
  for (const Old& old : std::initializer_list<Old>{
           {"recu", "via ingest", HistoryKind::RECU},
           {"doublon", "soumission de 0KX7ZC7G0000A", HistoryKind::DOUBLON},
           {"opposition", "numéro sur la liste d'opposition", HistoryKind::OPPOSITION},
           {"opposition", "numéro sur la liste d'opposition de ZR7: non livré (run 2026-11-25)",
            HistoryKind::OPPOSITION},
           {"problemes", "email.invalid,telephone.invalid", HistoryKind::PROBLEMES},
           {"statut", "new", HistoryKind::STATUT},
           {"statut", "lb (vieillissement, run 2026-11-25)", HistoryKind::STATUT},
           {"livraison", "commande C000001 client acme (fresh) batch B1 run 2026-11-25",
            HistoryKind::LIVRAISON},
           {"doublon_evite", "client acme (commande C000001) l'a déjà reçu dans les 30 jours",
            HistoryKind::DOUBLON_EVITE},
           {"envoi", "batch B1 envoyé à acme", HistoryKind::ENVOI},
           {"rejet", "raison faux_numero le 2026-11-26T10:00:00+01:00: livraison D1 (commande "
                     "C000001 client acme run 2026-11-25), crédit semaine",
            HistoryKind::REJET},
           {"effacement", "données personnelles effacées (RGPD); retiré du lot B1 (commande "
                          "C000001, crédit semaine)",
            HistoryKind::EFFACEMENT},
           {"allocation", "x", HistoryKind::LIVRAISON},
           {"probleme", "email.invalid", HistoryKind::PROBLEMES},
           {"autre_chose", "texte", HistoryKind::LEGACY}}) {
    HistoryEvent e = decodeHistoryEvent(written(123456789, old.event, old.detail));
    EXPECT_EQ(e.at, Timestamp(Duration(123456789)));
    EXPECT_EQ(e.kind, old.kind) << old.event;
    EXPECT_TRUE(e.legacy);
    EXPECT_EQ(historyEventName(e), old.event);
    EXPECT_EQ(historyText(e), old.detail);
    // Written back (an erasure rewrites what it scrubs): still the same legacy record.
    EXPECT_EQ(decodeHistoryEvent(encode(e)), e) << old.event;
  }
  HistoryEvent aged = decodeHistoryEvent(written(1, "statut", "lb (vieillissement, run X)"));
  EXPECT_EQ(aged.statut, Statut::LB);
  HistoryEvent problems = decodeHistoryEvent(written(1, "problemes", "a.b,c.d"));
  EXPECT_EQ(problems.problemes, (std::vector<std::string>{"a.b", "c.d"}));
}

// The trace a run keeps for lead explain round-trips (settings, counters, closures).
TEST(CodecTest, RunTraceRoundTrips) {
  RunTrace t;
  t.run = "2026-11-25/zr7";
  t.params.date = "2026-11-25";
  t.params.reference = at(1000);
  t.params.onlyEntity = Entity::ZR7;
  t.committedAt = at(1001);
  CommandeTrace c;
  c.state.commande.id = "C000001";
  c.state.commande.client = "acme";
  c.state.commande.produit = "PV";
  c.state.commande.departements = {"33", "2A"};
  c.state.commande.jours = {"lun", "sam"};
  c.state.commande.quotaSemaine = 40;
  c.state.commande.quotaJour = 5;
  c.state.commande.priorite = 2;
  c.state.commande.lbMaxPct = 30;
  c.state.commande.fallback = true;
  c.state.commande.debut = "2026-11-01";
  c.state.clientActif = false;
  c.state.deliveredThisWeek = 7;
  c.state.lbDeliveredThisWeek = 3;
  c.state.deliveredToday = 1;
  c.state.replacementsOwed = 2;
  c.state.replacementsServedThisWeek = 1;
  c.closures = {{PassKind::FRESH, {Full::QUOTA_JOUR, 5, 5}, "L9", at(900)},
                {PassKind::LB, {Full::QUOTA_JOUR, 5, 5}, "", {}}};
  t.commandes.push_back(c);
  RunTrace back = decodeRunTrace(encode(t));
  EXPECT_EQ(back.run, t.run);
  EXPECT_EQ(back.params.date, t.params.date);
  EXPECT_EQ(back.params.reference, t.params.reference);
  EXPECT_EQ(back.params.onlyEntity, t.params.onlyEntity);
  EXPECT_EQ(back.params.freshWindow, t.params.freshWindow);
  EXPECT_EQ(back.params.lbReentry, t.params.lbReentry);
  EXPECT_EQ(back.params.dedupWindow, t.params.dedupWindow);
  EXPECT_EQ(back.committedAt, t.committedAt);
  ASSERT_EQ(back.commandes.size(), 1u);
  EXPECT_EQ(back.commandes[0].state.commande, c.state.commande);
  EXPECT_EQ(back.commandes[0].state.clientActif, false);
  EXPECT_EQ(back.commandes[0].state.deliveredThisWeek, 7u);
  EXPECT_EQ(back.commandes[0].state.lbDeliveredThisWeek, 3u);
  EXPECT_EQ(back.commandes[0].state.deliveredToday, 1u);
  EXPECT_EQ(back.commandes[0].state.replacementsOwed, 2u);
  EXPECT_EQ(back.commandes[0].state.replacementsServedThisWeek, 1u);
  EXPECT_EQ(back.commandes[0].closures, c.closures);
}

TEST_F(StoreTest, ASnapshotSeesOneStateAndScansInPieces) {
  // More keys than one iterator piece (8192), so the scan resumes across pieces.
  auto txn = store->begin();
  for (int i = 0; i < 20000; ++i) {
    putLead(*txn, lead(idAt(1000 + i), Entity::ZR7, "", "PV", at(1000 + i)), nullptr);
  }
  store->commit(*txn, false);
  auto snapshot = store->snapshot();
  auto later = store->begin();
  putLead(*later, lead(idAt(999999), Entity::ZR7, "", "PV", at(999999)), nullptr);
  store->commit(*later, false);
  std::vector<std::string> ids;
  snapshot->scan(Entity::ZR7, Family::LEADS, "", [&](std::string_view key, auto) {
    ids.emplace_back(key);
    return true;
  });
  ASSERT_EQ(ids.size(), 20000u);  // not the lead written after the snapshot
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());  // none twice
  EXPECT_TRUE(getLead(*snapshot, Entity::ZR7, idAt(999999)) == nullptr);
  EXPECT_TRUE(getLead(*store, Entity::ZR7, idAt(999999)) != nullptr);
  // A scan that stops early, and one after a key.
  size_t seen = 0;
  snapshot->scanAfter(Entity::ZR7, Family::LEADS, "", ids[9000], [&](auto, auto) {
    return ++seen < 5;
  });
  EXPECT_EQ(seen, 5u);
}

// Erasure's promise with an audit running: a snapshot taken before the erasure would keep the
// wiped value in the compacted files, so the purge waits for it; a snapshot asked for while a
// purge waits waits for the purge.
TEST(StoreSnapshotTest, APurgeWaitsForOpenSnapshotsAndTheErasedValueIsGone) {
  test::TempDir dir;
  auto store = Store::open(dir / "db");
  Lead person = lead(idAt(1), Entity::ZR7, "+33612345678", "PV", at(1));
  person.nom = "Xqsnapshotzz";
  auto txn = store->begin();
  putLead(*txn, person, nullptr);
  store->commit(*txn);
  auto audit = store->snapshot();  // an audit, before the erasure

  Lead wiped = person;
  wiped.nom.clear();
  auto erase = store->begin();
  putLead(*erase, wiped, &person);
  store->commit(*erase);

  std::mutex mutex;
  std::vector<std::string> events;
  auto event = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(kj::mv(what));
  };
  std::thread purge([&] {
    store->purgeOldVersions({{Entity::ZR7, Family::LEADS, person.id, person.id}});
    event("purged");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the purge is waiting now
  std::atomic<bool> secondSawPurgedFiles{false};
  std::thread second([&] {
    auto later = store->snapshot();  // waits for the purge to be done
    secondSawPurgedFiles = test::filesContaining(dir / "db", "Xqsnapshotzz").empty();
    event("second snapshot");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_TRUE(events.empty()) << events.front();
  }
  // The old snapshot still reads the value, from files the purge has not touched yet.
  KJ_IF_MAYBE(seen, getLead(*audit, Entity::ZR7, person.id)) {
    EXPECT_EQ(seen->nom, "Xqsnapshotzz");
  } else {
    ADD_FAILURE() << "the snapshot lost the lead";
  }
  audit = nullptr;  // the audit ends
  purge.join();
  second.join();
  EXPECT_EQ(events.size(), 2u);
  EXPECT_TRUE(secondSawPurgedFiles);
  EXPECT_EQ(test::filesContaining(dir / "db", "Xqsnapshotzz"), std::vector<std::string>{});
}

}  // namespace
}  // namespace rdz
