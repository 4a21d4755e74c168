// rdzd's metrics listener end to end (SPEC §11): the real rdzd with `metrics_listen`, scraped over
// a real socket (libcurl) before and after real work — submissions through the ingest tokens, a
// delivery run whose batch goes to a real SMTP server (python3-aiosmtpd) — and the deltas checked
// exactly. A restart shows the gauges counted again from the store; without `metrics_listen`
// rdzd listens on no TCP port at all.
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/domain/time.h"
#include "tests/e2e/harness.h"
#include "tests/support/http.h"
#include "tests/support/smtp.h"

namespace rdz::e2e {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using Values = std::map<std::string, double>;  // "name{labels}" -> value

Values parseExposition(const std::string& text) {
  Values values;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) throw std::runtime_error("not a sample line: " + line);
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return values;
}

double valueOf(const Values& values, const std::string& series) {
  auto it = values.find(series);
  if (it == values.end()) throw std::runtime_error("no series " + series);
  return it->second;
}

Args leadFields(const std::string& phone) {
  return {"produit=PV",        "nom=Martin",       "prenom=Zoé",       "telephone=" + phone,
          "code_postal=33000", "consentement=oui", "proprietaire=oui", "type_logement=maison"};
}

// The TCP ports process `pid` listens on (from /proc: its socket inodes in LISTEN state).
std::set<int> listeningPorts(pid_t pid) {
  std::set<std::string> inodes;
  std::string fdDir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(fdDir.c_str());
  if (dir == nullptr) throw std::runtime_error("cannot read " + fdDir);
  while (dirent* entry = ::readdir(dir)) {
    char target[256] = {};
    std::string link = fdDir + "/" + entry->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    std::string text(target, n > 0 ? static_cast<size_t>(n) : 0);
    if (text.starts_with("socket:[")) inodes.insert(text.substr(8, text.size() - 9));
  }
  ::closedir(dir);
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state == "0A" && inodes.count(inode) > 0) {  // 0A: LISTEN
        ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
      }
    }
  }
  return ports;
}

class MetricsE2e : public E2eTest {
 protected:
  MetricsE2e() {
    while (mdlSmtpPort_ == zr7SmtpPort_) mdlSmtpPort_ = test::freePort();
    while (metricsPort_ == zr7SmtpPort_ || metricsPort_ == mdlSmtpPort_) {
      metricsPort_ = test::freePort();
    }
  }
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--metrics_listen", "127.0.0.1:" + std::to_string(metricsPort_),
            "--zr7.smtp.port",  std::to_string(zr7SmtpPort_),
            "--mdl.smtp.port",  std::to_string(mdlSmtpPort_)};
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(metricsPort_) + path;
  }

  // GET /metrics: its text, checked to be an exposition.
  std::string scrapeText() {
    test::HttpResult r = test::http("GET", url("/metrics"));
    if (r.code != 200) throw std::runtime_error("scrape: " + test::describe(r));
    EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }
  Values scrape() { return parseExposition(scrapeText()); }

  // Scrapes until `series` is at least `value` (an outcome is recorded a moment after the
  // message is accepted), at most 10 s; returns the last scrape.
  Values scrapeWhen(const std::string& series, double value) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    Values values = scrape();
    while (valueOf(values, series) < value && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      values = scrape();
    }
    return values;
  }

  RunResult submit(const std::string& slug, const Args& fields, const std::string& key = "") {
    Args args = {"lead", "submit", "--entity", slug == "zr7" ? "ZR7" : "MDL"};
    if (!key.empty()) args.insert(args.end(), {"--idempotency-key", key});
    args.insert(args.end(), fields.begin(), fields.end());
    return ctlAs(ingestTokenFile(slug), args);
  }

  int zr7SmtpPort_ = test::freePort();
  int mdlSmtpPort_ = test::freePort();
  int metricsPort_ = test::freePort();
};

