// rdzd's metrics in-process (daemon/service/metrics.h): the hooks move the counters once a write
// is synced and never for an undone job; the batches gauge kept in step with every transition
// equals a fresh count of the store; the families and their order; metrics_listen parsing.
//
// The registry is the process's: these tests compare values before and after, never absolute
// values (other tests in this binary count into it too).
#include "daemon/service/metrics.h"

#include <gtest/gtest.h>
#include <kj/debug.h>

#include <map>
#include <sstream>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/service/config.h"
#include "daemon/service/operations.h"
#include "daemon/service/run.h"
#include "daemon/service/sender.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

// "name{labels}" -> value, from an exposition.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> values;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return values;
}

std::map<std::string, double> scrape() { return parse(metrics().render(StoreSize{})); }

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
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);

  SubmitAnswer ingest(Submission fields, std::string key = "") {
    SubmitAnswer answer;
    writes->runSync([&](Txn& txn) {
      answer = ingestLead(
          txn, ids,
          {Entity::ZR7, kj::mv(fields), kj::mv(key), clock.now(), false, "test", "label:test"});
    });
    return answer;
  }
};

TEST(MetricsTest, SubmissionsCountOnceSyncedAndNeverForAnUndoneJob) {
  Env env;
  auto before = scrape();
  auto delta = [&](const std::string& series) { return scrape()[series] - before[series]; };
  const std::string NEW = "rdz_leads_received_total{entity=\"ZR7\",statut=\"new\"}";
  const std::string INVALID = "rdz_leads_received_total{entity=\"ZR7\",statut=\"invalid\"}";
  const std::string ACKED = "rdz_submissions_acknowledged_total{entity=\"ZR7\"}";
  const std::string REFUSED = "rdz_submissions_refused_total{entity=\"ZR7\"}";
  const std::string RECORDS = "rdz_idempotency_records";

  SubmitAnswer first = env.ingest(lead("0611111111"), "key-1");
  ASSERT_TRUE(first.refused.empty());
  EXPECT_EQ(delta(NEW), 1);
  EXPECT_EQ(delta(ACKED), 1);
  EXPECT_EQ(delta(RECORDS), 1);

  EXPECT_EQ(env.ingest(lead("0611111111"), "key-1"), first);  // the first answer again
  EXPECT_EQ(delta(NEW), 1);
  EXPECT_EQ(delta(ACKED), 2);
  EXPECT_EQ(delta(RECORDS), 1);

  EXPECT_FALSE(env.ingest(lead("0622222222"), "key-1").refused.empty());  // another body
  EXPECT_EQ(delta(REFUSED), 1);
  EXPECT_EQ(delta(ACKED), 2);

  Submission noPhone = lead("");
  EXPECT_EQ(env.ingest(noPhone).statut, Statut::INVALID);
  EXPECT_EQ(delta(INVALID), 1);
  EXPECT_EQ(delta(ACKED), 3);

  // A job that stores a lead and then fails is undone with everything it counted.
  EXPECT_THROW(env.writes->runSync([&](Txn& txn) {
    ingestLead(
        txn, env.ids,
        {Entity::ZR7, lead("0633333333"), "key-2", env.clock.now(), false, "test", "label:test"});
    KJ_FAIL_REQUIRE("the job fails after storing");
  }),
               kj::Exception);
  EXPECT_EQ(delta(NEW), 1);
  EXPECT_EQ(delta(ACKED), 3);
  EXPECT_EQ(delta(RECORDS), 1);
  EXPECT_EQ(scrape()["rdz_leads_received_total{entity=\"MDL\",statut=\"new\"}"],
            before["rdz_leads_received_total{entity=\"MDL\",statut=\"new\"}"]);

  // Past retention the record is purged, and the gauge follows.
  env.clock.advance(24h * 9);
  size_t purged = 0;
  env.writes->runSync([&](Txn& txn) { purged = purgeIdempotencyKeys(txn, env.clock.now(), 100); });
  EXPECT_EQ(purged, 1u);
  EXPECT_EQ(delta(RECORDS), 0);
}

