// The run off the writer (daemon/service/run.h): planned on a snapshot while writes go on, then
// checked by the writer. A plan that still holds is committed as it was made; one that relied on
// something changed since its snapshot is made again on the writer, so what is committed always
// obeys SPEC §5 on the state it is committed to.
#include "daemon/service/run.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/validation.h"
#include "daemon/service/after-delivery.h"
#include "daemon/service/audit.h"
#include "daemon/service/operations.h"
#include "daemon/service/opposition.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/corrupt-store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

Submission lead(std::string phone) {
  return {{"produit", "PV"},       {"nom", "Martin"},          {"prenom", "Zoé"},
          {"telephone", phone},    {"code_postal", "33000"},   {"consentement", "oui"},
          {"proprietaire", "oui"}, {"type_logement", "maison"}};
}

struct Env {
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  // Wednesday 2026-11-25 08:00 Paris: before that day's 09:30 run.
  ManualClock clock{Timestamp(std::chrono::seconds(1795590000))};
  IdGenerator ids;
  OppositionKey opposition{"a test secret of the opposition list"};
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);
  std::string commande;
  std::vector<std::string> leads;  // ZR7, oldest first
  RunParams params =
      runParams(RunSettings{}, "2026-11-25", std::nullopt, std::nullopt, clock.now());

  void write(kj::Function<void(Txn&)> job) { writes->runSync(kj::mv(job)); }

  Env() {
    write([&](Txn& t) {
      Client c;
      c.id = "solaire";
      c.entity = Entity::ZR7;
      c.nom = "Solaire";
      c.emails = {"a@solaire.example"};
      addClient(t, c, clock.now());
      Commande k;
      k.client = "solaire";
      k.produit = "PV";
      k.quotaSemaine = 2;
      k.jours = {"lun", "mar", "mer", "jeu", "ven"};
      commande = addCommande(t, k, clock.now());
    });
    for (auto phone : {"0611111111", "0622222222", "0633333333"}) {
      clock.advance(1min);
      write([&](Txn& t) {
        leads.push_back(
            ingestLead(t, ids, {Entity::ZR7, lead(phone), "", clock.now(), false, "test"}).id);
      });
    }
  }

  kj::Own<PlannedRun> plan() {
    auto snapshot = store->snapshot();
    return planRunOnSnapshot(*snapshot, params, &opposition);
  }

  // Planned and written on a snapshot, as rdzd's deliver does.
  kj::Own<PlannedRun> prepare() {
    uint64_t mark = writes->changeMark();
    return prepareRun(*store, ids, params, clock.now(), &opposition, mark);
  }

  RunOutcome commitPrepared(PlannedRun* planned) {
    RunOutcome outcome;
    write([&](Txn& t) {
      bool untouched = writes->onlyOutsideRunsSince(planned->changeMark);
      outcome = executeRun(t, ids, params, clock.now(), &opposition, planned, untouched);
    });
    return outcome;
  }

  void ingest(const std::string& phone) {
    writes->runSync(
        [&](Txn& t) {
          ingestLead(t, ids, {Entity::ZR7, lead(phone), "", clock.now(), false, "test"});
        },
        Writes::OUTSIDE_RUNS);
  }

  // Every invariant, the day's counters recounted from the records included.
  std::string audit() {
    auto snapshot = store->snapshot();
    AuditOptions options;
    options.opposition = &opposition;
    std::atomic<bool> cancelled{false};
    AuditReport report = auditStore(*snapshot, options, cancelled);
    std::string out;
    for (auto& v : report.violations) out += v.invariant + " " + v.key + " " + v.detail + "\n";
    return out;
  }

  RunOutcome commit(PlannedRun* planned) {
    RunOutcome outcome;
    write([&](Txn& t) { outcome = executeRun(t, ids, params, clock.now(), &opposition, planned); });
    return outcome;
  }

  std::vector<std::string> assigned(const RunOutcome& outcome) {
    std::vector<std::string> out;
    for (auto& b : outcome.batches) {
      for (auto& id : b.deliveries) {
        KJ_IF_MAYBE (d, getDelivery(*store, b.entity, id)) {
          out.push_back(d->lead);
        }
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Statut statut(const std::string& id) {
    KJ_IF_MAYBE (l, getLead(*store, Entity::ZR7, id)) {
      return l->statut;
    }
    KJ_FAIL_ASSERT("no lead", id);
  }
};

TEST(OppositionKeyTest, TheHashIsHmacSha256OfTheNumberUnderTheSecret) {
  // The value the opposition lists of existing stores were written with (Python's
  // hmac.new(secret, number, sha256)); the same from several threads at once.
  OppositionKey key{"a test secret of the opposition list"};
  const std::string expected = "1dbe98fcde369d3adf808bd6d2c3345f015b42216fc4756c7c874255988884c3";
  auto hex = [](const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
    return out;
  };
  EXPECT_EQ(hex(key.hash("+33612345678")), expected);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (hex(key.hash("+33612345678")) != expected) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_NE(key.hash("+33612345679"), key.hash("+33612345678"));
}

TEST(ErasureTest, EveryPoolEntryTheLeadHadIsPurgedNotOnlyItsCurrentOnes) {
  // Its pool entries held its phone: the deleted versions of its `new` status entry and of the
  // last-delivery entry of each delivery may still sit in older files than the deletions.
  Env env;
  auto planned = env.prepare();
  env.commitPrepared(planned.get());  // the first two leads delivered (quota 2)
  const std::string id = env.leads[0];
  Lead before;
  KJ_IF_MAYBE (l, getLead(*env.store, Entity::ZR7, id)) {
    before = *l;
  }
  ASSERT_EQ(before.statut, Statut::DELIVERED);
  ErasureOutcome outcome;
  env.write([&](Txn& t) {
    outcome = eraseLeads(t, {Entity::ZR7}, before.telephoneE164,
                         env.opposition.hash(before.telephoneE164), env.clock.now());
  });
  auto purged = [&](const std::string& key) {
    return std::any_of(outcome.ranges.begin(), outcome.ranges.end(), [&](const KeyRange& r) {
      return r.entity == Entity::ZR7 && r.family == Family::INDEX && r.first <= key &&
             key <= r.last;
    });
  };
  EXPECT_TRUE(purged(keys::statusKey(Statut::NEW, before.recuLe, id)));
  EXPECT_TRUE(purged(keys::statusKey(Statut::LB, before.recuLe, id)));
  EXPECT_TRUE(purged(keys::agingKey(*before.derniereLivraison, id)));
  EXPECT_TRUE(purged(keys::phoneKey(before.telephoneE164, before.produit, before.recuLe, id)));
}

TEST(RunOffWriterTest, APlanThatStillHoldsIsCommittedAsPlanned) {
  Env env;
  auto planned = env.plan();
  ASSERT_TRUE(planned->plan.has_value());
  ASSERT_EQ(planned->plan->assignments.size(), 2u);  // the quota: the two oldest
  // Ingestion goes on meanwhile: a lead the plan did not see changes nothing it relied on.
  env.write([&](Txn& t) {
    ingestLead(t, env.ids, {Entity::ZR7, lead("0644444444"), "", env.clock.now(), false, "test"});
  });
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_FALSE(outcome.replanned) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[0], env.leads[1]}));
  EXPECT_EQ(env.statut(env.leads[2]), Statut::NEW);

  // Asked again: done, whatever was planned.
  auto again = env.plan();
  EXPECT_FALSE(again->scope.toRun.has_value());
  EXPECT_TRUE(env.commit(again.get()).alreadyDone);
}

