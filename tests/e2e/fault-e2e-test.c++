// Storage faults in the real rdzd: the fault shim (tests/faults/fault-shim.c, LD_PRELOAD) makes
// a WAL write or sync fail with EIO or ENOSPC at a chosen moment. The promises must hold: no
// acknowledged lead is lost, rdzd does not limp on refusing writes (it exits so that systemd
// restarts it), and a batch the SMTP server accepted is never sent again because its outcome
// could not be written — at most once more after the restart, with the same Message-ID.
#include <filesystem>
#include <set>
#include <thread>

#include "daemon/domain/time.h"
#include "daemon/service/daemon.h"
#include "tests/e2e/harness.h"
#include "tests/support/smtp.h"

namespace rdz::e2e {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;

Args leadFields(int n) {
  char phone[16];
  std::snprintf(phone, sizeof(phone), "06%08d", 21000000 + n);
  return {"produit=PV",      "nom=Nom" + std::to_string(n), "prenom=Léa",
          "telephone=" + std::string(phone), "code_postal=33000", "consentement=oui"};
}

class FaultE2e : public E2eTest {
 protected:
  std::vector<std::pair<std::string, std::string>> daemonEnv() const override {
    return {{"LD_PRELOAD", FAULT_SHIM_PATH}, {"RDZ_FAULT_RULES", rulesPath()}};
  }
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--zr7.smtp.port", std::to_string(smtpPort_), "--mdl.smtp.port",
            std::to_string(smtpPort_)};
  }

  std::string rulesPath() const { return tmp_ / "fault-rules"; }
  void setRules(const std::string& rules) { test::writeFile(rulesPath(), rules); }
  std::string rules() const {
    return std::filesystem::exists(rulesPath()) ? test::readFile(rulesPath()) : "";
  }

  // Submits one lead; its id when acknowledged, "" when refused or failed.
  std::string submit(int n) {
    Args args = {"--json", "lead", "submit", "--entity", "ZR7"};
    auto fields = leadFields(n);
    args.insert(args.end(), fields.begin(), fields.end());
    RunResult r = ctl(args);
    if (r.exitCode != 0) return "";
    return textAt(Json(r.out).root(), "id");
  }

  // After rdzd stopped by itself: its exit status must be the storage failure's.
  void expectStorageExit() {
    auto status = daemon_->waitForExit(20s);
    ASSERT_TRUE(status.has_value()) << "rdzd still runs after a failed commit\n" << daemon_->log();
    EXPECT_EQ(*status, EXIT_STORAGE_FAILURE) << daemon_->log();
  }

  int smtpPort_ = test::freePort();
};

struct StorageFault {
  const char* name;
  const char* rule;  // fault shim rule: the next matching call on the WAL fails
};

class WalFaultE2e : public FaultE2e, public ::testing::WithParamInterface<StorageFault> {};

TEST_P(WalFaultE2e, RdzdExitsAndEveryAcknowledgedLeadSurvives) {
  std::vector<std::string> acked;
  for (int i = 0; i < 5; ++i) {
    std::string id = submit(i);
    ASSERT_FALSE(id.empty());
    acked.push_back(id);
  }
  setRules(GetParam().rule);
  EXPECT_EQ(submit(100), "") << "a lead was acknowledged although its WAL write failed";
  expectStorageExit();
  EXPECT_NE(rules().find(" 0 "), std::string::npos) << "the fault did not fire: " << rules();

  setRules("");  // the disk is healthy again; systemd would restart rdzd
  daemon_->start();
  for (auto& id : acked) {
    EXPECT_EQ(ctl({"lead", "show", id}).exitCode, 0) << "acknowledged lead lost: " << id;
  }
  EXPECT_FALSE(submit(200).empty()) << "rdzd does not accept leads after its restart";
}

INSTANTIATE_TEST_SUITE_P(Faults, WalFaultE2e,
                         ::testing::Values(StorageFault{"SyncEio", "fdatasync .log 1 EIO\n"},
                                           StorageFault{"WriteEnospc", "write .log 1 ENOSPC\n"}),
                         [](const auto& info) { return std::string(info.param.name); });

// The resend storm: SMTP 250, then the outcome write's WAL sync fails. Before the fix the Sender
// slept a second and sent again, for as long as rdzd ran (86 copies in 60 s).
TEST_F(FaultE2e, ABatchAcceptedThenAFailedOutcomeWriteIsSentAtMostTwiceWithOneMessageId) {
  std::string maildir = tmp_ / "mail";
  auto smtp = test::PythonServer::handler(tmp_, smtpPort_, "ArmFaultOnData", maildir);
  ASSERT_TRUE(smtp->running());
  ASSERT_EQ(ctlOk({"client", "add", "--entity", "ZR7", "--id", "solaire", "--nom", "Solaire",
                   "--email", "achat@solaire.example"}),
            "solaire");
  ctlOk({"commande", "add", "--client", "solaire", "--produit", "PV", "--quota-semaine", "10",
         "--jours", "lun,mar,mer,jeu,ven,sam,dim"});
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(submit(i).empty());

  // The outcome's WAL write fails (a failed sync may still leave the record in the page cache,
  // and the reopen then finds the outcome after all: one copy only — also correct).
  test::writeFile(maildir + ".arm", rulesPath() + "\nwrite .log 1 EIO\n");
  // The leads were received a moment ago: a run at this very moment takes them.
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now() + 1s);
  std::this_thread::sleep_for(1100ms);
  RunResult run = ctl({"deliver", "--at", formatIso(now), "--wait", "20"});
  expectStorageExit();
  ASSERT_EQ(test::maildirFiles(maildir).size(), 1u) << describe(run);

  setRules("");
  daemon_->start();
  // The outcome was never recorded: the batch is still due and goes out once more.
  auto files = test::waitForMaildirFiles(maildir, 2, 20s);
  ASSERT_EQ(files.size(), 2u);
  std::this_thread::sleep_for(3s);  // and then never again
  files = test::maildirFiles(maildir);
  EXPECT_EQ(files.size(), 2u);
  std::set<std::string> ids;
  for (auto& f : files) ids.insert(test::one(test::dumpMessage(tmp_, f), "header.Message-ID").value_or(""));
  EXPECT_EQ(ids.size(), 1u) << "the copies must share one Message-ID";

  Json batches = ctlJson({"batch", "list"});
  ASSERT_EQ(array(at(batches.root(), "batches")).size(), 1u);
  EXPECT_EQ(textAt(array(at(batches.root(), "batches"))[0], "status"), "sent");
}

}  // namespace
}  // namespace rdz::e2e
