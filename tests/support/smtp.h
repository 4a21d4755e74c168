// Real servers for tests (SMTP, and any Python program: the HTTP receiver of API deliveries),
// and what they received.
//
// The servers are Python child processes (Debian's python3-aiosmtpd and python3's http.server,
// at /usr/bin/python3), so a message is accepted, stored and later taken apart by code that is
// not ours: a Maildir written by aiosmtpd, read back by Python's `email` package (dumpMessage).
//
// Every server is owned by a PythonServer whose destructor kills and reaps it. Start failures are
// reported with ADD_FAILURE (with the server's log) and leave running() false.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/temp-dir.h"

namespace rdz::test {

inline constexpr char PYTHON[] = "/usr/bin/python3";

// A loopback TCP port nobody listens on right now (the kernel's pick, released at once).
int freePort();
// Whether 127.0.0.1:port accepts a TCP connection now.
bool accepts(int port);

class PythonServer {
 public:
  // Runs `python3 args…` with PYTHONPATH = dir (where the factories below write their scripts)
  // and stdout + stderr to dir/smtp-PORT.log; returns once 127.0.0.1:port accepts TCP (10 s at
  // most).
  PythonServer(const TempDir& dir, int port, std::vector<std::string> args);
  ~PythonServer();
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  // aiosmtpd storing every message it accepts in the Maildir `maildir` (created if needed).
  static std::unique_ptr<PythonServer> mailbox(const TempDir& dir, int port,
                                               const std::string& maildir);
  // aiosmtpd with one of these handlers:
  //   "RefuseData"     answers DATA with 554 5.7.1
  //   "BusyData"       answers DATA with 451 4.3.0
  //   "ArmFaultOnData" stores into `maildir`; if `maildir`.arm exists, writes its lines after the
  //                    first into the file its first line names (fault shim rules), removes it,
  //                    then answers 250
  //   "RefuseSomeRcpt" answers RCPT with 550 for addresses starting with "refuse"; stores the
  //                    rest in the Maildir `maildir`
  //   "RefuseMail421"  answers MAIL FROM with 421 4.3.2 (shutting down)
  //   "StallData"      receives the whole message, logs "stalling on DATA", never answers it
  static std::unique_ptr<PythonServer> handler(const TempDir& dir, int port,
                                             std::string_view handlerClass,
                                             const std::string& maildir = "");
  // aiosmtpd requiring AUTH (PLAIN or LOGIN) as user/password, storing into `maildir`; every
  // attempt is appended to `authLog` as "MECHANISM login ok|denied".
  static std::unique_ptr<PythonServer> withAuth(const TempDir& dir, int port, const std::string& user,
                                              const std::string& password,
                                              const std::string& maildir,
                                              const std::string& authLog);
  // withAuth over TLS, with the certificate DIR/server.pem and key DIR/server.key of `certDir`
  // (test::makeServerCert). IMPLICIT speaks TLS from the first byte (port 465 style); STARTTLS
  // offers STARTTLS and requires it before anything but EHLO/NOOP/QUIT (require_starttls), and
  // offers AUTH only after it (auth_require_tls). AUTH is required. Readiness is still a TCP
  // connect (the probe's failed handshake is only logged by the server).
  enum class Tls { IMPLICIT, STARTTLS };
  static std::unique_ptr<PythonServer> tls(const TempDir& dir, int port, Tls mode,
                                           const std::string& certDir, const std::string& user,
                                           const std::string& password, const std::string& maildir,
                                           const std::string& authLog);
  // Hand-written SMTP (plain sockets, not aiosmtpd, which cannot misbehave this way):
  //   GREET_421      greets every connection with "421 4.3.2 too busy" and closes it
  //   DROP_MID_DATA  answers EHLO/MAIL/RCPT with 250 and DATA with 354, reads the first 256
  //                  bytes of the message and then resets the connection without an answer. Logs
  //                  "dropped mid-DATA after N bytes", or "whole message received" when the
  //                  end-of-data mark came within those bytes (the message was too short).
  enum class Misbehaviour { GREET_421, DROP_MID_DATA };
  static std::unique_ptr<PythonServer> misbehaving(const TempDir& dir, int port,
                                                   Misbehaviour what);
  // A TCP server that accepts connections, keeps them open and never says a word (no 220
  // greeting): an SMTP client hangs until its own timeout. See openConnections().
  static std::unique_ptr<PythonServer> stalling(const TempDir& dir, int port);

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string log() const;
  // Waits up to `timeout` for the log to contain `text`.
  bool waitForLog(std::string_view text, std::chrono::milliseconds timeout) const;

  // Stalling server only: the connections accepted and not closed by the peer so far. The
  // factory's own readiness probe is never counted (stalling() returns after it was seen closed).
  size_t openConnections() const;
  // Waits up to `timeout` for openConnections() to reach `count`.
  bool waitForOpenConnections(size_t count, std::chrono::milliseconds timeout) const;

  // SIGTERM, SIGKILL after 3 s, reap. No-op when not running.
  void stop();

 private:
  int port_;
  std::string log_;
  pid_t pid_ = -1;
};

// The message files of a Maildir's new/ (none if the directory does not exist).
std::vector<std::string> maildirFiles(const std::string& maildir);
// Waits up to `timeout` for new/ to hold at least `count` files; returns the files it holds then.
std::vector<std::string> waitForMaildirFiles(const std::string& maildir, size_t count,
                                             std::chrono::milliseconds timeout);

// A message as Python's email package sees it, as (key, value) in order:
//   header.From|To|Cc|Bcc|Subject|Message-ID|MIME-Version|X-RcptTo|X-MailFrom  (decoded)
//   from.name, from.address, date.epoch, type
//   for the text part:   text.type, text.charset, text (decoded bytes)
//   for each attachment: attachment.filename, attachment.type, attachment.encoding,
//                        attachment.content (decoded bytes)
// X-RcptTo and X-MailFrom are the SMTP envelope, added by aiosmtpd's Mailbox.
using Dump = std::vector<std::pair<std::string, std::string>>;
// Parses `file` (the dump script is written into `dir`). Reports failures with ADD_FAILURE.
Dump dumpMessage(const TempDir& dir, const std::string& file);
// Every value of `key`, in order.
std::vector<std::string> all(const Dump& dump, std::string_view key);
// The value of `key`; a failure (ADD_FAILURE) if there is more than one.
std::optional<std::string> one(const Dump& dump, std::string_view key);

}  // namespace rdz::test
