#include "tests/e2e/harness.h"

#include <capnp/compat/json.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace rdz::e2e {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

[[noreturn]] void failErrno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

int exitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string absolute(const std::string& cwd, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  std::filesystem::path base =
      cwd.empty() ? std::filesystem::current_path() : std::filesystem::path(cwd);
  return (base / path).lexically_normal().string();
}

// argv / envp as the exec family wants them, built before fork(): between fork() and exec()
// the child may only make async-signal-safe calls (the crash test forks while threads run).
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> strings) : strings_(std::move(strings)) {
    for (auto& s : strings_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  char* const* get() { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

std::vector<std::string> childEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "RDZ_", 4) != 0) env.push_back(*e);
  }
  for (auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

// In the child after fork(): only async-signal-safe calls, then exec or _exit(127).
[[noreturn]] void execChild(const char* cwd, int in, int out, int err, const char* program,
                            char* const* argv, char* const* envp) {
  if (cwd != nullptr && chdir(cwd) != 0) _exit(127);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
  // Every other descriptor is O_CLOEXEC (or closed by the exec): see the callers.
  execve(program, argv, envp);
  _exit(127);
}

}  // namespace

bool socketAnswers(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) fail("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) failErrno("socket");
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::close(fd);
    if (rc == 0) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---- ChildProcess, Daemon ---------------------------------------------------------------------

ChildProcess::ChildProcess(std::string program, std::string cwd, std::vector<std::string> args,
                           std::string logPath, Ready ready)
    : program_(std::move(program)),
      name_(program_.substr(program_.rfind('/') + 1)),
      cwd_(std::move(cwd)),
      args_(std::move(args)),
      logPath_(std::move(logPath)),
      ready_(std::move(ready)) {}

ChildProcess::~ChildProcess() { kill9(); }

void ChildProcess::start() {
  if (running()) fail(name_ + " already running");
  size_t logStart = log().size();
  std::vector<std::string> argv = {program_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  CStrings cargv(argv);
  CStrings cenv(childEnvironment(env));
  int logFd = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logFd < 0) failErrno("open " + logPath_);
  int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devNull < 0) failErrno("open /dev/null");
  const char* cwd = cwd_.empty() ? nullptr : cwd_.c_str();
  pid_t pid = fork();
  if (pid < 0) failErrno("fork");
  if (pid == 0) execChild(cwd, devNull, logFd, logFd, program_.c_str(), cargv.get(), cenv.get());
  ::close(logFd);
  ::close(devNull);
  pid_ = pid;

  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      fail(name_ + " exited with status " + std::to_string(exitStatus(status)) +
           " before serving; its log:\n" + log());
    }
    if (ready_(log().substr(logStart))) return;
    if (Clock::now() >= deadline) {
      kill9();
      fail(name_ + " was not serving within 10 s; its log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ChildProcess::kill9() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

int ChildProcess::stop() {
  if (!running()) fail(name_ + " is not running");
  if (::kill(pid_, SIGTERM) != 0) failErrno("kill SIGTERM");
  if (auto status = waitForExit(std::chrono::seconds(20))) return *status;
  kill9();
  return 128 + SIGKILL;
}

std::optional<int> ChildProcess::waitForExit(std::chrono::milliseconds timeout) {
  if (!running()) fail(name_ + " is not running");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return exitStatus(status);
    }
    if (done < 0 && errno != EINTR) failErrno("waitpid");
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ChildProcess::restart() {
  if (running()) stop();
  start();
}

std::string ChildProcess::log() const {
  std::ifstream in(logPath_, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Daemon::Daemon(std::string cwd, std::vector<std::string> args, std::string socket,
               std::string logPath)
    : ChildProcess(RDZD_PATH, cwd, std::move(args), std::move(logPath),
                   [path = absolute(cwd, socket)](const std::string&) {
                     return socketAnswers(path, std::chrono::milliseconds(0));
                   }),
      socket_(absolute(cwd, socket)) {}

// ---- running a program ------------------------------------------------------------------------

RunResult runProgram(const std::string& program, const std::vector<std::string>& args,
                     const RunOptions& options) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  CStrings cargv(argv);
  CStrings cenv(childEnvironment(options.env));
  int outPipe[2], errPipe[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0) failErrno("pipe2");
  if (pipe2(errPipe, O_CLOEXEC) != 0) {
    ::close(outPipe[0]);
    ::close(outPipe[1]);
    failErrno("pipe2");
  }
  int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devNull < 0) failErrno("open /dev/null");
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  pid_t pid = fork();
  if (pid < 0) failErrno("fork");
  if (pid == 0) {
    execChild(cwd, devNull, outPipe[1], errPipe[1], program.c_str(), cargv.get(), cenv.get());
  }
  ::close(devNull);
  ::close(outPipe[1]);
  ::close(errPipe[1]);

  RunResult result;
  pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  bool timedOut = false;
  auto deadline = Clock::now() + options.timeout;
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      failErrno("poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[8192];
      ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) failErrno("waitpid");
  }
  result.exitCode = exitStatus(status);
  if (timedOut) result.err += "\n[e2e harness: killed after the timeout]";
  return result;
}

RunOptions inDir(std::string cwd, std::vector<std::pair<std::string, std::string>> env) {
  RunOptions options;
  options.cwd = std::move(cwd);
  options.env = std::move(env);
  return options;
}

RunResult run(const std::vector<std::string>& args, const RunOptions& options) {
  return runProgram(RDZCTL_PATH, args, options);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

// ---- JSON -------------------------------------------------------------------------------------

Json::Json(std::string_view text) : message_(std::make_unique<capnp::MallocMessageBuilder>()) {
  auto builder = message_->initRoot<capnp::JsonValue>();
  capnp::JsonCodec codec;
  kj::ArrayPtr<const char> input(text.data(), text.size());
  // Trailing newline and spaces are fine; anything else after the document is not.
  while (input.size() > 0 && (input.back() == '\n' || input.back() == ' ')) {
    input = input.slice(0, input.size() - 1);
  }
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { codec.decodeRaw(input, builder); })) {
    fail("not JSON (" + std::string(e->getDescription().cStr()) + "): " + std::string(text));
  }
  root_ = builder.asReader();
}

