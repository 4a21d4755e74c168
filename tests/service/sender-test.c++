// The Sender driven by a manual clock: what a run commits goes out once, in the receiving
// entity's format, and a failure is retried on the schedule of SPEC §5.7 — no waiting.
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <map>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/service/operations.h"
#include "daemon/service/run.h"
#include "daemon/service/sender.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/faulty-store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

Submission lead(std::string phone, std::string cp = "33000") {
  return {{"produit", "PV"},       {"nom", "Martin"},  {"prenom", "Zoé"},
          {"telephone", phone},    {"code_postal", cp}, {"consentement", "oui"},
          {"proprietaire", "oui"}, {"type_logement", "maison"}};
}

struct Env {
  test::TempDir dir;
  std::unique_ptr<test::FaultyStore> store =
      std::make_unique<test::FaultyStore>(Store::open(dir / "db"));
  // Wednesday 2026-11-25 08:00 Paris: before that day's 09:30 run.
  ManualClock clock{Timestamp(std::chrono::seconds(1795590000))};
  IdGenerator ids;
  Config config;
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);
  std::vector<Mail> sent;
  std::map<std::string, int> failuresFor;  // recipient -> attempts still to fail
  std::unique_ptr<Sender> sender = std::make_unique<Sender>(
      *store, *writes, config, clock,
      [this](const SmtpConfig&, const std::string&, const Mail& mail) {
        SendResult r;
        int& failures = failuresFor[mail.to.at(0)];
        if (failures > 0) {
          --failures;
          r.detail = "connection refused";
          return r;
        }
        r.ok = true;
        r.code = 250;
        sent.push_back(mail);
        return r;
      },
      false);

  void write(kj::Function<void(Txn&)> job) { writes->runSync(kj::mv(job)); }

  Env() {
    write([&](Txn& t) {
      Client a;
      a.id = "solaire";
      a.entity = Entity::ZR7;
      a.nom = "Solaire";
      a.emails = {"a@solaire.example"};
      addClient(t, a, clock.now());
      Client b = a;
      b.id = "isol";
      b.entity = Entity::MDL;
      b.nom = "Isol";
      b.emails = {"b@isol.example"};
      addClient(t, b, clock.now());
      Commande ca;
      ca.client = "solaire";
      ca.produit = "PV";
      ca.quotaSemaine = 1;
      addCommande(t, ca, clock.now());
      Commande cb = ca;
      cb.client = "isol";
      cb.quotaSemaine = 5;
      cb.fallback = true;
      addCommande(t, cb, clock.now());
      for (auto phone : {"0611111111", "0622222222"}) {
        ingestLead(t, ids, {Entity::ZR7, lead(phone), "", clock.now(), false, "test"});
      }
    });
  }

  RunOutcome run() {
    RunOutcome outcome;
    RunParams params = runParams(RunSettings{}, "2026-11-25", std::nullopt, std::nullopt,
                                 clock.now());
    write([&](Txn& t) { outcome = executeRun(t, ids, params, clock.now()); });
    return outcome;
  }

  Batch batch(Entity e, const std::string& id) {
    KJ_IF_MAYBE(b, getBatch(*store, e, id)) { return *b; }
    KJ_FAIL_ASSERT("no batch", id);
  }
};

TEST(SenderTest, ARunGoesOutOnceInEachClientsFormat) {
  Env env;
  RunOutcome outcome = env.run();
  ASSERT_EQ(outcome.batches.size(), 2u);  // one lead to solaire, the other by fallback to isol
  EXPECT_EQ(env.sender->sendDue(), 2u);
  ASSERT_EQ(env.sent.size(), 2u);
  EXPECT_EQ(env.sender->sendDue(), 0u);  // nothing due any more: sent once
  for (auto& mail : env.sent) {
    ASSERT_EQ(mail.attachments.size(), 1u);
    bool zr7 = mail.to == std::vector<std::string>{"a@solaire.example"};
    EXPECT_EQ(mail.attachments[0].filename,
              zr7 ? "ZR7_solaire_PV_2026-11-25.csv" : "MDL_isol_PV_2026-11-25.csv");
    // The ZR7 lead given to MDL by fallback arrives in MDL's 8 columns.
    EXPECT_EQ(mail.attachments[0].content.substr(3, mail.attachments[0].content.find("\r\n") - 3),
              zr7 ? "nom;prenom;telephone;email;code_postal;ville;proprietaire_maison"
                  : "nom;prenom;telephone;email;code_postal;ville;proprietaire;type_logement");
  }
  for (auto& b : outcome.batches) {
    EXPECT_EQ(env.batch(b.entity, b.id).status, BatchStatus::SENT);
    bool found = false;
    for (auto& mail : env.sent) found = found || mail.messageId.starts_with("<" + b.id + "@");
    EXPECT_TRUE(found) << "Message-ID of batch " << b.id;
  }
  KJ_IF_MAYBE(run, getRun(*env.store, "2026-11-25")) {
    EXPECT_EQ(withLiveStatus(*env.store, *run).status, "complete");
  } else {
    FAIL();
  }
}

