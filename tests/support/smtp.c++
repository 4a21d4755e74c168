#include "tests/support/smtp.h"

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

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/files.h"

extern char** environ;

namespace rdz::test {

namespace {

using namespace std::chrono_literals;

// Handlers for the failure cases, loaded by `python3 -m aiosmtpd -c rdz_test_smtp.Class`.
constexpr char HANDLERS_PY[] = R"PY(
from aiosmtpd.handlers import Mailbox

class RefuseData:
    async def handle_DATA(self, server, session, envelope):
        return '554 5.7.1 message refused'

class BusyData:
    async def handle_DATA(self, server, session, envelope):
        return '451 4.3.0 try again later'

class ArmFaultOnData(Mailbox):
    # Stores the message like Mailbox; then, if MAILDIR.arm exists, writes its second line on
    # into the file named by its first line (the fault shim's rules), deletes it and only then
    # answers 250: the fault strikes right after the server accepted the message.
    def __init__(self, maildir):
        super().__init__(maildir)
        self.arm = maildir.rstrip('/') + '.arm'

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        import os
        if os.path.exists(self.arm):
            with open(self.arm) as f:
                target, rules = f.read().split('\n', 1)
            with open(target + '.tmp', 'w') as f:
                f.write(rules)
            os.rename(target + '.tmp', target)
            os.remove(self.arm)
        return answer

class RefuseMail421:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return '421 4.3.2 service shutting down'

class StallData:
    # Has the whole message, and never answers it: the client's timeout must end the wait.
    async def handle_DATA(self, server, session, envelope):
        import asyncio
        print('stalling on DATA (%d bytes)' % len(envelope.content), flush=True)
        await asyncio.sleep(3600)
        return '250 OK'

class RefuseSomeRcpt(Mailbox):
    # Refuses addresses starting with "refuse"; anything that gets through lands in the Maildir.
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('refuse'):
            return '550 5.1.1 no such mailbox'
        envelope.rcpt_tos.append(address)
        return '250 OK'
)PY";

// A server with AUTH (not reachable from aiosmtpd's command line): argv port user password
// maildir logfile [none|ssl|starttls certfile keyfile]. Records each attempt in logfile.
constexpr char AUTH_SERVER_PY[] = R"PY(
import ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, user, password, maildir, log = sys.argv[1:6]
mode = sys.argv[6] if len(sys.argv) > 6 else 'none'
tls = {}
if mode != 'none':
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[7], sys.argv[8])
    if mode == 'ssl':
        # aiosmtpd 1.4 counts only STARTTLS as TLS for auth_require_tls (it would never offer
        # AUTH here); the connection is TLS from its first byte, so AUTH is over TLS anyway.
        tls = dict(ssl_context=context)
    else:
        tls = dict(tls_context=context, require_starttls=True)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    with open(log, 'a') as f:
        f.write('%s %s %s\n' % (mechanism, auth_data.login.decode(), 'ok' if ok else 'denied'))
    return AuthResult(success=ok, handled=False)

controller = Controller(Mailbox(maildir), hostname='127.0.0.1', port=int(port),
                        authenticator=authenticator, auth_require_tls=(mode == 'starttls'),
                        auth_required=True, **tls)
controller.start()
while True:
    time.sleep(3600)
)PY";

// Accepts connections and never answers: argv port. Prints "accepted" for each connection and
// "closed" when its peer goes away (whatever a peer sends is read and dropped).
constexpr char STALLING_SERVER_PY[] = R"PY(
import select, socket, sys

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', int(sys.argv[1])))
listener.listen(64)
held = []

def note(what):
    sys.stdout.write(what + '\n')
    sys.stdout.flush()

while True:
    readable, _, _ = select.select([listener] + held, [], [])
    for s in readable:
        if s is listener:
            conn, _ = listener.accept()
            held.append(conn)
            note('accepted')
            continue
        try:
            data = s.recv(4096)
        except OSError:
            data = b''
        if not data:
            held.remove(s)
            s.close()
            note('closed')
)PY";

// SMTP by hand, misbehaving: argv port mode (greet-421 | drop-mid-data). Logs what it did.
constexpr char MISBEHAVING_SERVER_PY[] = R"PY(
import socket, struct, sys, threading

port, mode = int(sys.argv[1]), sys.argv[2]
DROP_AFTER = 256

def note(what):
    print(what, flush=True)

def serve(conn):
    reader = conn.makefile('rb')
    def send(line):
        conn.sendall(line.encode() + b'\r\n')
    try:
        if mode == 'greet-421':
            send('421 4.3.2 too busy, try later')
            return
        send('220 rdz-test ESMTP')
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line.split()[0].upper() if line.split() else b''
            if verb == b'EHLO':
                send('250-rdz-test')
                send('250 8BITMIME')
            elif verb == b'DATA':
                send('354 end data with <CR><LF>.<CR><LF>')
                data = b''
                while len(data) < DROP_AFTER:
                    chunk = reader.read1(DROP_AFTER - len(data))
                    if not chunk:
                        break
                    data += chunk
                if b'\r\n.\r\n' in data:
                    note('whole message received')
                    send('250 OK')
                    continue
                # A reset, not a FIN: the server vanished with the message half read.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                note('dropped mid-DATA after %d bytes' % len(data))
                return
            elif verb == b'QUIT':
                send('221 bye')
                return
            else:
                send('250 OK')
    except OSError as e:
        note('connection error: %s' % e)
    finally:
        reader.close()
        conn.close()

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
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

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