// Leads aged and assigned by the same run (new for more than 8 days, then given from LB): the
// plan names each twice; the run keeps it once and writes both changes, whether its prepared
// writes are committed or its plan is checked and written on the writer.
TEST(RunOffWriterTest, LeadsAgedAndAssignedInOneRunAreCommittedAsPlanned) {
  for (bool prepared : {true, false}) {
    SCOPED_TRACE(prepared ? "prepared on the snapshot" : "checked on the writer");
    Env env;
    env.write([&](Txn& t) {
      KJ_IF_MAYBE (k, getCommande(t, Entity::ZR7, env.commande)) {
        k->lbMaxPct = 100;
        setCommande(t, *k);
      }
    });
    // Friday 2026-12-04: the three leads, received on the 25th, are more than 8 days old.
    env.params =
        runParams(RunSettings{}, "2026-12-04", std::nullopt, std::nullopt, env.clock.now());
    auto planned = prepared ? env.prepare() : env.plan();
    ASSERT_TRUE(planned->plan.has_value());
    EXPECT_EQ(planned->plan->aging.size(), 3u);
    ASSERT_EQ(planned->plan->assignments.size(), 2u);
    EXPECT_EQ(planned->leads.size(), 3u);  // each lead once
    RunOutcome outcome = prepared ? env.commitPrepared(planned.get()) : env.commit(planned.get());
    EXPECT_EQ(outcome.fromSnapshot, prepared);
    EXPECT_FALSE(outcome.replanned) << outcome.staleBecause;
    EXPECT_EQ(env.assigned(outcome).size(), 2u);
    size_t delivered = 0, lb = 0;
    for (auto& id : env.leads) {
      delivered += env.statut(id) == Statut::DELIVERED ? 1 : 0;
      lb += env.statut(id) == Statut::LB ? 1 : 0;
    }
    EXPECT_EQ(delivered, 2u);
    EXPECT_EQ(lb, 1u);
    EXPECT_EQ(env.audit(), "");
  }
}

