// The mailer against a real SMTP server (Debian's python3-aiosmtpd), one per test: the message
// is read back from the server's Maildir and taken apart by Python's `email` package, so the MIME
// is checked by an independent parser, not by our own.
#include "daemon/service/mailer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "daemon/domain/delivery-format.h"
#include "tests/support/files.h"
#include "tests/support/smtp.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using test::all;
using test::Dump;
using test::dumpMessage;
using test::freePort;
using test::maildirFiles;
using test::one;
using test::readFile;
using test::PythonServer;

SmtpConfig localSmtp(int port) {
  SmtpConfig smtp;
  smtp.host = "127.0.0.1";
  smtp.port = port;
  smtp.security = "none";
  smtp.from = "leads@zr7.example";
  smtp.fromName = "Équipe ZR7";
  smtp.bcc = "archive@zr7.example";
  return smtp;
}

Lead csvLead(std::string nom, std::string prenom, std::string e164, std::string ville) {
  Lead l;
  l.nom = std::move(nom);
  l.prenom = std::move(prenom);
  l.telephoneE164 = std::move(e164);
  l.email = "contact@exemple.fr";
  l.codePostal = "97400";
  l.ville = std::move(ville);
  l.proprietaire = TriState::OUI;
  l.typeLogement = TypeLogement::MAISON;
  return l;
}

Mail batchMail() {
  Mail mail;
  mail.to = {"client@solaire-sud.example", "compta@solaire-sud.example"};
  mail.cc = {"chef@solaire-sud.example"};
  mail.bcc = {"copie@zr7.example"};
  mail.subject = "ZR7 — vos leads du 2026-11-25 (3) pour Hélène, Zoé et Éloïse à Saint-Denis";
  mail.body = fillTemplate(defaultTemplates(Entity::ZR7).body, "Solaire Sud", "2026-11-25", 3);
  mail.messageId = "<01JD3K7Q8X9YZ0ABCDEFGH1234@rdz.zr7.example>";
  mail.attachments = {
      {"ZR7_solaire-sud_PV_2026-11-25.csv",
       renderCsv(Entity::ZR7, {csvLead("Hoarau; père", "Hélène \"Léna\"", "+262692123456",
                                       "Saint-Denis\r\nBellepierre"),
                               csvLead("Payet", "Zoé", "+33612345678", "Saint-Pierre")})},
      {"ZR7_solaire-sud_PV_2026-11-25_LB.csv",
       renderCsv(Entity::ZR7, {csvLead("Grondin", "Éloïse", "+33712345678", "Le Tampon")})},
  };
  return mail;
}

bool sevenBit(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

TEST(Mailer, DeliversHeadersRecipientsAndAttachmentsByteForByte) {
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";
  auto server = PythonServer::mailbox(dir, port, maildir);
  ASSERT_TRUE(server->running());

  Mail mail = batchMail();
  auto before = std::chrono::system_clock::now();
  SendResult result = sendMail(localSmtp(port), "", mail);
  ASSERT_TRUE(result.ok) << result.detail << "\n" << server->log();
  EXPECT_FALSE(result.permanent);
  EXPECT_EQ(result.code, 250);

  std::vector<std::string> files = maildirFiles(maildir);
  ASSERT_EQ(files.size(), 1u);
  std::string raw = readFile(files[0]);
  // Everything non-ASCII went through an encoding: the message is 7-bit clean.
  EXPECT_TRUE(sevenBit(raw));
  EXPECT_NE(raw.find("Subject: =?UTF-8?B?"), std::string::npos) << raw.substr(0, 2000);

  Dump dump = dumpMessage(dir, files[0]);
  EXPECT_EQ(one(dump, "from.name"), "Équipe ZR7");
  EXPECT_EQ(one(dump, "from.address"), "leads@zr7.example");
  EXPECT_EQ(one(dump, "header.To"), "client@solaire-sud.example, compta@solaire-sud.example");
  EXPECT_EQ(one(dump, "header.Cc"), "chef@solaire-sud.example");
  EXPECT_EQ(one(dump, "header.Bcc"), std::nullopt);
  // The bcc addresses appear once in the stored file: in the server's X-RcptTo note.
  for (const char* hidden : {"copie@zr7.example", "archive@zr7.example"}) {
    size_t at = raw.find(hidden);
    EXPECT_NE(at, std::string::npos) << hidden;
    EXPECT_EQ(raw.find(hidden, at + 1), std::string::npos) << hidden;
  }
  EXPECT_EQ(one(dump, "header.Subject"), mail.subject);
  EXPECT_EQ(one(dump, "header.Message-ID"), "<01JD3K7Q8X9YZ0ABCDEFGH1234@rdz.zr7.example>");
  EXPECT_EQ(one(dump, "header.MIME-Version"), "1.0");
  // The envelope: every visible recipient, the mail's bcc and the entity's archive, once each.
  EXPECT_EQ(one(dump, "header.X-MailFrom"), "leads@zr7.example");
  EXPECT_EQ(one(dump, "header.X-RcptTo"),
            "client@solaire-sud.example, compta@solaire-sud.example, chef@solaire-sud.example, "
            "copie@zr7.example, archive@zr7.example");
  auto date = one(dump, "date.epoch");
  ASSERT_TRUE(date.has_value());
  auto sentAt = std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(*date)));
  EXPECT_GE(sentAt, std::chrono::floor<std::chrono::seconds>(before));
  EXPECT_LE(sentAt, std::chrono::system_clock::now());

  EXPECT_EQ(one(dump, "type"), "multipart/mixed");
  EXPECT_EQ(one(dump, "text.type"), "text/plain");
  EXPECT_EQ(one(dump, "text.charset"), "utf-8");
  // The Maildir stores lines with LF ends, so the decoded text compares to the LF template.
  EXPECT_EQ(one(dump, "text"), mail.body);

  std::vector<std::string> names = all(dump, "attachment.filename");
  std::vector<std::string> contents = all(dump, "attachment.content");
  ASSERT_EQ(names.size(), 2u);
  ASSERT_EQ(contents.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(names[i], mail.attachments[i].filename);
    EXPECT_EQ(contents[i], mail.attachments[i].content) << names[i];
    EXPECT_EQ(contents[i].rfind("\xEF\xBB\xBF", 0), 0u);
  }
  EXPECT_EQ(all(dump, "attachment.type"), (std::vector<std::string>{"text/csv", "text/csv"}));
  EXPECT_EQ(all(dump, "attachment.encoding"), (std::vector<std::string>{"base64", "base64"}));
  EXPECT_NE(contents[0].find("\"Saint-Denis\r\nBellepierre\""), std::string::npos);
}

