// rdz-console's browser sessions in-process (SPEC §8.4: "idle sessions expire"), against the real
// rdzd binary: the Console is given a kj::TimerImpl as its clock, which only this test moves, so
// half an hour of idleness passes without waiting. Requests go through kj-http over in-memory
// pipes to the console's own HTTP service; logins are real (Bootstrap.login, scrypt, in rdzd).
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/timer.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tests/e2e/harness.h"
#include "tools/console/config.h"
#include "tools/console/console.h"

namespace rdz::e2e {
namespace {

struct Answer {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // the last value of each (Location)
  std::vector<std::string> cookies;            // Set-Cookie values
  std::string body;
};

// The value of cookie `name` among Set-Cookie values ("" if absent).
std::string cookieValue(const std::vector<std::string>& setCookies, const std::string& name) {
  for (auto& c : setCookies) {
    if (c.rfind(name + "=", 0) == 0) {
      return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
    }
  }
  return "";
}

// What a test drives: the event loop, the console's clock, the console and its HTTP server.
struct Rig {
  Rig(const console::Config& config)
      : console(config, clock, io.provider->getNetwork(), io.unixEventPort),
        server(io.provider->getTimer(), console.headerTable(),
               [this](kj::AsyncIoStream& connection) { return console.newService(connection); },
               console.serverSettings()),
        sweep(console.run().eagerlyEvaluate([](kj::Exception&& e) {
          ADD_FAILURE() << "the idle sweep failed: " << e.getDescription().cStr();
        })) {}
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::TimerImpl clock{kj::origin<kj::TimePoint>()};  // the console's time: moved by pass() only
  console::Console console;
  kj::HttpServer server;
  kj::Promise<void> sweep;
};

class ConsoleSessions : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    auto added = ctlJson({"user", "add", "marie", "--role", "admin"});
    password_ = textAt(added.root(), "password");
    config_.socket = socketPath();
    config_.idleMinutes = 30;
    rig_ = std::make_unique<Rig>(config_);
  }

  void TearDown() override {
    rig_.reset();
    E2eTest::TearDown();
  }

  // One request on a connection of its own; the session cookie (and a form) when given.
  Answer request(kj::HttpMethod method, const std::string& url, const std::string& cookie = "",
                 const std::string& form = "") {
    auto& ws = rig_->io.waitScope;
    auto pipe = kj::newTwoWayPipe();
    auto serving = rig_->server.listenHttp(kj::mv(pipe.ends[0])).eagerlyEvaluate(nullptr);
    auto client = kj::newHttpClient(rig_->console.headerTable(), *pipe.ends[1]);
    kj::HttpHeaders headers(rig_->console.headerTable());
    if (!cookie.empty()) headers.add("Cookie", kj::str(cookie.c_str()));
    if (!form.empty()) headers.add("Content-Type", "application/x-www-form-urlencoded");
    auto req = client->request(method, kj::StringPtr(url.c_str()), headers,
                               form.empty() ? kj::Maybe<uint64_t>(nullptr) : form.size());
    if (!form.empty()) {
      req.body->write(form.data(), form.size()).wait(ws);
    }
    req.body = nullptr;
    auto response = req.response.wait(ws);
    Answer a;
    a.status = response.statusCode;
    response.headers->forEach([&](kj::StringPtr name, kj::StringPtr value) {
      if (name == "Set-Cookie") {
        a.cookies.emplace_back(value.cStr());
      } else {
        a.headers[name.cStr()] = value.cStr();
      }
    });
    a.body = response.body->readAllText().wait(ws).cStr();
    return a;
  }

