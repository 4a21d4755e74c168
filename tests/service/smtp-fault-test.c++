// SMTP faults against real servers, and the TLS paths (SPEC §5.7, §6): a connection dropped in
// the middle of DATA, 421 at the greeting and after MAIL, a server that stalls on DATA, implicit
// TLS and STARTTLS with AUTH, and what must be refused: a certificate from another CA, a wrong
// password, a server that does not offer STARTTLS. The servers are python3-aiosmtpd (or, where
// aiosmtpd cannot misbehave that way, a few lines of Python on plain sockets) in child processes;
// what arrived is read back from their Maildir by Python's `email` package.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/service/mailer.h"
#include "daemon/service/operations.h"
#include "daemon/service/run.h"
#include "daemon/service/sender.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/files.h"
#include "tests/support/pki.h"
#include "tests/support/smtp.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;
using test::all;
using test::Dump;
using test::dumpMessage;
using test::freePort;
using test::maildirFiles;
using test::one;
using test::PythonServer;

SmtpConfig plainSmtp(int port) {
  SmtpConfig smtp;
  smtp.host = "127.0.0.1";
  smtp.port = port;
  smtp.security = "none";
  smtp.from = "leads@zr7.example";
  smtp.fromName = "ZR7";
  smtp.timeoutMs = 10000;  // generous: only StallData is meant to reach it
  return smtp;
}

// Far longer than the 256 bytes after which DROP_MID_DATA hangs up.
Mail testMail() {
  Mail mail;
  mail.to = {"client@solaire-sud.example"};
  mail.subject = "ZR7 — vos leads du 2026-11-25 (2)";
  mail.body = "Bonjour,\nveuillez trouver ci-joint vos leads.\n";
  mail.messageId = "<01JD3K7Q8X9YZ0ABCDEFGH5678@rdz.zr7.example>";
  std::string csv = "\xEF\xBB\xBFnom;prenom;telephone\r\n";
  for (int i = 0; i < 2000; ++i) {
    csv += "Hoarau;Hélène;06" + std::to_string(10000000 + i) + "\r\n";
  }
  mail.attachments = {{"ZR7_solaire-sud_PV_2026-11-25.csv", csv}};
  return mail;
}

std::string readIfExists(const std::string& path) {
  return std::filesystem::exists(path) ? test::readFile(path) : std::string();
}

// ---- faults on a plain connection -------------------------------------------------------------

TEST(SmtpFault, ConnectionDroppedMidDataIsATemporaryFailure) {
  test::TempDir dir;
  int port = freePort();
  auto server = PythonServer::misbehaving(dir, port, PythonServer::Misbehaviour::DROP_MID_DATA);
  ASSERT_TRUE(server->running());

  SendResult result = sendMail(plainSmtp(port), "", testMail());
  EXPECT_FALSE(result.ok) << result.detail;
  EXPECT_FALSE(result.permanent) << result.detail;
  EXPECT_FALSE(result.detail.empty());
  // The server really was in the middle of the message when it went away.
  EXPECT_TRUE(server->waitForLog("dropped mid-DATA after 256 bytes", 5s)) << server->log();
  EXPECT_EQ(server->log().find("whole message received"), std::string::npos) << server->log();
}

TEST(SmtpFault, Greeting421IsATemporaryFailureWithItsCode) {
  test::TempDir dir;
  int port = freePort();
  auto server = PythonServer::misbehaving(dir, port, PythonServer::Misbehaviour::GREET_421);
  ASSERT_TRUE(server->running());

  SendResult result = sendMail(plainSmtp(port), "", testMail());
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 421) << result.detail;
  EXPECT_NE(result.detail.find("421"), std::string::npos) << result.detail;
}

TEST(SmtpFault, Mail421IsATemporaryFailureWithItsCode) {
  test::TempDir dir;
  int port = freePort();
  auto server = PythonServer::handler(dir, port, "RefuseMail421");
  ASSERT_TRUE(server->running());

  SendResult result = sendMail(plainSmtp(port), "", testMail());
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 421) << result.detail;
  EXPECT_NE(result.detail.find("421"), std::string::npos) << result.detail;
}

// 451 and 554 at DATA are the other half of item 2; see MailerRefusals in mailer-test.c++.

TEST(SmtpFault, AServerStallingOnDataIsGivenUpAtTheTimeout) {
  test::TempDir dir;
  int port = freePort();
  auto server = PythonServer::handler(dir, port, "StallData");
  ASSERT_TRUE(server->running());

  SmtpConfig smtp = plainSmtp(port);
  smtp.timeoutMs = 1500;
  auto start = std::chrono::steady_clock::now();
  SendResult result = sendMail(smtp, "", testMail());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.detail;
  EXPECT_NE(result.detail.find("gave up after 1500 ms"), std::string::npos) << result.detail;
  // The whole message went through, then nothing came back: the wait was the stall's.
  EXPECT_TRUE(server->waitForLog("stalling on DATA", 5s)) << server->log();
  EXPECT_GE(elapsed, 1400ms);
  // The configured 1.5 s and the QUIT cut short (libcurl checks about once a second): not the
  // default minute, nor the two minutes libcurl waits for the QUIT's answer on its own.
  EXPECT_LT(elapsed, 6s);
}