TEST(RunOffWriterTest, ACommandeChangedSinceTheSnapshotIsPlannedAgain) {
  Env env;
  auto planned = env.plan();
  env.write([&](Txn& t) {
    KJ_IF_MAYBE (k, getCommande(t, Entity::ZR7, env.commande)) {
      k->quotaSemaine = 1;
      setCommande(t, *k);
    }
  });
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_TRUE(outcome.replanned);
  EXPECT_NE(outcome.staleBecause.find("commande"), std::string::npos) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), std::vector<std::string>{env.leads[0]});  // the new quota
}

TEST(RunOffWriterTest, ALeadChangedSinceTheSnapshotIsNeverDeliveredAsItWas) {
  Env env;
  auto planned = env.plan();
  env.write([&](Txn& t) {
    KJ_IF_MAYBE (l, getLead(t, Entity::ZR7, env.leads[0])) {
      Lead changed = *l;
      changed.statut = Statut::INVALID;
      putLead(t, changed, &*l);
    }
  });
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_TRUE(outcome.replanned);
  EXPECT_NE(outcome.staleBecause.find(env.leads[0]), std::string::npos) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[1], env.leads[2]}));
  EXPECT_EQ(env.statut(env.leads[0]), Statut::INVALID);
}

TEST(RunOffWriterTest, APhoneOpposedSinceTheSnapshotIsNotDelivered) {
  Env env;
  auto planned = env.plan();
  env.write([&](Txn& t) {
    putOpposition(t, Entity::ZR7, env.opposition.hash(*normalizePhone("0611111111")),
                  env.clock.now());
  });
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_TRUE(outcome.replanned);
  EXPECT_NE(outcome.staleBecause.find("opposed"), std::string::npos) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[1], env.leads[2]}));
}