  // Logs marie in through the login form; the session cookie's value.
  std::string login() {
    Answer page = request(kj::HttpMethod::GET, "/connexion");
    EXPECT_EQ(page.status, 200u);
    std::string token = cookieValue(page.cookies, "rdz_login");
    EXPECT_EQ(token.size(), 64u);
    Answer in = request(kj::HttpMethod::POST, "/connexion", "rdz_login=" + token,
                        "csrf=" + token + "&nom=marie&mot_de_passe=" + password_);
    EXPECT_EQ(in.status, 303u) << in.body;
    EXPECT_EQ(in.headers["Location"], "/");
    std::string session = cookieValue(in.cookies, "rdz_session");
    EXPECT_EQ(session.size(), 64u);
    return session;
  }

  // GET / with the session: 200 (the dashboard) or 303 to the login page.
  unsigned dashboard(const std::string& session, std::string* location = nullptr) {
    Answer a = request(kj::HttpMethod::GET, "/", "rdz_session=" + session);
    if (a.status == 200) {
      EXPECT_NE(a.body.find("Tableau de bord"), std::string::npos);
    }
    if (location != nullptr) *location = a.headers["Location"];
    return a.status;
  }

  // Moves the console's clock by `d` and lets what falls due run.
  void pass(kj::Duration d) {
    rig_->clock.advanceTo(rig_->clock.now() + d);
    rig_->io.waitScope.poll();
  }

  size_t sessions() const { return rig_->console.sessions(); }

  console::Config config_;
  std::unique_ptr<Rig> rig_;
  std::string password_;
};

TEST_F(ConsoleSessions, AnIdleSessionIsRefusedWhileAnActiveOneStaysValid) {
  std::string idle = login();
  std::string active = login();
  ASSERT_NE(idle, active);
  EXPECT_EQ(sessions(), 2u);
  EXPECT_EQ(dashboard(idle), 200u);
  EXPECT_EQ(dashboard(active), 200u);

  // 20 minutes: both still valid; `active` is used, `idle` is not.
  pass(20 * kj::MINUTES);
  EXPECT_EQ(dashboard(active), 200u);
  // 29 min 59 s after its last use, `active` is used again: still valid (the limit is 30 min).
  pass(9 * kj::MINUTES + 59 * kj::SECONDS);
  EXPECT_EQ(dashboard(active), 200u);
  // `idle`: 30 min 1 s without a request, refused: to the login page, and its session is gone.
  pass(2 * kj::SECONDS);
  std::string location;
  EXPECT_EQ(dashboard(idle, &location), 303u);
  EXPECT_EQ(location, "/connexion");
  EXPECT_EQ(dashboard(idle), 303u);  // for good, whatever the clock says next
  EXPECT_EQ(sessions(), 1u);
  // A form post with the ended session is refused too (no session: 403, nothing sent to rdzd).
  Answer post = request(kj::HttpMethod::POST, "/clients", "rdz_session=" + idle,
                        "entity=ZR7&nom=Intrus&emails=i%40x.fr");
  EXPECT_EQ(post.status, 403u);
  // `active` was used 2 s ago: valid.
  EXPECT_EQ(dashboard(active), 200u);
  EXPECT_EQ(ctlOk({"client", "list"}).find("Intrus"), std::string::npos);
}

TEST_F(ConsoleSessions, TheSweepEndsIdleSessionsWithoutARequest) {
  std::string first = login();
  std::string second = login();
  pass(15 * kj::MINUTES);
  EXPECT_EQ(dashboard(second), 200u);
  // The sweep runs every minute: 16 minutes later `first` (31 min idle) is ended by it alone,
  // `second` (16 min) is kept.
  for (int minute = 0; minute < 16; ++minute) pass(1 * kj::MINUTES);
  EXPECT_EQ(sessions(), 1u);
  EXPECT_EQ(dashboard(second), 200u);
  EXPECT_EQ(dashboard(first), 303u);
  // And 31 minutes of silence end the last one.
  for (int minute = 0; minute < 31; ++minute) pass(1 * kj::MINUTES);
  EXPECT_EQ(sessions(), 0u);
  EXPECT_EQ(dashboard(second), 303u);
}

}  // namespace
}  // namespace rdz::e2e
