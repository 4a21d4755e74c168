// The mailer against a real SMTP server (Debian's python3-aiosmtpd), one per test: the message
// is read back from the server's Maildir and taken apart by Python's `email` package, so the MIME
// is checked by an independent parser, not by our own.
#include "daemon/service/mailer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "daemon/domain/delivery-format.h"
#include "tests/support/temp-dir.h"

extern char** environ;

namespace rdz {
namespace {

using namespace std::chrono_literals;

constexpr char PYTHON[] = "/usr/bin/python3";

// Handlers for the failure cases, loaded by `python3 -m aiosmtpd -c rdz_test_smtp.Class`.
constexpr char HANDLERS_PY[] = R"PY(
from aiosmtpd.handlers import Mailbox

class RefuseData:
    async def handle_DATA(self, server, session, envelope):
        return '554 5.7.1 message refused'

class BusyData:
    async def handle_DATA(self, server, session, envelope):
        return '451 4.3.0 try again later'

class RefuseSomeRcpt(Mailbox):
    # Refuses addresses starting with "refuse"; anything that gets through lands in the Maildir.
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('refuse'):
            return '550 5.1.1 no such mailbox'
        envelope.rcpt_tos.append(address)
        return '250 OK'
)PY";

// A server with AUTH (not reachable from aiosmtpd's command line): argv port user password
// maildir logfile. Records each attempt in logfile.
constexpr char AUTH_SERVER_PY[] = R"PY(
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, user, password, maildir, log = sys.argv[1:6]

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    with open(log, 'a') as f:
        f.write('%s %s %s\n' % (mechanism, auth_data.login.decode(), 'ok' if ok else 'denied'))
    return AuthResult(success=ok, handled=False)

controller = Controller(Mailbox(maildir), hostname='127.0.0.1', port=int(port),
                        authenticator=authenticator, auth_require_tls=False, auth_required=True)
controller.start()
while True:
    time.sleep(3600)
)PY";

// Prints "key<TAB>hex(bytes)" lines describing a message file.
constexpr char DUMP_PY[] = R"PY(
import sys, email, email.policy, email.utils

def out(key, value):
    if isinstance(value, str):
        value = value.encode('utf-8')
    sys.stdout.write(key + '\t' + value.hex() + '\n')

with open(sys.argv[1], 'rb') as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
for name in ['From', 'To', 'Cc', 'Bcc', 'Subject', 'Message-ID', 'MIME-Version', 'X-RcptTo',
             'X-MailFrom']:
    for value in msg.get_all(name) or []:
        out('header.' + name, str(value))
for a in msg['From'].addresses:
    out('from.name', a.display_name)
    out('from.address', a.addr_spec)
out('date.epoch', str(int(email.utils.parsedate_to_datetime(msg['Date']).timestamp())))
out('type', msg.get_content_type())
for part in msg.iter_parts():
    if part.get_filename() is None:
        out('text.type', part.get_content_type())
        out('text.charset', part.get_content_charset() or '')
        out('text', part.get_payload(decode=True))
    else:
        out('attachment.filename', part.get_filename())
        out('attachment.type', part.get_content_type())
        out('attachment.encoding', part.get('Content-Transfer-Encoding', ''))
        out('attachment.content', part.get_payload(decode=True))
)PY";