// The resend storm: an SMTP 250 followed by a failed outcome write (a WAL sync that returned EIO)
// must not send the batch again; the write alone is retried until it commits.
TEST(SenderTest, AFailedOutcomeWriteIsRetriedAloneNeverTheSend) {
  Env env;
  RunOutcome outcome = env.run();
  ASSERT_EQ(outcome.batches.size(), 2u);
  env.store->failCommits = 3;  // the first batch's outcome write fails three times
  EXPECT_EQ(env.sender->sendDue(), 2u);
  EXPECT_EQ(env.store->failedCommits.load(), 3);
  EXPECT_EQ(env.sender->outcomeWriteFailures(), 3u);
  EXPECT_EQ(env.sent.size(), 2u);  // each batch once
  for (auto& b : outcome.batches) {
    EXPECT_EQ(env.batch(b.entity, b.id).status, BatchStatus::SENT);
    EXPECT_EQ(env.batch(b.entity, b.id).attempts, 1u);
  }
  EXPECT_EQ(env.sender->sendDue(), 0u);
  EXPECT_EQ(env.sent.size(), 2u);
}

TEST(SenderTest, AFailedBatchIsRetriedOnScheduleAndItsLeadsStayAssigned) {
  Env env;
  env.failuresFor["a@solaire.example"] = 2;
  RunOutcome outcome = env.run();
  const Batch& first = outcome.batches[0];
  ASSERT_EQ(first.client, "solaire");
  env.sender->sendDue();
  Batch b = env.batch(first.entity, first.id);
  EXPECT_EQ(b.status, BatchStatus::FAILED);
  ASSERT_TRUE(b.nextAttempt.has_value());
  EXPECT_EQ(*b.nextAttempt, env.clock.now() + 1min);
  EXPECT_EQ(b.lastError, "connection refused");

  env.clock.advance(1min - 1s);
  EXPECT_EQ(env.sender->sendDue(), 0u);  // not yet
  env.clock.advance(1s);
  EXPECT_EQ(env.sender->sendDue(), 1u);  // second failure: next in 5 minutes
  EXPECT_EQ(env.sent.size(), 1u);          // (isol's batch went out at the first attempt)
  b = env.batch(first.entity, first.id);
  EXPECT_EQ(*b.nextAttempt, env.clock.now() + 5min);
  EXPECT_EQ(b.attempts, 2u);

  env.clock.advance(5min);
  EXPECT_EQ(env.sender->sendDue(), 1u);  // now it goes through
  b = env.batch(first.entity, first.id);
  EXPECT_EQ(b.status, BatchStatus::SENT);
  EXPECT_FALSE(b.nextAttempt.has_value());
  EXPECT_EQ(b.attempts, 3u);
  EXPECT_EQ(b.responses.size(), 3u);
  // Its leads were never re-allocated: a second run of the date is the same run.
  EXPECT_TRUE(env.run().alreadyDone);
  EXPECT_EQ(leadIdsByStatus(*env.store, Entity::ZR7, Statut::DELIVERED).size(), 2u);
}

TEST(SenderTest, RetriesStopAfterThreeDaysAndTheBatchStaysFailed) {
  Env env;
  env.failuresFor["a@solaire.example"] = 100;
  env.failuresFor["b@isol.example"] = 100;
  RunOutcome outcome = env.run();
  uint32_t attempts = 0;
  for (int i = 0; i < 40; ++i) {
    attempts += env.sender->sendDue();
    env.clock.advance(6h);
  }
  // Per batch: the first attempt, 1/5/15/60 min, then 12 six-hourly retries = 17 attempts.
  EXPECT_EQ(attempts, 2u * 17u);
  for (auto& b : outcome.batches) {
    Batch stored = env.batch(b.entity, b.id);
    EXPECT_EQ(stored.status, BatchStatus::FAILED);
    EXPECT_FALSE(stored.nextAttempt.has_value());
    EXPECT_EQ(stored.attempts, 17u);
  }
  EXPECT_TRUE(env.sent.empty());
}

}  // namespace
}  // namespace rdz