TEST(MetricsTest, EverySyncedGroupIsObservedAndAnEmptyGroupStillCounts) {
  Env env;
  auto before = scrape();
  auto delta = [&](const std::string& series) { return scrape()[series] - before[series]; };
  bool ran = false;
  // Nothing to write: no synced commit, but what the job counts still holds.
  env.writes->runSync([&](Txn& txn) { txn.afterCommit([&ran]() { ran = true; }); });
  EXPECT_TRUE(ran);
  EXPECT_EQ(delta("rdz_commit_group_size_count"), 0);
  env.writes->runSync([](Txn& txn) { txn.putSystem("Xmetrics", "1"); });
  EXPECT_EQ(delta("rdz_commit_group_size_count"), 1);
  EXPECT_EQ(delta("rdz_commit_group_size_bucket{le=\"1\"}"), 1);
  EXPECT_EQ(delta("rdz_commit_group_size_sum"), 1);
  EXPECT_EQ(delta("rdz_commit_sync_seconds_count"), 1);
  EXPECT_EQ(scrape()["rdz_write_queue_depth"], 0);
}

// The batches gauge is a startup count plus every transition since; after a run, failures,
// retries and successes it must equal a fresh count of the store.
TEST(MetricsTest, BatchesGaugeKeptInStepEqualsAFreshCount) {
  Env env;
  Config config;
  std::map<std::string, int> failuresFor = {{"a@solaire.example", 1}};
  Sender sender(
      *env.store, *env.writes, config, env.clock,
      [&](const SmtpConfig&, const std::string&, const Mail& mail) {
        SendResult r;
        if (failuresFor[mail.to.at(0)]-- > 0) {
          r.detail = "connection refused";
          return r;
        }
        r.ok = true;
        r.code = 250;
        return r;
      },
      false);
  env.writes->runSync([&](Txn& t) {
    for (auto [id, entity] : {std::pair{"solaire", Entity::ZR7}, std::pair{"isol", Entity::MDL}}) {
      Client c;
      c.id = id;
      c.entity = entity;
      c.nom = id;
      c.emails = {std::string(id == std::string("solaire") ? "a" : "b") + "@" + id + ".example"};
      addClient(t, c, env.clock.now());
      Commande k;
      k.client = id;
      k.produit = "PV";
      k.quotaSemaine = entity == Entity::ZR7 ? 1 : 5;  // the rest goes to isol by fallback
      k.fallback = true;
      addCommande(t, k, env.clock.now());
    }
  });
  for (auto phone : {"0611111111", "0622222222", "0633333333"}) env.ingest(lead(phone));

  Metrics counted;  // what a restarted rdzd would count, compared with the gauge's movement
  counted.loadFromStore(*env.store);
  auto gauge = [](const std::map<std::string, double>& m, std::string_view entity,
                  std::string_view status) {
    auto it = m.find("rdz_batches{entity=\"" + std::string(entity) + "\",status=\"" +
                     std::string(status) + "\"}");
    return it == m.end() ? 0.0 : it->second;
  };
  auto before = scrape();
  auto base = parse(counted.render(StoreSize{}));
  auto check = [&](const char* when) {
    Metrics fresh;
    fresh.loadFromStore(*env.store);
    auto now = scrape();
    auto expected = parse(fresh.render(StoreSize{}));
    for (auto entity : {"ZR7", "MDL"}) {
      for (auto status : {"pending", "sent", "failed"}) {
        EXPECT_EQ(gauge(now, entity, status) - gauge(before, entity, status),
                  gauge(expected, entity, status) - gauge(base, entity, status))
            << when << " " << entity << " " << status;
      }
    }
    return expected;
  };

  RunParams params =
      runParams(RunSettings{}, "2026-11-25", std::nullopt, std::nullopt, env.clock.now());
  RunOutcome outcome;
  env.writes->runSync([&](Txn& t) { outcome = executeRun(t, env.ids, params, env.clock.now()); });
  ASSERT_EQ(outcome.batches.size(), 2u);
  auto afterRun = check("after the run");
  EXPECT_EQ(gauge(afterRun, "ZR7", "pending") + gauge(afterRun, "MDL", "pending"), 2);

  EXPECT_EQ(sender.sendDue(), 2u);  // solaire fails once, isol goes out
  auto afterFirst = check("after the first attempts");
  EXPECT_EQ(gauge(afterFirst, "ZR7", "failed"), 1);
  EXPECT_EQ(gauge(afterFirst, "MDL", "sent"), 1);

  env.clock.advance(1min);
  EXPECT_EQ(sender.sendDue(), 1u);
  auto afterRetry = check("after the retry");
  EXPECT_EQ(gauge(afterRetry, "ZR7", "failed"), 0);
  EXPECT_EQ(gauge(afterRetry, "ZR7", "sent"), 1);

  // The same run asked again: counted as already done, nothing allocated.
  auto runsBefore = scrape();
  env.writes->runSync([&](Txn& t) { executeRun(t, env.ids, params, env.clock.now()); });
  auto runsAfter = scrape();
  const std::string ALREADY = "rdz_runs_total{scope=\"all\",outcome=\"already_done\"}";
  EXPECT_EQ(runsAfter[ALREADY] - runsBefore[ALREADY], 1);
  check("after the second run");
}