bool has(capnp::JsonValue::Reader object, std::string_view name) {
  if (!object.isObject()) fail("not a JSON object");
  for (auto member : object.getObject()) {
    if (std::string_view(member.getName().cStr()) == name) return true;
  }
  return false;
}

capnp::JsonValue::Reader at(capnp::JsonValue::Reader object, std::string_view name) {
  if (!object.isObject()) fail("not a JSON object, looking for '" + std::string(name) + "'");
  for (auto member : object.getObject()) {
    if (std::string_view(member.getName().cStr()) == name) return member.getValue();
  }
  fail("no member '" + std::string(name) + "'");
}

capnp::List<capnp::JsonValue>::Reader array(capnp::JsonValue::Reader value) {
  if (!value.isArray()) fail("not a JSON array");
  return value.getArray();
}

std::string text(capnp::JsonValue::Reader value) {
  if (!value.isString()) fail("not a JSON string");
  auto s = value.getString();
  return std::string(s.cStr(), s.size());
}

std::vector<std::string> texts(capnp::JsonValue::Reader value) {
  std::vector<std::string> out;
  for (auto item : array(value)) out.push_back(text(item));
  return out;
}

double number(capnp::JsonValue::Reader value) {
  if (!value.isNumber()) fail("not a JSON number");
  return value.getNumber();
}

bool boolean(capnp::JsonValue::Reader value) {
  if (!value.isBoolean()) fail("not a JSON boolean");
  return value.getBoolean();
}

bool isNull(capnp::JsonValue::Reader value) { return value.isNull(); }

std::string textAt(capnp::JsonValue::Reader object, std::string_view name) {
  return text(at(object, name));
}
double numberAt(capnp::JsonValue::Reader object, std::string_view name) {
  return number(at(object, name));
}
bool boolAt(capnp::JsonValue::Reader object, std::string_view name) {
  return boolean(at(object, name));
}

// ---- E2eTest ----------------------------------------------------------------------------------

void E2eTest::SetUp() {
  std::vector<std::string> args = {"--data_dir", dataDir()};
  auto extra = extraDaemonArgs();
  args.insert(args.end(), extra.begin(), extra.end());
  daemon_ = std::make_unique<Daemon>(tmp_.path(), args, socketPath(), tmp_ / "rdzd.log");
  daemon_->env = daemonEnv();
  daemon_->start();
}

void E2eTest::TearDown() {
  if (daemon_ == nullptr) return;
  std::string log = daemon_->log();
  for (std::string_view slug : {"admin", "ingest-zr7", "ingest-mdl"}) {
    std::string file = dataDir() + "/" + std::string(slug) + ".token";
    if (!std::filesystem::exists(file)) continue;
    std::string token = test::readFile(file);
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    ASSERT_FALSE(token.empty()) << file;
    EXPECT_EQ(log.find(token), std::string::npos) << "rdzd logged the token of " << file;
  }
  daemon_.reset();  // kills rdzd if the test left it running
}

void E2eTest::expectAuditClean() {
  if (daemon_ == nullptr) return;
  if (!daemon_->running()) daemon_->start();
  auto r = ctl({"--json", "audit"});
  EXPECT_EQ(r.exitCode, 0) << "the audit found violations after the scenario: " << describe(r);
  if (r.exitCode == 0) {
    EXPECT_TRUE(boolAt(Json(r.out).root(), "ok")) << r.out;
  }
}

RunResult E2eTest::ctl(const std::vector<std::string>& args) {
  return ctlAs(adminTokenFile(), args);
}

RunResult E2eTest::ctlAs(const std::string& tokenFile, const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--socket", socketPath(), "--token-file", tokenFile};
  all.insert(all.end(), args.begin(), args.end());
  return run(all, inDir(tmp_.path()));
}

Json E2eTest::ctlJson(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--json"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = ctl(all);
  if (r.exitCode != 0) fail("rdzctl failed: " + describe(r));
  return Json(r.out);
}

std::string E2eTest::ctlOk(const std::vector<std::string>& args) {
  auto r = ctl(args);
  if (r.exitCode != 0) fail("rdzctl failed: " + describe(r));
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace rdz::e2e