const std::string RECEIVED_ZR7_NEW = "rdz_leads_received_total{entity=\"ZR7\",statut=\"new\"}";
const std::string RECEIVED_ZR7_INVALID =
    "rdz_leads_received_total{entity=\"ZR7\",statut=\"invalid\"}";
const std::string RECEIVED_MDL_NEW = "rdz_leads_received_total{entity=\"MDL\",statut=\"new\"}";
const std::string ACKED_ZR7 = "rdz_submissions_acknowledged_total{entity=\"ZR7\"}";
const std::string ACKED_MDL = "rdz_submissions_acknowledged_total{entity=\"MDL\"}";
const std::string REFUSED_ZR7 = "rdz_submissions_refused_total{entity=\"ZR7\"}";
const std::string SENT_ZR7 = "rdz_batches{entity=\"ZR7\",status=\"sent\"}";
const std::string PENDING_ZR7 = "rdz_batches{entity=\"ZR7\",status=\"pending\"}";
const std::string FAILED_ZR7 = "rdz_batches{entity=\"ZR7\",status=\"failed\"}";
const std::string ATTEMPTS_OK =
    "rdz_send_attempts_total{entity=\"ZR7\",methode=\"email\",outcome=\"ok\"}";
const std::string RUNS_COMMITTED = "rdz_runs_total{scope=\"all\",outcome=\"committed\"}";
const std::string RUNS_ALREADY = "rdz_runs_total{scope=\"all\",outcome=\"already_done\"}";
const std::string RECORDS = "rdz_idempotency_records";
const std::string GROUPS = "rdz_commit_group_size_count";