// A list with no number is not looked up (no phone hashed for it); one with numbers is, whatever
// the other list holds.
TEST(RunOffWriterTest, OnlyAListWithNumbersIsLookedUpAndItStillPassesItsPhonesOver) {
  Env env;
  std::string phone = *normalizePhone("0611111111");
  env.write(
      [&](Txn& t) { putOpposition(t, Entity::MDL, env.opposition.hash(phone), env.clock.now()); });
  EXPECT_FALSE(hasOpposition(*env.store, Entity::ZR7));
  EXPECT_TRUE(hasOpposition(*env.store, Entity::MDL));
  auto planned = env.plan();  // ZR7 leads, ZR7 commande: the MDL list does not apply
  ASSERT_TRUE(planned->plan.has_value());
  EXPECT_TRUE(planned->plan->oppositions.empty());
  EXPECT_EQ(planned->plan->assignments.size(), 2u);
  EXPECT_EQ(planned->plan->assignments[0].leadId, env.leads[0]);

  env.write(
      [&](Txn& t) { putOpposition(t, Entity::ZR7, env.opposition.hash(phone), env.clock.now()); });
  EXPECT_TRUE(hasOpposition(*env.store, Entity::ZR7));
  planned = env.plan();
  ASSERT_TRUE(planned->plan.has_value());
  ASSERT_EQ(planned->plan->oppositions.size(), 1u);
  EXPECT_EQ(planned->plan->oppositions[0].leadId, env.leads[0]);
  EXPECT_EQ(env.assigned(env.commit(planned.get())),
            (std::vector<std::string>{env.leads[1], env.leads[2]}));
}

// A lead listed twice in the pools — a status entry its record does not have, holding
// well-formed pool fields (the audit reports it) — is planned once, as its record has it: the
// plan then holds on the writer.
TEST(RunOffWriterTest, ALeadListedTwiceInThePoolsIsPlannedAsItsRecordHasIt) {
  Env env;
  test::setStatut(*env.store, Entity::ZR7, env.leads[0], Statut::LB);  // the record: lb
  KJ_IF_MAYBE (lead, getPoolLead(*env.store, Entity::ZR7, env.leads[0])) {
    PoolLead stale = *lead;
    stale.statut = Statut::NEW;
    env.write([&](Txn& t) {
      t.put(Entity::ZR7, Family::INDEX, keys::statusKey(Statut::NEW, stale.recuLe, stale.id),
            encodePoolEntry(stale));
    });
  } else {
    FAIL() << "no lead";
  }
  auto planned = env.plan();
  ASSERT_TRUE(planned->plan.has_value());
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_FALSE(outcome.replanned) << outcome.staleBecause;
  // The quota goes to the two new leads; the lb one is not fresh.
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[1], env.leads[2]}));
  EXPECT_EQ(env.statut(env.leads[0]), Statut::LB);
}

// A plan made again on the writer is written from the records of the leads it changes, not from
// their pool entries: a pool entry that disagrees with its record (what sent the plan there) is
// not copied into the entries the run writes.
TEST(RunOffWriterTest, APlanMadeOnTheWriterIsWrittenFromTheLeadsRecords) {
  Env env;
  test::staleDepartementInPoolEntry(*env.store, Entity::ZR7, env.leads[0]);
  auto planned = env.plan();
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_TRUE(outcome.replanned);
  EXPECT_NE(outcome.staleBecause.find(env.leads[0]), std::string::npos) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[0], env.leads[1]}));
  // Its last-delivery entry holds the record's departement; the stale entry is gone.
  EXPECT_EQ(env.audit(), "");
}

TEST(RunOffWriterTest, APersonTheClientGotSinceTheSnapshotIsNotSentTwice) {
  Env env;
  auto planned = env.plan();
  // The client got the first lead's person meanwhile (what another run would have written).
  env.write([&](Txn& t) {
    putLastDelivery(t, Entity::ZR7, *normalizePhone("0611111111"), "PV", "solaire",
                    env.params.reference - 24h);
  });
  RunOutcome outcome = env.commit(planned.get());
  EXPECT_TRUE(outcome.replanned);
  EXPECT_NE(outcome.staleBecause.find("solaire"), std::string::npos) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[1], env.leads[2]}));
}