void writeFile(const std::string& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A port nobody listens on right now (the kernel's pick, released at once).
int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A Python SMTP server in a child process, killed (and reaped) on destruction.
class SmtpServer {
 public:
  // Starts `python3 args...` with PYTHONPATH=dir; returns once the port accepts TCP.
  SmtpServer(const test::TempDir& dir, int port, std::vector<std::string> args)
      : port_(port), log_(dir / "server.log") {
    std::vector<std::string> argv = {PYTHON};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    std::vector<std::string> env = {"PYTHONPATH=" + dir.path(), "PYTHONDONTWRITEBYTECODE=1"};
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view v(*e);
      if (!v.starts_with("PYTHONPATH=") && !v.starts_with("PYTHONDONTWRITEBYTECODE=")) {
        env.emplace_back(v);
      }
    }
    std::vector<char*> cenv;
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, PYTHON, &actions, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      ADD_FAILURE() << "posix_spawn " << PYTHON << ": " << strerror(rc);
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!accepts(port_)) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "SMTP server exited: " << readFile(log_);
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "SMTP server not listening after 10 s: " << readFile(log_);
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  ~SmtpServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + 3s;
    int status;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  bool running() const { return pid_ > 0; }
  std::string log() const { return readFile(log_); }

 private:
  int port_;
  std::string log_;
  pid_t pid_ = -1;
};

// The files a Maildir holds in new/ (none if the directory does not exist).
std::vector<std::string> maildirFiles(const std::string& maildir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(maildir + "/new", ec)) {
    files.push_back(entry.path().string());
  }
  return files;
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The message as Python's email package sees it: (key, value) in order, see DUMP_PY.
using Dump = std::vector<std::pair<std::string, std::string>>;

Dump dumpMessage(const test::TempDir& dir, const std::string& file) {
  writeFile(dir / "dump_mail.py", DUMP_PY);
  std::string command = std::string(PYTHON) + " " + (dir / "dump_mail.py") + " " + file + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return {};
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << output;
  Dump dump;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      ADD_FAILURE() << "unexpected output from the MIME dump: " << line;
      continue;
    }
    dump.emplace_back(line.substr(0, tab), unhex(std::string_view(line).substr(tab + 1)));
  }
  return dump;
}

std::vector<std::string> all(const Dump& dump, std::string_view key) {
  std::vector<std::string> values;
  for (auto& [k, v] : dump) {
    if (k == key) values.push_back(v);
  }
  return values;
}

std::optional<std::string> one(const Dump& dump, std::string_view key) {
  std::vector<std::string> values = all(dump, key);
  EXPECT_LE(values.size(), 1u) << key;
  if (values.empty()) return std::nullopt;
  return values[0];
}

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
  SmtpServer server(dir, port,
                    {"-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port), "-c",
                     "aiosmtpd.handlers.Mailbox", maildir});
  ASSERT_TRUE(server.running());

  Mail mail = batchMail();
  auto before = std::chrono::system_clock::now();
  SendResult result = sendMail(localSmtp(port), "", mail);
  ASSERT_TRUE(result.ok) << result.detail << "\n" << server.log();
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

  std::unique_ptr<SmtpServer> start(const char* handler) {
    writeFile(dir / "rdz_test_smtp.py", HANDLERS_PY);
    std::vector<std::string> args = {
        "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port), "-c", handler};
    if (std::string_view(handler).ends_with("RefuseSomeRcpt")) args.push_back(maildir);
    return std::make_unique<SmtpServer>(dir, port, args);
  }
};

TEST_F(MailerRefusals, DataRefusedIsPermanent) {
  auto server = start("rdz_test_smtp.RefuseData");
  ASSERT_TRUE(server->running());
  SendResult result = sendMail(localSmtp(port), "", batchMail());
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 554);
  EXPECT_NE(result.detail.find("554"), std::string::npos) << result.detail;
}

TEST_F(MailerRefusals, RecipientRefusedIsPermanentAndNothingIsDelivered) {
  auto server = start("rdz_test_smtp.RefuseSomeRcpt");
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
  auto server = start("rdz_test_smtp.BusyData");
  ASSERT_TRUE(server->running());
  SendResult result = sendMail(localSmtp(port), "", batchMail());
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.detail;
  EXPECT_EQ(result.code, 451);
}

TEST(Mailer, AuthenticatesAndNeverReportsThePassword) {
  test::TempDir dir;
  int port = freePort();
  std::string maildir = dir / "maildir";
  std::string authLog = dir / "auth.log";
  writeFile(dir / "auth_server.py", AUTH_SERVER_PY);
  SmtpServer server(
      dir, port,
      {dir / "auth_server.py", std::to_string(port), "zr7-user", "Pa55-wörd", maildir, authLog});
  ASSERT_TRUE(server.running());

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
  ASSERT_TRUE(result.ok) << result.detail << "\n" << server.log();
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