size_t countLines(const std::string& text, std::string_view line) {
  size_t n = 0;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (l == line) ++n;
  }
  return n;
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

}  // namespace

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr = loopback(0);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = loopback(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// ---- PythonServer -------------------------------------------------------------------------------

PythonServer::PythonServer(const TempDir& dir, int port, std::vector<std::string> args)
    : port_(port), log_(dir / ("smtp-" + std::to_string(port) + ".log")) {
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
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
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
      ADD_FAILURE() << "SMTP server exited: " << log();
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "SMTP server not listening after 10 s: " << log();
      stop();
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
}

PythonServer::~PythonServer() { stop(); }

void PythonServer::stop() {
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
  pid_ = -1;
}

std::string PythonServer::log() const {
  std::ifstream in(log_, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<PythonServer> PythonServer::mailbox(const TempDir& dir, int port,
                                                const std::string& maildir) {
  return std::make_unique<PythonServer>(
      dir, port,
      std::vector<std::string>{"-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port),
                               "-c", "aiosmtpd.handlers.Mailbox", maildir});
}

std::unique_ptr<PythonServer> PythonServer::handler(const TempDir& dir, int port,
                                                std::string_view handlerClass,
                                                const std::string& maildir) {
  writeFile(dir / "rdz_test_smtp.py", HANDLERS_PY);
  std::vector<std::string> args = {"-m",
                                   "aiosmtpd",
                                   "-n",
                                   "-l",
                                   "127.0.0.1:" + std::to_string(port),
                                   "-c",
                                   "rdz_test_smtp." + std::string(handlerClass)};
  if (!maildir.empty()) args.push_back(maildir);
  return std::make_unique<PythonServer>(dir, port, args);
}

std::unique_ptr<PythonServer> PythonServer::withAuth(const TempDir& dir, int port,
                                                 const std::string& user,
                                                 const std::string& password,
                                                 const std::string& maildir,
                                                 const std::string& authLog) {
  writeFile(dir / "rdz_test_auth_smtp.py", AUTH_SERVER_PY);
  return std::make_unique<PythonServer>(
      dir, port,
      std::vector<std::string>{dir / "rdz_test_auth_smtp.py", std::to_string(port), user, password,
                               maildir, authLog});
}

std::unique_ptr<PythonServer> PythonServer::tls(const TempDir& dir, int port, Tls mode,
                                            const std::string& certDir, const std::string& user,
                                            const std::string& password,
                                            const std::string& maildir,
                                            const std::string& authLog) {
  writeFile(dir / "rdz_test_auth_smtp.py", AUTH_SERVER_PY);
  return std::make_unique<PythonServer>(
      dir, port,
      std::vector<std::string>{dir / "rdz_test_auth_smtp.py", std::to_string(port), user, password,
                               maildir, authLog, mode == Tls::IMPLICIT ? "ssl" : "starttls",
                               certDir + "/server.pem", certDir + "/server.key"});
}

std::unique_ptr<PythonServer> PythonServer::misbehaving(const TempDir& dir, int port,
                                                    Misbehaviour what) {
  writeFile(dir / "rdz_test_misbehaving_smtp.py", MISBEHAVING_SERVER_PY);
  return std::make_unique<PythonServer>(
      dir, port,
      std::vector<std::string>{dir / "rdz_test_misbehaving_smtp.py", std::to_string(port),
                               what == Misbehaviour::GREET_421 ? "greet-421" : "drop-mid-data"});
}

std::unique_ptr<PythonServer> PythonServer::stalling(const TempDir& dir, int port) {
  writeFile(dir / "rdz_test_stalling_smtp.py", STALLING_SERVER_PY);
  auto server = std::make_unique<PythonServer>(
      dir, port,
      std::vector<std::string>{"-u", dir / "rdz_test_stalling_smtp.py", std::to_string(port)});
  if (!server->running()) return server;
  // The constructor's readiness probe connected and went away: wait until the server has seen
  // both, so that openConnections() only ever counts real clients.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    std::string log = server->log();
    if (countLines(log, "accepted") >= 1 && countLines(log, "closed") >= 1) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the stalling server did not see its probe: " << log;
      server->stop();
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  return server;
}

bool PythonServer::waitForLog(std::string_view text, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

size_t PythonServer::openConnections() const {
  std::string text = log();
  size_t accepted = countLines(text, "accepted");
  size_t closed = countLines(text, "closed");
  // Minus the probe (accepted and closed), which stalling() waited for.
  return accepted > closed ? accepted - closed : 0;
}

bool PythonServer::waitForOpenConnections(size_t count, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (openConnections() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// ---- Maildir and messages ---------------------------------------------------------------------

std::vector<std::string> maildirFiles(const std::string& maildir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(maildir + "/new", ec)) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> waitForMaildirFiles(const std::string& maildir, size_t count,
                                             std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto files = maildirFiles(maildir);
    if (files.size() >= count || std::chrono::steady_clock::now() > deadline) return files;
    std::this_thread::sleep_for(20ms);
  }
}

Dump dumpMessage(const TempDir& dir, const std::string& file) {
  writeFile(dir / "rdz_test_dump_mail.py", DUMP_PY);
  std::string command =
      std::string(PYTHON) + " " + (dir / "rdz_test_dump_mail.py") + " '" + file + "' 2>&1";
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

}  // namespace rdz::test