// The run's writes made on the snapshot too: committed as they were written when only ingestion
// wrote meanwhile, its counters added to what ingestion counted since.
TEST(RunOffWriterTest, APreparedRunIsCommittedAsWrittenWhileIngestionGoesOn) {
  Env env;
  auto planned = env.prepare();
  ASSERT_TRUE(planned->prepared.get() != nullptr);
  env.clock.advance(1min);
  env.ingest("0644444444");
  env.ingest("0655555555");
  RunOutcome outcome = env.commitPrepared(planned.get());
  EXPECT_TRUE(outcome.fromSnapshot);
  EXPECT_FALSE(outcome.replanned);
  EXPECT_EQ(outcome.run.assigned, 2u);
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[0], env.leads[1]}));
  EXPECT_EQ(env.statut(env.leads[0]), Statut::DELIVERED);
  EXPECT_EQ(env.statut(env.leads[2]), Statut::NEW);
  EXPECT_EQ(env.audit(), "");  // the counters recounted from the records: none lost

  // Asked again: done.
  auto again = env.prepare();
  EXPECT_FALSE(again->scope.toRun.has_value());
  EXPECT_TRUE(env.commitPrepared(again.get()).alreadyDone);
}

// The same with the run's writes spilled to files every few writes (a million leads' worth of
// writes does that every 64 MiB): the same commit, the audit as clean.
TEST(RunOffWriterTest, APreparedRunSpilledToFilesIsCommittedAsWritten) {
  setRunSpillBytes(256);
  KJ_DEFER(setRunSpillBytes(size_t{64} << 20));
  Env env;
  auto planned = env.prepare();
  ASSERT_TRUE(planned->prepared.get() != nullptr);
  size_t files = 0;  // the run's files wait for the commit, the spills are gone
  for (auto& e : std::filesystem::directory_iterator(env.dir / "db/ingest")) {
    EXPECT_EQ(e.path().extension(), ".sst");
    ++files;
  }
  EXPECT_GT(files, 3u);
  env.ingest("0644444444");
  RunOutcome outcome = env.commitPrepared(planned.get());
  EXPECT_TRUE(outcome.fromSnapshot);
  EXPECT_TRUE(std::filesystem::is_empty(env.dir / "db/ingest"));
  EXPECT_EQ(outcome.run.assigned, 2u);
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[0], env.leads[1]}));
  EXPECT_EQ(env.statut(env.leads[0]), Statut::DELIVERED);
  EXPECT_EQ(env.audit(), "");
}

// Anything else written since the snapshot: the prepared writes are dropped, never committed;
// the plan is checked (and here, made again) on the current state.
TEST(RunOffWriterTest, AnotherWriteSinceTheSnapshotDropsThePreparedWrites) {
  Env env;
  auto planned = env.prepare();
  env.write([&](Txn& t) {
    KJ_IF_MAYBE (k, getCommande(t, Entity::ZR7, env.commande)) {
      k->quotaSemaine = 1;
      setCommande(t, *k);
    }
  });
  RunOutcome outcome = env.commitPrepared(planned.get());
  EXPECT_FALSE(outcome.fromSnapshot);
  EXPECT_TRUE(outcome.replanned);
  EXPECT_EQ(env.assigned(outcome), std::vector<std::string>{env.leads[0]});  // the new quota
  EXPECT_EQ(env.statut(env.leads[1]), Statut::NEW);  // as prepared it was delivered: dropped
  EXPECT_EQ(env.audit(), "");
}

// A write that changes nothing the plan read still costs the prepared writes, not the plan.
TEST(RunOffWriterTest, AnUnrelatedWriteKeepsThePlanButNotThePreparedWrites) {
  Env env;
  auto planned = env.prepare();
  env.write([&](Txn& t) { t.putSystem("something else", "1"); });
  RunOutcome outcome = env.commitPrepared(planned.get());
  EXPECT_FALSE(outcome.fromSnapshot);
  EXPECT_FALSE(outcome.replanned) << outcome.staleBecause;
  EXPECT_EQ(env.assigned(outcome), (std::vector<std::string>{env.leads[0], env.leads[1]}));
  EXPECT_EQ(env.audit(), "");
}

}  // namespace
}  // namespace rdz