TEST_F(MetricsE2e, ScrapesCountWhatWasSubmittedAndDelivered) {
  auto smtp = test::PythonServer::mailbox(tmp_, zr7SmtpPort_, tmp_ / "mail-ZR7");
  ASSERT_TRUE(smtp->running());
  std::string text = scrapeText();
  for (auto family :
       {"rdz_leads_received_total counter", "rdz_submissions_acknowledged_total counter",
        "rdz_submissions_refused_total counter", "rdz_write_queue_depth gauge",
        "rdz_commit_group_size histogram", "rdz_commit_sync_seconds histogram",
        "rdz_runs_total counter", "rdz_run_duration_seconds histogram", "rdz_batches gauge",
        "rdz_send_attempts_total counter", "rdz_idempotency_records gauge", "rdz_store_bytes gauge",
        "rdz_process_start_time_seconds gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
  }
  Values before = parseExposition(text);
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  EXPECT_GT(valueOf(before, "rdz_process_start_time_seconds"), now.count() - 120);
  EXPECT_LE(valueOf(before, "rdz_process_start_time_seconds"), now.count() + 1);

  ASSERT_EQ(ctlOk({"client", "add", "--entity", "ZR7", "--id", "solaire", "--nom", "Solaire",
                   "--email", "leads@solaire.example"}),
            "solaire");
  ctlOk({"commande", "add", "--client", "solaire", "--produit", "PV", "--quota-semaine", "10",
         "--jours", "lun,mar,mer,jeu,ven,sam,dim"});

  // ZR7: two valid leads (one with a key), an invalid one (no phone), the keyed one again (the
  // first answer, nothing stored), and the key with another body (refused). MDL: one valid lead.
  RunResult first = submit("zr7", leadFields("0611111111"), "form-1");
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  ASSERT_EQ(submit("zr7", leadFields("0622222222")).exitCode, 0);
  Args noPhone = leadFields("");
  noPhone.erase(noPhone.begin() + 3);
  RunResult invalid = submit("zr7", noPhone);
  ASSERT_EQ(invalid.exitCode, 0) << describe(invalid);
  EXPECT_NE(invalid.out.find("invalid"), std::string::npos) << invalid.out;
  RunResult again = submit("zr7", leadFields("0611111111"), "form-1");
  ASSERT_EQ(again.exitCode, 0) << describe(again);
  EXPECT_EQ(again.out, first.out);
  RunResult refused = submit("zr7", leadFields("0633333333"), "form-1");
  EXPECT_NE(refused.exitCode, 0) << describe(refused);
  EXPECT_NE(refused.err.find("refused"), std::string::npos) << refused.err;
  ASSERT_EQ(submit("mdl", leadFields("0644444444")).exitCode, 0);

  Values submitted = scrape();
  auto delta = [&](const Values& after, const std::string& series) {
    return valueOf(after, series) - valueOf(before, series);
  };
  EXPECT_EQ(delta(submitted, RECEIVED_ZR7_NEW), 2);
  EXPECT_EQ(delta(submitted, RECEIVED_ZR7_INVALID), 1);
  EXPECT_EQ(delta(submitted, RECEIVED_MDL_NEW), 1);
  EXPECT_EQ(delta(submitted, ACKED_ZR7), 4);
  EXPECT_EQ(delta(submitted, ACKED_MDL), 1);
  EXPECT_EQ(delta(submitted, REFUSED_ZR7), 1);
  EXPECT_EQ(delta(submitted, RECORDS), 1);
  // client, commande and four stored leads: six writing jobs, each in its own synced commit at
  // least (rdzctl waits for each answer).
  EXPECT_GE(delta(submitted, GROUPS), 6);
  EXPECT_GE(delta(submitted, "rdz_commit_group_size_sum"), 6);
  EXPECT_EQ(valueOf(submitted, "rdz_commit_group_size_bucket{le=\"+Inf\"}"),
            valueOf(submitted, GROUPS));
  EXPECT_EQ(delta(submitted, "rdz_commit_sync_seconds_count"), delta(submitted, GROUPS));
  EXPECT_EQ(valueOf(submitted, "rdz_write_queue_depth"), 0);
  EXPECT_GT(valueOf(submitted, "rdz_store_bytes{kind=\"wal\"}"), 0);

  // A run a minute ahead, so that every lead above was received before it.
  std::string at =
      formatIso(std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now() + 1min));
  RunResult run = ctl({"deliver", "--at", at, "--force", "--wait", "20"});
  ASSERT_EQ(run.exitCode, 0) << describe(run);
  test::waitForMaildirFiles(tmp_ / "mail-ZR7", 1, 10s);
  Values delivered = scrapeWhen(SENT_ZR7, valueOf(before, SENT_ZR7) + 1);
  EXPECT_EQ(delta(delivered, RUNS_COMMITTED), 1);
  EXPECT_EQ(delta(delivered, "rdz_run_duration_seconds_count"), 1);
  EXPECT_EQ(delta(delivered, SENT_ZR7), 1);  // one client, one batch, sent
  EXPECT_EQ(delta(delivered, PENDING_ZR7), 0);
  EXPECT_EQ(delta(delivered, FAILED_ZR7), 0);
  EXPECT_EQ(delta(delivered, ATTEMPTS_OK), 1);
  EXPECT_EQ(delta(delivered,
                  "rdz_send_attempts_total{entity=\"ZR7\",methode=\"email\","
                  "outcome=\"failed\"}"),
            0);
  EXPECT_GT(delta(delivered, GROUPS), delta(submitted, GROUPS));  // the run and its outcome
  // Submissions did not move meanwhile.
  EXPECT_EQ(delta(delivered, ACKED_ZR7), 4);
  EXPECT_EQ(delta(delivered, RECEIVED_ZR7_NEW), 2);

  // The same run asked again: already done, nothing sent again.
  ASSERT_EQ(ctl({"deliver", "--at", at, "--force", "--wait", "20"}).exitCode, 0);
  Values repeated = scrape();
  EXPECT_EQ(delta(repeated, RUNS_ALREADY), 1);
  EXPECT_EQ(delta(repeated, RUNS_COMMITTED), 1);
  EXPECT_EQ(delta(repeated, ATTEMPTS_OK), 1);
  EXPECT_EQ(delta(repeated, SENT_ZR7), 1);

  // Restarted, rdzd counts the batches and the idempotency records again from the store; the
  // counters of events start over.
  daemon_->restart();
  Values restarted = scrape();
  EXPECT_EQ(valueOf(restarted, SENT_ZR7), 1);
  EXPECT_EQ(valueOf(restarted, PENDING_ZR7), 0);
  EXPECT_EQ(valueOf(restarted, FAILED_ZR7), 0);
  EXPECT_EQ(valueOf(restarted, "rdz_batches{entity=\"MDL\",status=\"sent\"}"), 0);
  EXPECT_EQ(valueOf(restarted, RECORDS), 1);
  EXPECT_EQ(valueOf(restarted, RECEIVED_ZR7_NEW), 0);
  EXPECT_EQ(valueOf(restarted, ATTEMPTS_OK), 0);
  EXPECT_GT(valueOf(restarted, "rdz_store_bytes{kind=\"wal\"}") +
                valueOf(restarted, "rdz_store_bytes{kind=\"live_sst\"}"),
            0);
  EXPECT_NE(daemon_->log().find("metrics on " + url("/metrics")), std::string::npos);
}