TEST(MetricsTest, FamiliesInOrderWithHelpAndType) {
  Metrics fresh;
  std::string text = fresh.render(StoreSize{1234, 56});
  std::vector<std::string> families;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# TYPE ")) families.push_back(line.substr(7));
  }
  EXPECT_EQ(families, (std::vector<std::string>{
                          "rdz_leads_received_total counter",
                          "rdz_submissions_acknowledged_total counter",
                          "rdz_submissions_refused_total counter",
                          "rdz_write_queue_depth gauge",
                          "rdz_commit_group_size histogram",
                          "rdz_commit_sync_seconds histogram",
                          "rdz_runs_total counter",
                          "rdz_run_duration_seconds histogram",
                          "rdz_batches gauge",
                          "rdz_send_attempts_total counter",
                          "rdz_idempotency_records gauge",
                          "rdz_store_bytes gauge",
                          "rdz_process_start_time_seconds gauge",
                      }));
  auto values = parse(text);
  EXPECT_EQ(values["rdz_store_bytes{kind=\"live_sst\"}"], 1234);
  EXPECT_EQ(values["rdz_store_bytes{kind=\"wal\"}"], 56);
  // A lead is received new or invalid: the other statuts are not listed while they never occur.
  EXPECT_EQ(values.count("rdz_leads_received_total{entity=\"MDL\",statut=\"invalid\"}"), 1u);
  EXPECT_EQ(values.count("rdz_leads_received_total{entity=\"MDL\",statut=\"delivered\"}"), 0u);
  fresh.setStartTime(std::chrono::system_clock::time_point(std::chrono::milliseconds(1500)));
  EXPECT_EQ(parse(fresh.render({}))["rdz_process_start_time_seconds"], 1.5);
}

std::optional<Config> configWith(std::vector<std::string> args) {
  std::vector<const char*> argv = {"rdzd"};
  for (auto& a : args) argv.push_back(a.c_str());
  return parseConfig(static_cast<int>(argv.size()), argv.data());
}

TEST(MetricsTest, MetricsListenTakesAPortOrAnAddress) {
  EXPECT_EQ(configWith({})->metricsListen, "");  // unset: no listener
  EXPECT_EQ(configWith({"--metrics_listen", ""})->metricsListen, "");
  EXPECT_EQ(configWith({"--metrics_listen", "9464"})->metricsListen, "127.0.0.1:9464");
  EXPECT_EQ(configWith({"--metrics_listen", ":9464"})->metricsListen, "127.0.0.1:9464");
  EXPECT_EQ(configWith({"--metrics_listen", "0.0.0.0:9464"})->metricsListen, "0.0.0.0:9464");
  EXPECT_EQ(configWith({"--metrics_listen", "[::1]:9464"})->metricsListen, "[::1]:9464");
  EXPECT_EQ(configWith({"--metrics_listen", "localhost:80"})->metricsListen, "localhost:80");
  for (std::string bad : {"x", "0", "65536", "host:", "::1:9464", ":", "9464:"}) {
    try {
      configWith({"--metrics_listen", bad});
      ADD_FAILURE() << "accepted metrics_listen " << bad;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("metrics_listen"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace rdz