// ---- the Sender over a connection dropped mid-DATA --------------------------------------------

Submission lead(std::string phone) {
  return {{"produit", "PV"},       {"nom", "Martin"},        {"prenom", "Zoé"},
          {"telephone", phone},    {"code_postal", "33000"}, {"consentement", "oui"},
          {"proprietaire", "oui"}, {"type_logement", "maison"}};
}

TEST(SmtpFault, SenderKeepsADroppedBatchFailedWithARetryAndItsLeadsAssigned) {
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";
  auto server = PythonServer::misbehaving(dir, port, PythonServer::Misbehaviour::DROP_MID_DATA);
  ASSERT_TRUE(server->running());

  std::unique_ptr<Store> store = Store::open(dir / "db");
  WriteQueue writes(*store);
  // Wednesday 2026-11-25 08:00 Paris: before that day's 09:30 run.
  ManualClock clock{Timestamp(std::chrono::seconds(1795590000))};
  IdGenerator ids;
  Config config;
  config.smtp[static_cast<int>(Entity::ZR7)] = plainSmtp(port);
  Sender sender(*store, writes, config, clock, sendMail, false, {}, Entity::ZR7);

  writes.runSync([&](Txn& t) {
    Client c;
    c.id = "solaire";
    c.entity = Entity::ZR7;
    c.nom = "Solaire";
    c.emails = {"a@solaire.example"};
    addClient(t, c, clock.now());
    Commande k;
    k.client = "solaire";
    k.produit = "PV";
    k.quotaSemaine = 5;
    addCommande(t, k, clock.now());
    for (auto phone : {"0611111111", "0622222222"}) {
      ingestLead(t, ids, {Entity::ZR7, lead(phone), "", clock.now(), false, "test"});
    }
  });
  RunOutcome outcome;
  RunParams params =
      runParams(RunSettings{}, "2026-11-25", std::nullopt, std::nullopt, clock.now());
  writes.runSync([&](Txn& t) { outcome = executeRun(t, ids, params, clock.now()); });
  ASSERT_EQ(outcome.batches.size(), 1u);
  const std::string batchId = outcome.batches[0].id;
  auto batch = [&]() {
    KJ_IF_MAYBE(b, getBatch(*store, Entity::ZR7, batchId)) { return *b; }
    KJ_FAIL_ASSERT("no batch", batchId);
  };

  EXPECT_EQ(sender.sendDue(), 1u);
  EXPECT_TRUE(server->waitForLog("dropped mid-DATA", 5s)) << server->log();
  Batch b = batch();
  EXPECT_EQ(b.status, BatchStatus::FAILED);
  ASSERT_TRUE(b.nextAttempt.has_value());
  EXPECT_EQ(*b.nextAttempt, clock.now() + 1min);
  EXPECT_EQ(b.attempts, 1u);
  EXPECT_FALSE(b.lastError.empty());
  ASSERT_EQ(b.responses.size(), 1u);
  EXPECT_NE(b.responses[0].find(" echec "), std::string::npos) << b.responses[0];
  EXPECT_EQ(b.deliveries.size(), 2u);
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::DELIVERED).size(), 2u);
  EXPECT_EQ(sender.sendDue(), 0u);  // not before the planned retry

  // The server comes back (a real one, same port); the retry delivers the same batch.
  server->stop();
  server = PythonServer::mailbox(dir, port, maildir);
  ASSERT_TRUE(server->running());
  clock.advance(1min);
  EXPECT_EQ(sender.sendDue(), 1u);
  b = batch();
  EXPECT_EQ(b.status, BatchStatus::SENT);
  EXPECT_EQ(b.attempts, 2u);
  EXPECT_FALSE(b.nextAttempt.has_value());
  std::vector<std::string> files = maildirFiles(maildir);
  ASSERT_EQ(files.size(), 1u);
  Dump dump = dumpMessage(dir, files[0]);
  auto messageId = one(dump, "header.Message-ID");
  ASSERT_TRUE(messageId.has_value());
  EXPECT_EQ(messageId->rfind("<" + batchId + "@", 0), 0u) << *messageId;
  EXPECT_EQ(all(dump, "attachment.filename").size(), 1u);
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::DELIVERED).size(), 2u);
}

// ---- TLS: implicit and STARTTLS, with AUTH ----------------------------------------------------

struct TlsCase {
  PythonServer::Tls mode;
  const char* security;
};

class SmtpTls : public testing::TestWithParam<TlsCase> {
 protected:
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";
  std::string authLog = dir / "auth.log";

  void SetUp() override {
    test::makeCa(dir.path(), "ca");
    test::makeCa(dir.path(), "other-ca");
    test::makeServerCert(dir.path(), "ca");
  }

  std::unique_ptr<PythonServer> start() {
    return PythonServer::tls(dir, port, GetParam().mode, dir.path(), "zr7-user", "Pa55-wörd",
                             maildir, authLog);
  }