TEST_F(MetricsE2e, OnlyGetMetricsIsServed) {
  EXPECT_EQ(test::http("GET", url("/")).code, 404);
  EXPECT_EQ(test::http("GET", url("/healthz")).code, 404);
  EXPECT_EQ(test::http("GET", url("/metrics/x")).code, 404);
  test::HttpResult post = test::http("POST", url("/metrics"), "x");
  EXPECT_EQ(post.code, 405);
  EXPECT_EQ(post.headers["allow"], "GET");
  test::HttpResult query = test::http("GET", url("/metrics?name=x"));
  EXPECT_EQ(query.code, 200);
  // Served on loopback only: the configured address, nothing else.
  EXPECT_EQ(listeningPorts(daemon_->pid()), std::set<int>{metricsPort_});
}

// Without metrics_listen, rdzd opens no TCP port (the socket is a Unix one).
class NoMetricsE2e : public E2eTest {};

TEST_F(NoMetricsE2e, NoListenerWhenUnset) {
  ctlOk({"client", "list"});  // rdzd serves
  EXPECT_TRUE(listeningPorts(daemon_->pid()).empty());
  EXPECT_EQ(daemon_->log().find("metrics on"), std::string::npos) << daemon_->log();
}

TEST(MetricsConfigE2e, ABadAddressStopsRdzdWithTheReason) {
  test::TempDir tmp;
  for (std::string bad : {"metrics", "70000", "127.0.0.1:"}) {
    RunResult r = runProgram(RDZD_PATH, {"--data_dir", tmp / "data", "--metrics_listen", bad});
    EXPECT_EQ(r.exitCode, 2) << bad << ": " << describe(r);
    EXPECT_NE(r.err.find("metrics_listen must be PORT, :PORT or host:port"), std::string::npos)
        << r.err;
  }
}

// Bound off loopback, rdzd says in its log that the counters are open to whoever reaches them.
TEST(MetricsConfigE2e, OffLoopbackIsServedAndSaidSo) {
  test::TempDir tmp;
  int port = test::freePort();
  Daemon rdzd(tmp.path(),
              {"--data_dir", tmp / "data", "--metrics_listen", "0.0.0.0:" + std::to_string(port)},
              tmp / "data/rdzd.sock", tmp / "rdzd.log");
  rdzd.start();
  EXPECT_EQ(test::http("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics").code, 200);
  EXPECT_NE(rdzd.log().find("not loopback: anyone who reaches it reads the counters"),
            std::string::npos)
      << rdzd.log();
}

}  // namespace
}  // namespace rdz::e2e