TEST(Mailer, ServerDownIsATemporaryFailure) {
  SmtpConfig smtp = localSmtp(freePort());  // nothing listens there
  SendResult result = sendMail(smtp, "secret-pw", batchMail());
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  EXPECT_EQ(result.code, 0);
  EXPECT_FALSE(result.detail.empty());
  EXPECT_EQ(result.detail.find("secret-pw"), std::string::npos);
}

class MailerRefusals : public testing::Test {
 protected:
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";

  std::unique_ptr<PythonServer> start(std::string_view handler) {
    return PythonServer::handler(dir, port, handler, handler == "RefuseSomeRcpt" ? maildir : "");
  }
};

TEST_F(MailerRefusals, DataRefusedIsPermanent) {
  auto server = start("RefuseData");
  ASSERT_TRUE(server->running());
  SendResult result = sendMail(localSmtp(port), "", batchMail());
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 554);
  EXPECT_NE(result.detail.find("554"), std::string::npos) << result.detail;
}

TEST_F(MailerRefusals, RecipientRefusedIsPermanentAndNothingIsDelivered) {
  auto server = start("RefuseSomeRcpt");
  ASSERT_TRUE(server->running());
  Mail mail = batchMail();
  mail.bcc = {"refuse-me@zr7.example"};
  SendResult result = sendMail(localSmtp(port), "", mail);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 550);
  EXPECT_TRUE(maildirFiles(maildir).empty());

  // The same server takes the mail once every recipient is acceptable.
  mail.bcc.clear();
  result = sendMail(localSmtp(port), "", mail);
  EXPECT_TRUE(result.ok) << result.detail;
  EXPECT_EQ(maildirFiles(maildir).size(), 1u);
}

TEST_F(MailerRefusals, TemporaryRefusalIsNotPermanent) {
  auto server = start("BusyData");
  ASSERT_TRUE(server->running());
  SendResult result = sendMail(localSmtp(port), "", batchMail());
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 451);
  EXPECT_NE(result.detail.find("451"), std::string::npos) << result.detail;
}

TEST(Mailer, AuthenticatesAndNeverReportsThePassword) {
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";
  std::string authLog = dir / "auth.log";
  auto server = PythonServer::withAuth(dir, port, "zr7-user", "Pa55-wörd", maildir, authLog);
  ASSERT_TRUE(server->running());

  SmtpConfig smtp = localSmtp(port);
  smtp.user = "zr7-user";
  Mail mail = batchMail();
  mail.attachments.resize(1);
  // A client name with accents ends up in the file name: RFC 2231 on the wire.
  mail.attachments[0].filename = "ZR7_énergie-réunion_PV_2026-11-25.csv";

  SendResult denied = sendMail(smtp, "wrong-Pa55", mail);
  EXPECT_FALSE(denied.ok);
  EXPECT_TRUE(denied.permanent) << denied.detail;
  EXPECT_EQ(denied.code, 535);
  EXPECT_EQ(denied.detail.find("wrong-Pa55"), std::string::npos) << denied.detail;
  EXPECT_TRUE(maildirFiles(maildir).empty());

  SendResult result = sendMail(smtp, "Pa55-wörd", mail);
  ASSERT_TRUE(result.ok) << result.detail << "\n" << server->log();
  EXPECT_EQ(result.detail.find("Pa55-wörd"), std::string::npos);
  std::string log = readFile(authLog);
  EXPECT_NE(log.find("zr7-user denied"), std::string::npos) << log;
  EXPECT_NE(log.find("zr7-user ok"), std::string::npos) << log;

  std::vector<std::string> files = maildirFiles(maildir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(sevenBit(readFile(files[0])));
  Dump dump = dumpMessage(dir, files[0]);
  EXPECT_EQ(all(dump, "attachment.filename"),
            std::vector<std::string>{"ZR7_énergie-réunion_PV_2026-11-25.csv"});
  EXPECT_EQ(one(dump, "attachment.content"), mail.attachments[0].content);
}

TEST(Mailer, AMailThatCannotBeSentIsAPermanentFailure) {
  SmtpConfig smtp = localSmtp(freePort());
  Mail noRecipient = batchMail();
  noRecipient.to.clear();
  Mail badAddress = batchMail();
  badAddress.cc = {"chef@solaire-sud.example>\r\nBcc: x@evil.example"};
  SmtpConfig badSecurity = smtp;
  badSecurity.security = "tls-please";
  for (auto [config, mail] : {std::pair{smtp, noRecipient}, std::pair{smtp, badAddress},
                              std::pair{badSecurity, batchMail()}}) {
    SendResult result = sendMail(config, "", mail);
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(result.permanent) << result.detail;
    EXPECT_EQ(result.code, 0);
    EXPECT_EQ(result.detail.find('\n'), std::string::npos) << result.detail;
  }
}

}  // namespace
}  // namespace rdz