  SmtpConfig smtp() {
    SmtpConfig s = plainSmtp(port);
    s.security = GetParam().security;
    s.user = "zr7-user";
    s.caFile = dir / "ca.pem";
    return s;
  }
};

TEST_P(SmtpTls, DeliversIntactAfterAuth) {
  auto server = start();
  ASSERT_TRUE(server->running());
  Mail mail = testMail();
  SendResult result = sendMail(smtp(), "Pa55-wörd", mail);
  ASSERT_TRUE(result.ok) << result.detail << "\n" << server->log();
  EXPECT_EQ(result.code, 250);

  EXPECT_NE(readIfExists(authLog).find("zr7-user ok"), std::string::npos) << readIfExists(authLog);
  std::vector<std::string> files = maildirFiles(maildir);
  ASSERT_EQ(files.size(), 1u);
  Dump dump = dumpMessage(dir, files[0]);
  EXPECT_EQ(one(dump, "header.Subject"), mail.subject);
  EXPECT_EQ(one(dump, "header.Message-ID"), mail.messageId);
  EXPECT_EQ(one(dump, "header.X-RcptTo"), "client@solaire-sud.example");
  EXPECT_EQ(one(dump, "text"), mail.body);
  EXPECT_EQ(all(dump, "attachment.filename"),
            std::vector<std::string>{mail.attachments[0].filename});
  EXPECT_EQ(one(dump, "attachment.content"), mail.attachments[0].content);
}

TEST_P(SmtpTls, ACertificateFromAnotherCaIsRefusedBeforeAnythingIsSent) {
  auto server = start();
  ASSERT_TRUE(server->running());
  SmtpConfig untrusting = smtp();
  untrusting.caFile = dir / "other-ca.pem";
  SendResult result = sendMail(untrusting, "Pa55-wörd", testMail());
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("certificate"), std::string::npos) << result.detail;
  EXPECT_EQ(readIfExists(authLog), "");  // the password never left
  EXPECT_TRUE(maildirFiles(maildir).empty());

  // The system's CAs do not know the test CA either: verification is on by default.
  SmtpConfig systemCas = smtp();
  systemCas.caFile.clear();
  result = sendMail(systemCas, "Pa55-wörd", testMail());
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("certificate"), std::string::npos) << result.detail;
  EXPECT_EQ(readIfExists(authLog), "");
  EXPECT_TRUE(maildirFiles(maildir).empty());

  // The same server, trusted through the right CA file, takes the mail: the CA made the
  // difference.
  result = sendMail(smtp(), "Pa55-wörd", testMail());
  EXPECT_TRUE(result.ok) << result.detail << "\n" << server->log();
  EXPECT_EQ(maildirFiles(maildir).size(), 1u);
}

TEST_P(SmtpTls, AWrongPasswordIsAPermanentFailure) {
  auto server = start();
  ASSERT_TRUE(server->running());
  SendResult result = sendMail(smtp(), "wrong-Pa55", testMail());
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 535) << result.detail;
  EXPECT_EQ(result.detail.find("wrong-Pa55"), std::string::npos) << result.detail;
  EXPECT_NE(readIfExists(authLog).find("zr7-user denied"), std::string::npos)
      << readIfExists(authLog);
  EXPECT_TRUE(maildirFiles(maildir).empty());
}

INSTANTIATE_TEST_SUITE_P(Modes, SmtpTls,
                         testing::Values(TlsCase{PythonServer::Tls::IMPLICIT, "ssl"},
                                         TlsCase{PythonServer::Tls::STARTTLS, "starttls"}),
                         [](const testing::TestParamInfo<TlsCase>& info) {
                           return std::string(info.param.security);
                         });

// security = starttls against a server that offers AUTH in clear but no STARTTLS: refused, with
// neither the password nor the message sent. (The same server takes the mail with security =
// none, so the refusal is STARTTLS's.) Likewise security = ssl against a plain server.
TEST(SmtpTlsRequired, NoFallbackToPlainText) {
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";
  std::string authLog = dir / "auth.log";
  auto server = PythonServer::withAuth(dir, port, "zr7-user", "Pa55-wörd", maildir, authLog);
  ASSERT_TRUE(server->running());

  SmtpConfig smtp = plainSmtp(port);
  smtp.user = "zr7-user";
  for (const char* security : {"starttls", "ssl"}) {
    smtp.security = security;
    SendResult result = sendMail(smtp, "Pa55-wörd", testMail());
    EXPECT_FALSE(result.ok) << security;
    EXPECT_FALSE(result.detail.empty()) << security;
    EXPECT_EQ(readIfExists(authLog), "") << security;
    EXPECT_TRUE(maildirFiles(maildir).empty()) << security;
  }

  smtp.security = "none";
  SendResult result = sendMail(smtp, "Pa55-wörd", testMail());
  EXPECT_TRUE(result.ok) << result.detail << "\n" << server->log();
  EXPECT_NE(readIfExists(authLog).find("zr7-user ok"), std::string::npos);
  EXPECT_EQ(maildirFiles(maildir).size(), 1u);
}

}  // namespace
}  // namespace rdz
