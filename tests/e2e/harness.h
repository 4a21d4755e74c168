// End-to-end harness: the real rdzd and rdzctl binaries (RDZD_PATH, RDZCTL_PATH), run as child
// processes on a private temp dir and a Unix socket. No shell is involved anywhere: arguments
// reach the binaries byte for byte (non-UTF-8 included).
//
// Every child process is owned by an object whose destructor kills it, so a failing assertion
// never leaves a daemon behind. Failures to start throw std::runtime_error (GoogleTest reports
// the message, which includes rdzd's log).
#pragma once

#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/pki.h"
#include "tests/support/temp-dir.h"

namespace rdz::e2e {

// A long-running child program (rdzd, rdz-gateway), killed on destruction so a failing test
// never leaves one behind. Not started by the constructor.
class ChildProcess {
 public:
  // Called while starting, with what the program logged since this start; true once it serves.
  using Ready = std::function<bool(const std::string& logSinceStart)>;

  // Runs `program` in `cwd` with `args`; stdout and stderr are appended to `logPath`.
  ChildProcess(std::string program, std::string cwd, std::vector<std::string> args,
               std::string logPath, Ready ready);
  // Kills the process (SIGKILL) if it still runs.
  virtual ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts the program and returns once `ready` says it serves. Throws (with the log's
  // contents) if it exits first or is not ready within 10 s.
  void start();
  // SIGKILL and reap. No-op when not running.
  void kill9();
  // SIGTERM and wait (up to 20 s, then SIGKILL). Returns the exit status, or 128 + signal when
  // the process was killed by a signal.
  int stop();
  // Waits up to `timeout` for the process to end by itself; its exit status (128 + signal when
  // killed by one), or nullopt if it still runs.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout);
  // stop() (if running) then start().
  void restart();

  bool running() const { return pid_ > 0; }
  // Added to the program's environment at each start (e.g. LD_PRELOAD of the fault shim).
  std::vector<std::pair<std::string, std::string>> env;
  pid_t pid() const { return pid_; }
  std::string log() const;

 private:
  std::string program_;
  std::string name_;  // for messages
  std::string cwd_;
  std::vector<std::string> args_;
  std::string logPath_;
  Ready ready_;
  pid_t pid_ = -1;
};

// One rdzd process: ready once its Unix socket accepts a connection.
class Daemon : public ChildProcess {
 public:
  // Runs RDZD_PATH in `cwd` with `args` (e.g. {"--data_dir", dir}); `socket` is where it will
  // listen (relative paths are relative to `cwd`).
  Daemon(std::string cwd, std::vector<std::string> args, std::string socket, std::string logPath);
  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;  // absolute
};

struct RunResult {
  int exitCode = -1;  // 128 + signal when the process was killed by a signal
  std::string out;
  std::string err;
};

// What to give a child beyond its arguments.
struct RunOptions {
  std::string cwd;  // "" = this process's cwd
  // Added to the environment. The parent's RDZ_* variables are never passed on, so a test only
  // sees the ones it sets.
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::seconds timeout{30};  // then SIGKILL and a failed result
};

// RunOptions for a child in `cwd` with `env` added.
RunOptions inDir(std::string cwd, std::vector<std::pair<std::string, std::string>> env = {});

// Runs `program` with `args` (argv[1..]), stdin from /dev/null, capturing stdout and stderr.
RunResult runProgram(const std::string& program, const std::vector<std::string>& args,
                     const RunOptions& options = {});
// runProgram(RDZCTL_PATH, …).
RunResult run(const std::vector<std::string>& args, const RunOptions& options = {});

// For assertion messages.
std::string describe(const RunResult& result);

// Waits up to `timeout` for a Unix socket at `path` to accept a connection.
bool socketAnswers(const std::string& path, std::chrono::milliseconds timeout);

// ---- TLS test material (the openssl command line): tests/support/pki.h ----------------------

using test::makeCa;
using test::makeServerCert;

// ---- JSON (rdzctl --json output), through Cap'n Proto's JSON codec --------------------------

class Json {
 public:
  // Throws std::runtime_error when `text` is not one JSON document.
  explicit Json(std::string_view text);
  capnp::JsonValue::Reader root() const { return root_; }

 private:
  std::unique_ptr<capnp::MallocMessageBuilder> message_;
  capnp::JsonValue::Reader root_;
};

// Accessors; they throw std::runtime_error naming what is missing or of the wrong type.
bool has(capnp::JsonValue::Reader object, std::string_view name);
capnp::JsonValue::Reader at(capnp::JsonValue::Reader object, std::string_view name);
capnp::List<capnp::JsonValue>::Reader array(capnp::JsonValue::Reader value);
std::string text(capnp::JsonValue::Reader value);
std::vector<std::string> texts(capnp::JsonValue::Reader value);  // array of strings
double number(capnp::JsonValue::Reader value);
bool boolean(capnp::JsonValue::Reader value);
bool isNull(capnp::JsonValue::Reader value);
// at(object, name) as text / number / bool.
std::string textAt(capnp::JsonValue::Reader object, std::string_view name);
double numberAt(capnp::JsonValue::Reader object, std::string_view name);
bool boolAt(capnp::JsonValue::Reader object, std::string_view name);

// ---- the usual setup: one temp dir, one rdzd on TMP/data ----------------------------------

class E2eTest : public ::testing::Test {
 protected:
  // Starts rdzd with --data_dir TMP/data (plus extraDaemonArgs()).
  void SetUp() override;
  // Checks that rdzd's log holds none of the token files' contents, then kills rdzd.
  void TearDown() override;
  virtual std::vector<std::string> extraDaemonArgs() const { return {}; }
  // Added to rdzd's environment (e.g. the fault shim).
  virtual std::vector<std::pair<std::string, std::string>> daemonEnv() const { return {}; }

  std::string dataDir() const { return tmp_ / "data"; }
  std::string socketPath() const { return tmp_ / "data/rdzd.sock"; }
  std::string adminTokenFile() const { return tmp_ / "data/admin.token"; }
  std::string ingestTokenFile(std::string_view slug) const {
    return tmp_ / ("data/ingest-" + std::string(slug) + ".token");
  }

  // `rdzctl audit` (SPEC §7.5) on rdzd (started again if the test stopped it): expects exit 0 and
  // no violation. Fixtures whose scenarios must leave consistent data call it in TearDown.
  void expectAuditClean();

  // rdzctl --socket S --token-file TOKEN ARGS…
  RunResult ctl(const std::vector<std::string>& args);
  RunResult ctlAs(const std::string& tokenFile, const std::vector<std::string>& args);
  // ctl({"--json", ARGS…}), requires exit 0 and returns the parsed output.
  Json ctlJson(const std::vector<std::string>& args);
  // ctl, requires exit 0, returns stdout without its final newline.
  std::string ctlOk(const std::vector<std::string>& args);

  test::TempDir tmp_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace rdz::e2e
