// rdz-gateway (SPEC §8.3). End to end: the real rdzd and the real rdz-gateway binaries on a temp
// dir, HTTP through libcurl, leads checked with `rdzctl lead find --phone` (admin token), kill -9
// of rdzd and of the gateway. In-process: the spool's files (torn writes, checksums, segments), its
// thread, and the gateway's pure helpers (rate limiter, client address, form decoding).
#include "tools/gateway/gateway.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "daemon/domain/time.h"
#include "tests/e2e/harness.h"
#include "tests/support/files.h"
#include "tests/support/http.h"
#include "tests/support/smtp.h"
#include "tests/support/temp-dir.h"
#include "tools/gateway/spool.h"
#include "tools/gateway/thanks.h"

extern char** environ;

namespace rdz::gateway {
// For GoogleTest's messages: an entry by its key.
void PrintTo(const SpoolEntry& e, std::ostream* out) { *out << "entry " << e.idempotencyKey; }
}  // namespace rdz::gateway

namespace rdz::e2e {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// ---- HTTP: tests/support/http.h ----------------------------------------------------------------

using test::http;
using test::HttpResult;

// ---- raw TCP clients (slow ones) -------------------------------------------------------------

// A TCP connection to 127.0.0.1:`port` from the loopback address `from` (any 127.x.y.z is this
// host: the gateway sees distinct client IPs). -1 on failure.
int connectFrom(const std::string& from, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void sendText(int fd, const std::string& text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Reads until the peer closes (EOF or reset) or `timeout` passes. The time it took, or nullopt
// when the connection was still open at the deadline. What was read goes to `received`.
std::optional<std::chrono::milliseconds> waitClosed(int fd, std::chrono::milliseconds timeout,
                                                    std::string* received = nullptr) {
  auto start = SteadyClock::now();
  auto deadline = start + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
    }
    if (received != nullptr) received->append(buffer, static_cast<size_t>(n));
  }
}

// One HTTP/1.1 request on a fresh connection from `from`; the status code of the answer, 0 when
// the connection was closed without one.
long rawPost(const std::string& from, int port, const std::string& path, const std::string& body,
             const std::string& extraHeader = "") {
  int fd = connectFrom(from, port);
  if (fd < 0) return 0;
  std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n{}"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      path, extraHeader.empty() ? "" : extraHeader + "\r\n", body.size(), body);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  // Until the whole answer (headers and Content-Length bytes) is in, or the connection closes.
  std::string answer;
  auto deadline = SteadyClock::now() + 10s;
  for (;;) {
    size_t end = answer.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t length = answer.find("Content-Length: ");
      if (length != std::string::npos &&
          answer.size() >= end + 4 + std::stoul(answer.substr(length + 16))) {
        break;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (SteadyClock::now() > deadline || ::poll(&p, 1, 100) < 0) break;
    char buffer[4096];
    ssize_t n = (p.revents & POLLIN) != 0 ? ::recv(fd, buffer, sizeof buffer, 0) : 1;
    if (n <= 0) break;
    if ((p.revents & POLLIN) != 0) answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (answer.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::stol(answer.substr(9, 3));
}

// ---- one rdz-gateway process -----------------------------------------------------------------

// Owns the process: the destructor kills it. start() returns once the gateway logged the port it
// listens on (it is started with --listen 127.0.0.1:0, so ports never collide).
// The real rdz-gateway: ready once it logged the address it listens on (it may be told port 0).
class GatewayProcess : public ChildProcess {
 public:
  GatewayProcess(std::string cwd, std::vector<std::string> args, std::string logPath)
      : ChildProcess(RDZ_GATEWAY_PATH, std::move(cwd), std::move(args), std::move(logPath),
                     [this](const std::string& log) { return findPort(log); }) {}

  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }
  int port() const { return port_; }

 private:
  bool findPort(const std::string& log) {
    size_t at = log.find("listening on http://");
    if (at == std::string::npos) return false;
    size_t end = log.find_first_of(" \n", at + 20);
    std::string address = log.substr(at + 20, end - at - 20);
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
    return true;
  }

  int port_ = 0;
};

// ---- leads -----------------------------------------------------------------------------------

// Distinct, valid French mobile numbers ("0612000001"…): one lead per phone in every check.
std::string phone(int n) { return fmt::format("06{:08}", 12000000 + n); }

std::string leadJson(const std::string& tel, const std::string& nom = "Dupont") {
  return R"({"produit":"PV","nom":")" + nom + R"(","prenom":"Élodie","telephone":")" + tel +
         R"(","code_postal":"33000","ville":"Bordeaux","proprietaire":true,"consentement":true})";
}

// Strings of the leads above that must never reach the gateway's log.
const std::vector<std::string> PERSONAL = {"Dupont", "Lefèvre", "Élodie", "Bordeaux"};
// Their phones in any form (0612000100, +33612000100, 612000100, 06 12 00 01 00), as whole
// numbers: "0612" alone also occurs by chance inside the hex of a generated idempotency key or a
// lead id, which the log may show.
const std::regex PERSONAL_PHONE(R"((^|[^0-9A-Za-z])(\+?33|0)?6 ?12( ?[0-9]){6}([^0-9A-Za-z]|$))");

double metric(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    ++pos;
  }
  return -1;
}

class GatewayTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    startGateway();
  }

  void TearDown() override {
    if (gateway_ != nullptr) {
      std::string log = gateway_->log();
      for (std::string_view slug : {"ingest-zr7", "ingest-mdl", "admin"}) {
        std::string file = dataDir() + "/" + std::string(slug) + ".token";
        std::string token = test::readFile(file);
        while (!token.empty() && token.back() == '\n') token.pop_back();
        EXPECT_EQ(log.find(token), std::string::npos) << "the gateway logged " << file;
      }
      for (const std::string& personal : PERSONAL) {
        EXPECT_EQ(log.find(personal), std::string::npos) << "the gateway logged " << personal;
      }
      std::smatch phone;
      EXPECT_FALSE(std::regex_search(log, phone, PERSONAL_PHONE))
          << "the gateway logged a phone: " << phone.str();
      gateway_.reset();
    }
    E2eTest::TearDown();
  }

  // The test setup's flags; `overrides` ("--flag", value, …) replace or add to them.
  std::vector<std::string> gatewayArgs(const std::vector<std::string>& overrides) {
    std::vector<std::pair<std::string, std::string>> flags = {
        {"--socket", socketPath()},
        {"--zr7.token_file", ingestTokenFile("zr7")},
        {"--mdl.token_file", ingestTokenFile("mdl")},
        {"--spool_dir", tmp_ / "spool"},
        {"--listen", "127.0.0.1:0"},
        {"--cors_origins", "https://exemple.fr, https://www.exemple.fr"},
        {"--replay_interval_ms", "100"},
        {"--forward_timeout_ms", "3000"},
        {"--rate", "1000"},  // out of the way unless a test sets it
        {"--burst", "1000"}};
    for (size_t i = 0; i + 1 < overrides.size(); i += 2) {
      auto it = std::find_if(flags.begin(), flags.end(),
                             [&](auto& f) { return f.first == overrides[i]; });
      if (it != flags.end()) {
        it->second = overrides[i + 1];
      } else {
        flags.push_back({overrides[i], overrides[i + 1]});
      }
    }
    std::vector<std::string> args;
    for (auto& [flag, value] : flags) {
      args.push_back(flag);
      args.push_back(value);
    }
    return args;
  }

  void startGateway(const std::vector<std::string>& extra = {}) {
    gateway_.reset();
    gateway_ =
        std::make_unique<GatewayProcess>(tmp_.path(), gatewayArgs(extra), tmp_ / "gateway.log");
    gateway_->start();
  }

  HttpResult post(const std::string& entity, const std::string& body,
                  const std::string& contentType = "application/json",
                  std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: " + contentType);
    return http("POST", gateway_->url("/v1/leads/" + entity), body, headers);
  }

  std::vector<std::string> idsWithPhone(const std::string& tel) {
    auto found = ctlJson({"lead", "find", "--phone", tel});
    std::vector<std::string> ids;
    for (auto lead : array(at(found.root(), "leads"))) ids.push_back(textAt(lead, "id"));
    return ids;
  }

  std::string metrics() {
    auto r = http("GET", gateway_->url("/metrics"));
    EXPECT_EQ(r.code, 200) << describe(r);
    return r.body;
  }

  // Polls /metrics until the spool is empty.
  void waitSpoolDrained(std::chrono::seconds timeout = 20s) {
    auto deadline = SteadyClock::now() + timeout;
    while (metric(metrics(), "rdz_gateway_spool_depth") != 0) {
      ASSERT_LT(SteadyClock::now(), deadline) << "spool not drained; gateway log:\n"
                                              << gateway_->log();
      std::this_thread::sleep_for(50ms);
    }
  }

  std::unique_ptr<GatewayProcess> gateway_;
};

// ---- HTTP behaviour --------------------------------------------------------------------------

TEST_F(GatewayTest, JsonLeadIsStoredAndAnswered201) {
  auto r = post("zr7", leadJson(phone(1)));
  ASSERT_EQ(r.code, 201) << describe(r);
  EXPECT_EQ(r.headers["content-type"], "application/json; charset=utf-8");
  Json answer(r.body);
  std::string id = textAt(answer.root(), "id");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(textAt(answer.root(), "statut"), "new");
  EXPECT_TRUE(texts(at(answer.root(), "problemes")).empty());
  EXPECT_EQ(idsWithPhone(phone(1)), std::vector<std::string>{id});
  auto shown = ctlJson({"lead", "show", id});
  EXPECT_EQ(textAt(shown.root(), "entity"), "ZR7");
  EXPECT_EQ(textAt(shown.root(), "prenom"), "Élodie");

  // The other entity, with its own token; numbers and booleans arrive as text.
  auto mdl = post("mdl", R"({"produit":"PAC","nom":"Dupont","prenom":"Luc","telephone":")" +
                             phone(2) + R"(","code_postal":33000,"consentement":1})");
  ASSERT_EQ(mdl.code, 201) << describe(mdl);
  EXPECT_EQ(textAt(Json(mdl.body).root(), "statut"), "new");
  std::string mdlId = textAt(Json(mdl.body).root(), "id");
  EXPECT_EQ(textAt(ctlJson({"lead", "show", mdlId}).root(), "entity"), "MDL");
  EXPECT_EQ(textAt(ctlJson({"lead", "show", mdlId}).root(), "code_postal"), "33000");
}

TEST_F(GatewayTest, HtmlFormPostWithAccents) {
  std::string form =
      "produit=PV&nom=Lef%C3%A8vre&prenom=%C3%89lodie+Marie&telephone=06+12+00+00+03"
      "&code_postal=33000&ville=Saint-%C3%89milion&consentement=oui&type_logement=maison";
  auto r = post("zr7", form, "application/x-www-form-urlencoded");
  ASSERT_EQ(r.code, 201) << describe(r);
  std::string id = textAt(Json(r.body).root(), "id");
  auto shown = ctlJson({"lead", "show", id});
  EXPECT_EQ(textAt(shown.root(), "nom"), "Lefèvre");
  EXPECT_EQ(textAt(shown.root(), "prenom"), "Élodie Marie");
  EXPECT_EQ(textAt(shown.root(), "ville"), "Saint-Émilion");
  EXPECT_EQ(textAt(shown.root(), "statut"), "new");

  // A browser (Accept: text/html) gets a page rather than JSON.
  auto browser = post("mdl",
                      "produit=PV&nom=Lef%C3%A8vre&prenom=Paul&telephone=0612000004"
                      "&code_postal=75011&consentement=on",
                      "application/x-www-form-urlencoded; charset=UTF-8",
                      {"Accept: text/html,application/xhtml+xml,*/*;q=0.8"});
  ASSERT_EQ(browser.code, 201) << describe(browser);
  EXPECT_EQ(browser.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(browser.body.find("Merci"), std::string::npos) << browser.body;
  EXPECT_EQ(idsWithPhone(phone(4)).size(), 1u);
}

TEST_F(GatewayTest, InvalidLeadIsStoredWithProblemes) {
  // Collect 100%: a lead missing required fields is stored (201, statut invalid), not refused.
  auto r = post("zr7", R"({"nom":"Dupont","telephone":")" + phone(5) + R"("})");
  ASSERT_EQ(r.code, 201) << describe(r);
  Json answer(r.body);
  EXPECT_EQ(textAt(answer.root(), "statut"), "invalid");
  auto problemes = texts(at(answer.root(), "problemes"));
  for (const char* expected :
       {"produit.missing", "prenom.missing", "code_postal.missing", "consentement.absent"}) {
    EXPECT_NE(std::find(problemes.begin(), problemes.end(), expected), problemes.end())
        << expected << " in " << r.body;
  }
  std::string id = textAt(answer.root(), "id");
  EXPECT_EQ(idsWithPhone(phone(5)), std::vector<std::string>{id});
  EXPECT_EQ(textAt(ctlJson({"lead", "show", id}).root(), "statut"), "invalid");
}

TEST_F(GatewayTest, MalformedRequestsAreRefusedAndNothingIsStored) {
  const std::string form = "application/x-www-form-urlencoded";
  struct Case {
    std::string what, path, body, contentType;
    long code;
  };
  std::string big = leadJson(phone(6));
  big.insert(big.size() - 1, ",\"utm_campaign\":\"" + std::string(17 * 1024, 'x') + "\"");
  std::vector<Case> cases = {
      {"malformed JSON", "zr7", R"({"nom":"Dupont",)", "application/json", 400},
      {"JSON array", "zr7", "[1,2]", "application/json", 400},
      {"nested object", "zr7", R"({"nom":{"a":1},"telephone":"0612000006"})", "application/json",
       400},
      {"non-UTF-8 JSON", "zr7", "{\"nom\":\"Dupont\xff\",\"telephone\":\"0612000006\"}",
       "application/json", 400},
      {"non-UTF-8 form", "zr7", "nom=Dupont%FF&telephone=0612000006", form, 400},
      {"bad %-escape", "zr7", "nom=Dupont%zz&telephone=0612000006", form, 400},
      // A NUL would cut the text short on its way to rdzd: refused, not stored truncated.
      {"JSON \\u0000", "zr7", R"({"nom":"Du\u0000pont","telephone":"0612000006"})",
       "application/json", 400},
      {"JSON \\u0000 in a name", "zr7", R"({"nom\u0000x":"Dupont","telephone":"0612000006"})",
       "application/json", 400},
      {"form %00", "zr7", "nom=Du%00pont&telephone=0612000006", form, 400},
      {"over 16 KiB", "zr7", big, "application/json", 413},
      {"unknown entity", "abc", leadJson(phone(6)), "application/json", 404},
      {"entity sub-path", "zr7/x", leadJson(phone(6)), "application/json", 404},
      {"text/plain", "zr7", leadJson(phone(6)), "text/plain", 415},
  };
  for (const Case& c : cases) {
    auto r = http("POST", gateway_->url("/v1/leads/" + c.path), c.body,
                  {"Content-Type: " + c.contentType});
    EXPECT_EQ(r.code, c.code) << c.what << ": " << describe(r);
    if (r.code >= 400) {
      EXPECT_TRUE(has(Json(r.body).root(), "error")) << c.what << ": " << r.body;
    }
  }
  auto longKey = post("zr7", leadJson(phone(6)), "application/json",
                      {"Idempotency-Key: " + std::string(129, 'k')});
  EXPECT_EQ(longKey.code, 400) << describe(longKey);
  EXPECT_EQ(http("GET", gateway_->url("/v1/leads/zr7")).code, 405);
  EXPECT_EQ(http("GET", gateway_->url("/v1/leads/zr7")).headers["allow"], "POST, OPTIONS");
  EXPECT_EQ(http("DELETE", gateway_->url("/v1/leads/mdl")).code, 405);
  EXPECT_EQ(http("POST", gateway_->url("/healthz"), "x").code, 405);
  EXPECT_EQ(http("GET", gateway_->url("/")).code, 404);
  EXPECT_EQ(http("GET", gateway_->url("/v2/leads/zr7")).code, 404);
  EXPECT_TRUE(idsWithPhone(phone(6)).empty());
}

TEST_F(GatewayTest, RefusalsByRdzdAre422) {
  // A field over 4 × its bound (nom: 100 bytes) is refused outright (SPEC §3.2).
  auto tooLong = post("zr7", leadJson(phone(7), std::string(401, 'D')));
  ASSERT_EQ(tooLong.code, 422) << describe(tooLong);
  EXPECT_NE(textAt(Json(tooLong.body).root(), "error").find("4 times"), std::string::npos)
      << tooLong.body;
  EXPECT_TRUE(idsWithPhone(phone(7)).empty());

  // The same idempotency key with another body.
  auto first = post("zr7", leadJson(phone(8)), "application/json", {"Idempotency-Key: form-8"});
  ASSERT_EQ(first.code, 201) << describe(first);
  auto other =
      post("zr7", leadJson(phone(8), "Dupond"), "application/json", {"Idempotency-Key: form-8"});
  ASSERT_EQ(other.code, 422) << describe(other);
  EXPECT_NE(textAt(Json(other.body).root(), "error").find("idempotency"), std::string::npos)
      << other.body;
  EXPECT_EQ(idsWithPhone(phone(8)).size(), 1u);
}

TEST_F(GatewayTest, IdempotencyKeyIsPassedThrough) {
  auto a = post("zr7", leadJson(phone(9)), "application/json", {"Idempotency-Key: form-42"});
  auto b = post("zr7", leadJson(phone(9)), "application/json", {"Idempotency-Key: form-42"});
  ASSERT_EQ(a.code, 201) << describe(a);
  ASSERT_EQ(b.code, 201) << describe(b);
  EXPECT_EQ(textAt(Json(a.body).root(), "id"), textAt(Json(b.body).root(), "id"));
  EXPECT_EQ(textAt(Json(b.body).root(), "statut"), "new");  // the first answer, not a doublon
  EXPECT_EQ(idsWithPhone(phone(9)).size(), 1u);

  // Keys are per entity at rdzd: the same key and source for the other entity is a new lead.
  auto c = post("mdl", leadJson(phone(9)), "application/json", {"Idempotency-Key: form-42"});
  ASSERT_EQ(c.code, 201) << describe(c);
  EXPECT_NE(textAt(Json(c.body).root(), "id"), textAt(Json(a.body).root(), "id"));

  // Without a key, a second post is a second lead (a doublon, SPEC §3.2), not a replay.
  auto d = post("zr7", leadJson(phone(10)));
  auto e = post("zr7", leadJson(phone(10)));
  ASSERT_EQ(e.code, 201) << describe(e);
  EXPECT_EQ(textAt(Json(e.body).root(), "statut"), "invalid");
  EXPECT_EQ(idsWithPhone(phone(10)).size(), 2u);
}

// A public caller cannot claim another source's idempotency key: keys are scoped to the client
// address before they reach rdzd (before, the second source got 422 "already used").
TEST_F(GatewayTest, IdempotencyKeysAreScopedToTheirSource) {
  int port = gateway_->port();
  const std::string path = "/v1/leads/zr7";
  EXPECT_EQ(rawPost("127.0.0.1", port, path, leadJson(phone(30)), "Idempotency-Key: shared-1"),
            201);
  EXPECT_EQ(rawPost("127.0.0.2", port, path, leadJson(phone(31)), "Idempotency-Key: shared-1"),
            201);
  EXPECT_EQ(idsWithPhone(phone(30)).size(), 1u);
  EXPECT_EQ(idsWithPhone(phone(31)).size(), 1u);
  // The same source retrying gets its first answer: nothing new stored.
  EXPECT_EQ(rawPost("127.0.0.2", port, path, leadJson(phone(31)), "Idempotency-Key: shared-1"),
            201);
  EXPECT_EQ(idsWithPhone(phone(31)).size(), 1u);
  // A 128-byte key still fits once scoped.
  std::string longKey(128, 'k');
  EXPECT_EQ(rawPost("127.0.0.1", port, path, leadJson(phone(32)), "Idempotency-Key: " + longKey),
            201);
  EXPECT_EQ(gateway::sourceKey("127.0.0.1", longKey).size(), 67u);
  EXPECT_NE(gateway::sourceKey("127.0.0.1", "a"), gateway::sourceKey("127.0.0.12", ""));
}

TEST_F(GatewayTest, RateLimitPerClientIp) {
  startGateway({"--rate", "0.5", "--burst", "3"});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(post("zr7", "{").code, 400) << i;  // a token is taken before the body is read
  }
  auto limited = post("zr7", leadJson(phone(11)));
  ASSERT_EQ(limited.code, 429) << describe(limited);
  EXPECT_EQ(limited.headers["retry-after"], "2");
  EXPECT_TRUE(has(Json(limited.body).root(), "error"));
  EXPECT_TRUE(idsWithPhone(phone(11)).empty());
  // Monitoring is not limited.
  EXPECT_EQ(http("GET", gateway_->url("/healthz")).code, 200);
  EXPECT_EQ(metric(metrics(), "rdz_gateway_requests_total{code=\"429\"}"), 1);
  std::this_thread::sleep_for(2100ms);  // 0.5 token per second: one more post
  EXPECT_EQ(post("zr7", leadJson(phone(11))).code, 201);
  EXPECT_EQ(post("zr7", leadJson(phone(12))).code, 429);
}

// Slowloris: a client that sends its headers and 7 of 200 body bytes, or half its headers, is
// cut off after the timeout; past the per-IP cap, new connections from that IP are closed at
// once while other clients still post.
TEST_F(GatewayTest, SlowClientsAreCutOffAndConnectionsCappedPerIp) {
  startGateway(
      {"--body_timeout_ms", "600", "--header_timeout_ms", "600", "--max_connections_per_ip", "3"});
  int port = gateway_->port();
  std::vector<int> slow;
  for (int i = 0; i < 2; ++i) {
    int fd = connectFrom("127.0.0.1", port);
    ASSERT_GE(fd, 0);
    sendText(fd,
             "POST /v1/leads/zr7 HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
             "Content-Length: 200\r\n\r\n{\"nom\":");
    slow.push_back(fd);
  }
  int headers = connectFrom("127.0.0.1", port);
  ASSERT_GE(headers, 0);
  sendText(headers, "POST /v1/leads/zr7 HTTP/1.1\r\nHost: gate");
  slow.push_back(headers);
  std::this_thread::sleep_for(100ms);  // accepted by the gateway by now

  // A fourth connection from the same IP: closed at once, nothing answered.
  int fourth = connectFrom("127.0.0.1", port);
  ASSERT_GE(fourth, 0);
  std::string answer;
  auto refusedAfter = waitClosed(fourth, 2000ms, &answer);
  ASSERT_TRUE(refusedAfter.has_value()) << "past the per-IP cap, still open";
  EXPECT_LT(*refusedAfter, 400ms);
  EXPECT_EQ(answer, "");
  ::close(fourth);
  // Another client is not affected.
  EXPECT_EQ(rawPost("127.0.0.2", port, "/v1/leads/zr7", leadJson(phone(16))), 201);

  // The slow ones are cut off after their timeout (600 ms from their start), not before.
  for (int fd : slow) {
    auto closedAfter = waitClosed(fd, 5000ms);
    ASSERT_TRUE(closedAfter.has_value()) << "a slow client is still connected";
    ::close(fd);
  }
  auto text = metrics();
  EXPECT_EQ(metric(text, "rdz_gateway_connections_refused_total{reason=\"per_ip\"}"), 1) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_requests_total{code=\"408\"}"), 2) << text;
  // The IP's slots are free again.
  EXPECT_EQ(rawPost("127.0.0.1", port, "/v1/leads/zr7", leadJson(phone(17))), 201);
  EXPECT_EQ(idsWithPhone(phone(16)).size(), 1u);
  EXPECT_EQ(idsWithPhone(phone(17)).size(), 1u);
}

TEST_F(GatewayTest, SlowBodyIsCutOffAfterTheTimeoutNotBefore) {
  startGateway({"--body_timeout_ms", "700"});
  int fd = connectFrom("127.0.0.1", gateway_->port());
  ASSERT_GE(fd, 0);
  auto start = SteadyClock::now();
  sendText(fd,
           "POST /v1/leads/zr7 HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
           "Content-Length: 200\r\n\r\n{\"nom\":");
  std::this_thread::sleep_for(300ms);
  sendText(fd, "\"Dup");  // trickling bytes does not extend the deadline: it is for the body
  std::string answer;
  auto closed = waitClosed(fd, 5000ms, &answer);
  ::close(fd);
  ASSERT_TRUE(closed.has_value()) << "still open after 5 s";
  auto total = SteadyClock::now() - start;
  EXPECT_GE(total, 650ms);
  EXPECT_LT(total, 3000ms);
  EXPECT_EQ(answer.compare(0, 12, "HTTP/1.1 408"), 0) << answer;
}

TEST_F(GatewayTest, Cors) {
  auto preflight = http("OPTIONS", gateway_->url("/v1/leads/zr7"), "",
                        {"Origin: https://www.exemple.fr", "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: content-type, idempotency-key"});
  EXPECT_EQ(preflight.code, 204) << describe(preflight);
  EXPECT_EQ(preflight.headers["access-control-allow-origin"], "https://www.exemple.fr");
  EXPECT_NE(preflight.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  EXPECT_NE(preflight.headers["access-control-allow-headers"].find("Idempotency-Key"),
            std::string::npos);
  EXPECT_EQ(preflight.headers["vary"], "Origin");

  auto foreign = http("OPTIONS", gateway_->url("/v1/leads/zr7"), "",
                      {"Origin: https://ailleurs.example", "Access-Control-Request-Method: POST"});
  EXPECT_EQ(foreign.code, 403) << describe(foreign);
  EXPECT_EQ(foreign.headers.count("access-control-allow-origin"), 0u);

  auto allowed =
      post("zr7", leadJson(phone(13)), "application/json", {"Origin: https://exemple.fr"});
  ASSERT_EQ(allowed.code, 201) << describe(allowed);
  EXPECT_EQ(allowed.headers["access-control-allow-origin"], "https://exemple.fr");
  // Another origin's post is still a lead (never lose one); only the browser hides the answer.
  auto other =
      post("zr7", leadJson(phone(14)), "application/json", {"Origin: https://ailleurs.example"});
  ASSERT_EQ(other.code, 201) << describe(other);
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
}

TEST_F(GatewayTest, HealthzAndMetrics) {
  auto health = http("GET", gateway_->url("/healthz"));
  ASSERT_EQ(health.code, 200) << describe(health);
  EXPECT_EQ(health.body.rfind("ok\n", 0), 0u) << health.body;
  EXPECT_NE(health.body.find("rdzd: reachable"), std::string::npos) << health.body;

  ASSERT_EQ(post("zr7", leadJson(phone(15))).code, 201);
  ASSERT_EQ(post("zr7", "nope").code, 400);
  auto text = metrics();
  EXPECT_NE(text.find("# TYPE rdz_gateway_requests_total counter"), std::string::npos) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_requests_total{code=\"201\"}"), 1) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_requests_total{code=\"400\"}"), 1) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_requests_total{code=\"200\"}"), 1) << text;  // /healthz
  EXPECT_NE(text.find("# TYPE rdz_gateway_spool_depth gauge"), std::string::npos) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_spool_depth"), 0) << text;
  EXPECT_NE(text.find("# TYPE rdz_gateway_forward_seconds histogram"), std::string::npos);
  EXPECT_EQ(metric(text, "rdz_gateway_forward_seconds_count"), 1) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_forward_seconds_bucket{le=\"+Inf\"}"), 1) << text;
  EXPECT_GT(metric(text, "rdz_gateway_forward_seconds_sum"), 0) << text;
  EXPECT_EQ(metric(text, "rdz_gateway_rdzd_up{entity=\"ZR7\"}"), 1) << text;

  daemon_->stop();
  health = http("GET", gateway_->url("/healthz"));
  ASSERT_EQ(health.code, 200) << describe(health);  // the gateway itself is fine: it spools
  EXPECT_NE(health.body.find("rdzd: unreachable"), std::string::npos) << health.body;
  EXPECT_EQ(metric(metrics(), "rdz_gateway_rdzd_up{entity=\"ZR7\"}"), 0);
}

TEST_F(GatewayTest, WrongTokenSpoolsLeadsUntilTheConfigurationIsFixed) {
  // MDL configured with ZR7's token: rdzd accepts it, for the wrong entity. MDL leads are kept,
  // not lost and not stored under ZR7; ZR7 is unaffected.
  startGateway({"--mdl.token_file", ingestTokenFile("zr7")});
  auto mdl = post("mdl", leadJson(phone(80)));
  EXPECT_EQ(mdl.code, 202) << describe(mdl);
  EXPECT_EQ(post("zr7", leadJson(phone(81))).code, 201);
  auto health = http("GET", gateway_->url("/healthz"));
  EXPECT_NE(health.body.find("rdzd: unreachable (MDL)"), std::string::npos) << health.body;
  EXPECT_EQ(health.body.find(ingestTokenFile("zr7")), std::string::npos) << health.body;
  // The reason is in the log, for the operator.
  EXPECT_NE(gateway_->log().find("belongs to another entity"), std::string::npos);
  EXPECT_TRUE(idsWithPhone(phone(80)).empty());

  startGateway();  // fixed
  waitSpoolDrained();
  auto ids = idsWithPhone(phone(80));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(textAt(ctlJson({"lead", "show", ids[0]}).root(), "entity"), "MDL");
}

// ---- the spool -------------------------------------------------------------------------------

TEST_F(GatewayTest, RdzdDownLeadsAreSpooledThenStoredExactlyOnce) {
  ASSERT_EQ(post("zr7", leadJson(phone(20))).code, 201);  // connected first: then rdzd goes
  daemon_->stop();

  std::vector<std::string> spoolIds;
  for (int i = 21; i <= 30; ++i) {
    HttpResult r;
    if (i % 2 == 0) {
      r = post(i % 4 == 0 ? "zr7" : "mdl", leadJson(phone(i)), "application/json",
               i % 3 == 0 ? std::vector<std::string>{"Idempotency-Key: k-" + std::to_string(i)}
                          : std::vector<std::string>{});
    } else {
      r = post("zr7",
               "produit=ITE&nom=Lef%C3%A8vre&prenom=Ana%C3%AFs&telephone=" + phone(i) +
                   "&code_postal=69003&consentement=oui",
               "application/x-www-form-urlencoded");
    }
    ASSERT_EQ(r.code, 202) << describe(r);
    spoolIds.push_back(textAt(Json(r.body).root(), "spool_id"));
  }
  // A client retrying with its key while rdzd is away: two spool entries, one lead.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = post("zr7", leadJson(phone(31)), "application/json", {"Idempotency-Key: retry-31"});
    ASSERT_EQ(r.code, 202) << describe(r);
    spoolIds.push_back(textAt(Json(r.body).root(), "spool_id"));
  }
  std::sort(spoolIds.begin(), spoolIds.end());
  EXPECT_EQ(std::unique(spoolIds.begin(), spoolIds.end()), spoolIds.end()) << "spool ids unique";
  // What rdzd would refuse is refused now, not accepted and lost later.
  auto refused = post("zr7", leadJson(phone(32), std::string(500, 'D')));
  EXPECT_EQ(refused.code, 422) << describe(refused);
  // Still 400 for garbage: the spool takes leads, not noise.
  EXPECT_EQ(post("zr7", "{\"nom\":").code, 400);

  auto health = http("GET", gateway_->url("/healthz"));
  EXPECT_NE(health.body.find("rdzd: unreachable"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("spool_depth: 12"), std::string::npos) << health.body;
  auto before = metrics();
  EXPECT_EQ(metric(before, "rdz_gateway_spool_depth"), 12) << before;
  EXPECT_EQ(metric(before, "rdz_gateway_requests_total{code=\"202\"}"), 12) << before;

  daemon_->start();
  waitSpoolDrained();
  auto after = metrics();
  EXPECT_EQ(metric(after, "rdz_gateway_replayed_total"), 12) << after;
  EXPECT_EQ(metric(after, "rdz_gateway_spool_refused_total"), 0) << after;
  for (int i = 20; i <= 31; ++i) {
    EXPECT_EQ(idsWithPhone(phone(i)).size(), 1u) << phone(i);
  }
  EXPECT_TRUE(idsWithPhone(phone(32)).empty());
  auto shown = ctlJson({"lead", "show", idsWithPhone(phone(21))[0]});
  EXPECT_EQ(textAt(shown.root(), "prenom"), "Anaïs");
  EXPECT_EQ(textAt(shown.root(), "statut"), "new");
  // A drained spool keeps no lead data on disk: its segments are gone.
  for (auto& file : std::filesystem::directory_iterator(tmp_ / "spool")) {
    EXPECT_NE(file.path().extension(), ".seg") << file.path();
  }
  // And a lead posted now goes straight through again.
  EXPECT_EQ(post("zr7", leadJson(phone(33))).code, 201);
}

TEST_F(GatewayTest, GatewayKilledDuringBurstLosesNothingAcknowledged) {
  struct Outcome {
    std::string tel;
    long code;
  };
  std::mutex mutex;
  std::vector<Outcome> outcomes;
  std::string url = gateway_->url("/v1/leads/");
  std::atomic<int> next{100};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t]() {
      while (!stop.load()) {
        int n = next.fetch_add(1);
        std::string tel = phone(n);
        std::string base;
        {
          std::lock_guard<std::mutex> lock(mutex);
          base = url;
        }
        std::vector<std::string> headers = {"Content-Type: application/json"};
        if (n % 2 == 0) headers.push_back("Idempotency-Key: burst-" + std::to_string(n));
        auto r = http("POST", base + (t == 2 ? "mdl" : "zr7"), leadJson(tel), headers, 5000);
        {
          std::lock_guard<std::mutex> lock(mutex);
          outcomes.push_back({tel, r.code});
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(r.code == 0 ? 40 : 25));
      }
    });
  }
  std::this_thread::sleep_for(400ms);  // rdzd up: 201s
  daemon_->kill9();
  std::this_thread::sleep_for(400ms);  // rdzd down: 202s
  gateway_->kill9();                   // in the middle of posts
  std::this_thread::sleep_for(150ms);
  gateway_->start();  // same spool dir, a new port
  {
    std::lock_guard<std::mutex> lock(mutex);
    url = gateway_->url("/v1/leads/");
  }
  std::this_thread::sleep_for(400ms);  // still down: 202s again
  daemon_->start();
  std::this_thread::sleep_for(400ms);  // back: 201s and the replay
  stop = true;
  for (auto& c : clients) c.join();
  waitSpoolDrained();

  std::map<long, int> byCode;
  for (const Outcome& o : outcomes) ++byCode[o.code];
  EXPECT_GT(byCode[201], 0);
  EXPECT_GT(byCode[202], 0);
  for (const Outcome& o : outcomes) {
    size_t stored = idsWithPhone(o.tel).size();
    if (o.code == 201 || o.code == 202) {
      EXPECT_EQ(stored, 1u) << o.tel << " was answered " << o.code;
    } else {
      // No answer (the gateway died, or refused the connection): stored at most once.
      EXPECT_LE(stored, 1u) << o.tel << " was answered " << o.code;
    }
  }
  std::string summary;
  for (auto& [code, count] : byCode) summary += fmt::format(" {}×{}", count, code);
  RecordProperty("outcomes", summary);
  std::printf("answers (count×code, 0 = no answer):%s\n", summary.c_str());
}

TEST_F(GatewayTest, GatewayKilledDuringReplayResumesWithoutDuplicates) {
  daemon_->stop();
  for (int i = 70; i < 100; ++i) ASSERT_EQ(post("zr7", leadJson(phone(i))).code, 202) << i;
  daemon_->start();
  // Kill the gateway in the middle of the replay: some leads acknowledged by rdzd, maybe one
  // acknowledged but not yet marked done. The restarted gateway replays from its done position.
  auto deadline = SteadyClock::now() + 10s;
  while (metric(metrics(), "rdz_gateway_replayed_total") < 5) {
    ASSERT_LT(SteadyClock::now(), deadline);
    std::this_thread::sleep_for(5ms);
  }
  gateway_->kill9();
  startGateway();
  std::printf("left in the spool after kill -9: %.0f of 30\n",
              metric(metrics(), "rdz_gateway_spool_depth"));
  waitSpoolDrained();
  for (int i = 70; i < 100; ++i) EXPECT_EQ(idsWithPhone(phone(i)).size(), 1u) << phone(i);
}

TEST_F(GatewayTest, SilentRdzdTimesOutIntoTheSpoolAndLeadsAreStoredOnce) {
  startGateway({"--forward_timeout_ms", "400"});
  ASSERT_EQ(post("zr7", leadJson(phone(60))).code, 201);
  // A stopped rdzd: the connection stays open, nothing answers. The gateway answers 202 once its
  // timeout passes; rdzd may or may not have received the lead, so only the idempotency key
  // (generated by the gateway when the client gave none) keeps the replay from storing it twice.
  ASSERT_EQ(::kill(daemon_->pid(), SIGSTOP), 0);
  auto start = SteadyClock::now();
  auto noKey = post("zr7", leadJson(phone(61)));
  auto withKey = post("mdl", leadJson(phone(62)), "application/json", {"Idempotency-Key: slow-62"});
  auto elapsed = SteadyClock::now() - start;
  ::kill(daemon_->pid(), SIGCONT);
  EXPECT_EQ(noKey.code, 202) << describe(noKey);
  EXPECT_EQ(withKey.code, 202) << describe(withKey);
  EXPECT_GE(elapsed, 800ms);
  waitSpoolDrained();
  EXPECT_EQ(idsWithPhone(phone(61)).size(), 1u);
  EXPECT_EQ(idsWithPhone(phone(62)).size(), 1u);
  EXPECT_EQ(textAt(ctlJson({"lead", "show", idsWithPhone(phone(61))[0]}).root(), "statut"), "new");
}

TEST_F(GatewayTest, SpoolSurvivesGatewayRestartWhileRdzdIsDown) {
  daemon_->stop();
  for (int i = 40; i < 45; ++i) ASSERT_EQ(post("zr7", leadJson(phone(i))).code, 202);
  EXPECT_EQ(gateway_->stop(), 0);  // SIGTERM: a clean exit
  startGateway();
  EXPECT_EQ(metric(metrics(), "rdz_gateway_spool_depth"), 5);
  EXPECT_NE(gateway_->log().find("5 leads waiting for rdzd"), std::string::npos);
  daemon_->start();
  waitSpoolDrained();
  for (int i = 40; i < 45; ++i) EXPECT_EQ(idsWithPhone(phone(i)).size(), 1u) << phone(i);
}

// rdzd reached over TCP with TLS (SPEC §8.1): the gateway trusts only the CA it is given, and a
// lead posted while it cannot verify rdzd is spooled, not lost, and stored once it can.
// ---- the public form: consent proof, reception time, thank-you page, honeypot ------------------

class GatewayFormTest : public GatewayTest {
 protected:
  Json lead(const std::string& tel) {
    auto ids = idsWithPhone(tel);
    if (ids.size() != 1) throw std::runtime_error(fmt::format("{} leads of {}", ids.size(), tel));
    return ctlJson({"lead", "show", ids[0]});
  }
  static std::vector<std::string> events(const Json& shown, const std::string& name) {
    std::vector<std::string> details;
    for (auto h : array(at(shown.root(), "history"))) {
      if (textAt(h, "event") == name) details.push_back(textAt(h, "detail"));
    }
    return details;
  }
  static Timestamp timeAt(const Json& shown, const std::string& name) {
    auto t = parseIso(textAt(shown.root(), name));
    if (!t) throw std::runtime_error(name + " is not a time");
    return *t;
  }
  static std::string form(int n, const std::string& extra = "") {
    return "produit=PV&nom=Lef%C3%A8vre&prenom=Ana%C3%AFs&telephone=" + phone(n) +
           "&code_postal=33000&consentement=oui" + extra;
  }
  static constexpr const char* BROWSER = "Accept: text/html,application/xhtml+xml,*/*;q=0.8";
  static constexpr const char* FORM = "application/x-www-form-urlencoded";
};

TEST_F(GatewayFormTest, TheRequestIsTheProofWhereTheFormSaysNothing) {
  // Behind a trusted reverse proxy: the client address is the one the proxy saw.
  startGateway({"--trusted_proxies", "127.0.0.1", "--honeypot_field", "site_web",
                "--zr7.merci_urls", "https://landing.example/merci"});
  auto r = post("zr7", form(40, "&merci_url=https%3A%2F%2Flanding.example%2Fmerci&site_web="), FORM,
                {"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                 "Referer: https://landing.example/pac?utm_source=ete",
                 "X-Forwarded-For: 198.51.100.23", "Origin: https://landing.example"});
  ASSERT_EQ(r.code, 201) << describe(r);  // not a browser (no Accept: text/html): its JSON
  EXPECT_EQ(textAt(Json(r.body).root(), "statut"), "new");
  auto shown = lead(phone(40));
  EXPECT_EQ(textAt(shown.root(), "ip"), "198.51.100.23");
  EXPECT_EQ(textAt(shown.root(), "user_agent"), "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
  EXPECT_EQ(textAt(shown.root(), "page_url"), "https://landing.example/pac?utm_source=ete");
  EXPECT_EQ(textAt(shown.root(), "requete_ip"), "198.51.100.23");
  // The gateway's own fields are never lead fields (no ".unexpected" either).
  EXPECT_TRUE(texts(at(shown.root(), "problemes")).empty()) << r.body;
  ASSERT_EQ(events(shown, "preuve").size(), 1u);
  EXPECT_NE(events(shown, "preuve")[0].find("requête: ip \"198.51.100.23\""), std::string::npos);

  // What the page sent itself is kept; the request's values stay beside it. Without a Referer,
  // the Origin names the page.
  r = post("zr7", form(41, "&ip=192.0.2.8&page_url=https%3A%2F%2Flanding.example%2Fform"), FORM,
           {"User-Agent: curl/8", "Origin: https://other.example"});
  ASSERT_EQ(r.code, 201) << describe(r);
  shown = lead(phone(41));
  EXPECT_EQ(textAt(shown.root(), "ip"), "192.0.2.8");
  EXPECT_EQ(textAt(shown.root(), "page_url"), "https://landing.example/form");
  EXPECT_EQ(textAt(shown.root(), "user_agent"), "curl/8");
  EXPECT_EQ(textAt(shown.root(), "requete_ip"), "127.0.0.1");  // no X-Forwarded-For: the proxy
  EXPECT_EQ(textAt(shown.root(), "requete_page_url"), "https://other.example");
  EXPECT_EQ(events(shown, "preuve")[0],
            "formulaire: ip \"192.0.2.8\", user_agent \"\", page_url "
            "\"https://landing.example/form\"; requête: ip \"127.0.0.1\", user_agent \"curl/8\", "
            "page_url \"https://other.example\"");

  // The certificate a broker sends.
  auto text = ctlOk({"lead", "consent", idsWithPhone(phone(41))[0]});
  EXPECT_NE(text.find("Adresse IP : 192.0.2.8"), std::string::npos) << text;
  EXPECT_NE(text.find("Requête HTTP : adresse IP : 127.0.0.1"), std::string::npos) << text;
  EXPECT_NE(text.find("Entité : ZR7"), std::string::npos) << text;
  auto json = ctlJson({"lead", "consent", idsWithPhone(phone(41))[0]});
  EXPECT_EQ(textAt(json.root(), "ip"), "192.0.2.8");
  EXPECT_EQ(textAt(json.root(), "recu_le"), textAt(shown.root(), "recu_le"));
  EXPECT_EQ(textAt(json.root(), "entite"), "ZR7");

  // A client delivered by API may get the proof with every lead (poster-test checks the JSON).
  ctlOk({"client", "add", "--entity", "ZR7", "--nom", "Api", "--email", "a@api.example", "--id",
         "api", "--methode", "api", "--api-url", "https://api.example/leads", "--api-consent",
         "oui"});
  EXPECT_TRUE(boolAt(ctlJson({"client", "show", "api"}).root(), "api_consent"));
  ctlOk({"client", "set", "api", "--nom", "Api SA"});  // kept when not given
  EXPECT_TRUE(boolAt(ctlJson({"client", "show", "api"}).root(), "api_consent"));
  ctlOk({"client", "set", "api", "--api-consent", "non"});
  EXPECT_FALSE(boolAt(ctlJson({"client", "show", "api"}).root(), "api_consent"));
  EXPECT_EQ(ctl({"client", "set", "api", "--api-consent", "peut-etre"}).exitCode, 2);
}

TEST_F(GatewayFormTest, ThankYouPagesOnTheAllowListOnlyAndAHoneypotAnsweredAsAccepted) {
  startGateway({"--honeypot_field", "site_web", "--zr7.merci_urls",
                "https://landing.example/merci, https://landing.example/fin/*"});
  // A browser's form naming an allowed page: 303 to it.
  auto r = post("zr7", form(50, "&merci_url=https%3A%2F%2Flanding.example%2Ffin%2Fpac%3Fx%3D1"),
                FORM, {BROWSER, "Referer: https://landing.example/pac"});
  EXPECT_EQ(r.code, 303) << describe(r);
  EXPECT_EQ(r.headers["location"], "https://landing.example/fin/pac?x=1");
  EXPECT_EQ(idsWithPhone(phone(50)).size(), 1u);

  // Anything else is ignored: the gateway's page, with a link back to the page (escaped).
  int n = 51;
  for (const char* evil :
       {"https://landing.example.evil.org/merci", "//evil.org/merci",
        "https://landing.example@evil.org/merci", "https://evil.org\\@landing.example/merci",
        "https://landing.example/fin/../../evil", "javascript:alert(1)",
        "https://landing.example/merci/other"}) {
    std::string encoded;
    for (unsigned char c : std::string(evil)) encoded += fmt::format("%{:02X}", c);
    r = post("zr7", form(n, "&merci_url=" + encoded), FORM,
             {BROWSER, "Referer: https://landing.example/pac?a=1&b=\"2\""});
    EXPECT_EQ(r.code, 201) << evil << ": " << describe(r);
    EXPECT_EQ(r.headers.count("location"), 0u) << evil;
    EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(idsWithPhone(phone(n)).size(), 1u) << evil;
    ++n;
  }
  EXPECT_EQ(r.body.find("Retour au site"), std::string::npos) << "a Referer with \" gets no link";
  r = post("zr7", form(n++), FORM, {BROWSER, "Referer: https://landing.example/pac?a=1&b=2"});
  EXPECT_EQ(r.code, 201);
  EXPECT_NE(r.body.find("<a href=\"https://landing.example/pac?a=1&amp;b=2\">Retour au site</a>"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("Merci"), std::string::npos);
  // The other entity's list is its own.
  r = post("mdl", form(n++, "&merci_url=https%3A%2F%2Flanding.example%2Fmerci"), FORM, {BROWSER});
  EXPECT_EQ(r.code, 201) << describe(r);
  // JSON callers keep their JSON.
  r = post(
      "zr7",
      R"({"produit":"PV","nom":"Dupont","prenom":"Luc","telephone":")" + phone(n++) +
          R"(","code_postal":"33000","consentement":true,"merci_url":"https://landing.example/merci"})",
      "application/json", {"Accept: text/html"});
  EXPECT_EQ(r.code, 201) << describe(r);
  EXPECT_EQ(r.headers["content-type"], "application/json; charset=utf-8");

  // The honeypot: stored invalid (collect 100%), answered as any accepted lead.
  r = post("zr7", form(70, "&site_web=http%3A%2F%2Fspam.example"), FORM);
  ASSERT_EQ(r.code, 201) << describe(r);
  Json answer(r.body);
  EXPECT_EQ(textAt(answer.root(), "statut"), "new");
  EXPECT_TRUE(texts(at(answer.root(), "problemes")).empty());
  auto shown = lead(phone(70));
  EXPECT_EQ(textAt(shown.root(), "id"), textAt(answer.root(), "id"));
  EXPECT_EQ(textAt(shown.root(), "statut"), "invalid");
  EXPECT_EQ(texts(at(shown.root(), "problemes")), std::vector<std::string>{"spam.honeypot"});
  r = post("zr7", form(71, "&site_web=x&merci_url=https%3A%2F%2Flanding.example%2Fmerci"), FORM,
           {BROWSER});
  EXPECT_EQ(r.code, 303) << describe(r);
  EXPECT_EQ(textAt(lead(phone(71)).root(), "statut"), "invalid");

  // While rdzd is away: the 202 redirects the same way, and the honeypot mark is spooled.
  daemon_->stop();
  r = post("zr7", form(72, "&merci_url=https%3A%2F%2Flanding.example%2Fmerci"), FORM, {BROWSER});
  EXPECT_EQ(r.code, 303) << describe(r);
  r = post("zr7", form(73, "&site_web=1"), FORM);
  EXPECT_EQ(r.code, 202) << describe(r);
  daemon_->start();
  waitSpoolDrained();
  EXPECT_EQ(textAt(lead(phone(72)).root(), "statut"), "new");
  EXPECT_EQ(textAt(lead(phone(73)).root(), "statut"), "invalid");
  EXPECT_EQ(texts(at(lead(phone(73)).root(), "problemes")),
            std::vector<std::string>{"spam.honeypot"});
}

TEST_F(GatewayFormTest, ASpooledLeadKeepsItsAcceptanceTimeAndJoinsTheRunAfterIt) {
  ASSERT_EQ(post("zr7", form(80), FORM).code, 201);  // connected first: then rdzd goes
  ctlOk({"client", "add", "--entity", "ZR7", "--nom", "Soleil", "--email", "achat@soleil.example",
         "--id", "soleil"});
  ctlOk({"commande", "add", "--client", "soleil", "--produit", "PV", "--quota-semaine", "100",
         "--departements", "33", "--jours", "lun,mar,mer,jeu,ven,sam,dim"});
  daemon_->stop();
  auto before = std::chrono::system_clock::now();
  auto r = post("zr7", form(81), FORM,
                {"User-Agent: Spooled/1.0", "Referer: https://landing.example/x"});
  auto after = std::chrono::system_clock::now();
  ASSERT_EQ(r.code, 202) << describe(r);
  // The run's reference time T: after the gateway accepted the lead, before rdzd gets it back.
  Timestamp T = std::chrono::ceil<std::chrono::seconds>(
      std::chrono::time_point_cast<Duration>(after) + std::chrono::milliseconds(500));
  std::this_thread::sleep_until(T + std::chrono::seconds(2));
  daemon_->start();
  waitSpoolDrained();
  ASSERT_EQ(post("zr7", form(82), FORM).code, 201);  // received after T: not part of T's run

  auto shown = lead(phone(81));
  Timestamp recu = timeAt(shown, "recu_le");
  // The gateway's acceptance time, to the second (not the replay, 2 s or more later).
  EXPECT_GE(recu, std::chrono::floor<std::chrono::seconds>(
                      std::chrono::time_point_cast<Duration>(before)));
  EXPECT_LE(recu, std::chrono::time_point_cast<Duration>(after));
  EXPECT_LT(recu, T);
  EXPECT_EQ(textAt(shown.root(), "consentement_le"), textAt(shown.root(), "recu_le"));
  EXPECT_EQ(textAt(shown.root(), "user_agent"), "Spooled/1.0");  // the proof travelled too
  EXPECT_EQ(textAt(shown.root(), "page_url"), "https://landing.example/x");
  auto transmitted = events(shown, "transmis");
  ASSERT_EQ(transmitted.size(), 1u);
  EXPECT_NE(transmitted[0].find("rejeu du spool"), std::string::npos) << transmitted[0];
  for (auto h : array(at(shown.root(), "history"))) {
    if (textAt(h, "event") != "transmis") continue;
    Timestamp replayed = *parseIso(textAt(h, "at"));
    EXPECT_GE(replayed - recu, std::chrono::seconds(2));  // the replay time, kept apart
  }

  // The run of T takes it; the lead received after T waits for the next run.
  // No SMTP server listens here: the batch may already have failed its first attempt when
  // deliver reads it back (exit 1). The allocation is what this test is about.
  RunResult delivered = ctl({"--json", "deliver", "--at", formatIso(T), "--wait", "0"});
  ASSERT_LE(delivered.exitCode, 1) << describe(delivered);
  Json run(delivered.out);
  EXPECT_EQ(numberAt(at(run.root(), "run"), "assigned"), 2) << formatIso(T);
  EXPECT_EQ(textAt(lead(phone(81)).root(), "statut"), "delivered");
  EXPECT_EQ(textAt(lead(phone(80)).root(), "statut"), "delivered");
  EXPECT_EQ(textAt(lead(phone(82)).root(), "statut"), "new");
}

class GatewayBrowserTest : public GatewayFormTest {
 protected:
  // A free TCP port on 127.0.0.1 (the landing pages' server is told it before it starts).
  static int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    socklen_t length = sizeof addr;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    ::close(fd);
    return ntohs(addr.sin_port);
  }
};

TEST_F(GatewayBrowserTest, ARealBrowserPostsTheLandingPagesForm) {
  for (const char* program : {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
    if (!std::filesystem::exists(program)) {
      GTEST_SKIP() << program << " is missing: tools/install-deps.sh installs it";
    }
  }
  int pagePort = freePort();
  std::string origin = fmt::format("http://127.0.0.1:{}", pagePort);
  startGateway({"--honeypot_field", "site_web", "--zr7.merci_urls", origin + "/merci*"});
  RunOptions options;
  options.timeout = std::chrono::seconds(180);
  auto browser = runProgram(
      "/usr/bin/python3",
      {BROWSER_FORM_SCRIPT, "--gateway", gateway_->url(""), "--page-port", std::to_string(pagePort),
       "--phones", fmt::format("{},{},{},{}", phone(90), phone(91), phone(92), phone(93)),
       "--evil-url", origin.substr(0, origin.rfind(':')) + ".evil.example/merci.html"},
      options);
  ASSERT_EQ(browser.exitCode, 0) << describe(browser);
  Json result(browser.out);
  std::string userAgent = textAt(result.root(), "user_agent");
  EXPECT_NE(userAgent.find("Chrome/"), std::string::npos) << userAgent;
  auto cases = at(result.root(), "cases");

  // The allowed thank-you page: the visitor stays on the landing page's site.
  auto merci = at(cases, "merci");
  EXPECT_EQ(textAt(merci, "final"), origin + "/merci.html");
  auto shown = lead(phone(90));
  EXPECT_EQ(textAt(shown.root(), "statut"), "new");
  EXPECT_TRUE(texts(at(shown.root(), "problemes")).empty());
  EXPECT_EQ(textAt(shown.root(), "nom"), "Lefèvre");
  EXPECT_EQ(textAt(shown.root(), "ip"), "127.0.0.1");
  EXPECT_EQ(textAt(shown.root(), "user_agent"), userAgent);
  EXPECT_EQ(textAt(shown.root(), "page_url"), textAt(merci, "page"));
  EXPECT_EQ(textAt(shown.root(), "consentement_texte"),
            "J'accepte d'être rappelé au sujet de mon projet.");

  // A page not on the list is ignored: the gateway's "Merci", with the way back.
  auto evil = at(cases, "evil");
  EXPECT_EQ(textAt(evil, "final"), gateway_->url("/v1/leads/zr7"));
  EXPECT_EQ(textAt(evil, "title"), "Merci");
  EXPECT_EQ(textAt(evil, "back"), textAt(evil, "page"));
  EXPECT_EQ(textAt(lead(phone(91)).root(), "statut"), "new");

  // The robot that filled the hidden field sees what a person sees; its lead is invalid.
  auto bot = at(cases, "bot");
  EXPECT_EQ(textAt(bot, "final"), origin + "/merci.html");
  auto robot = lead(phone(92));
  EXPECT_EQ(textAt(robot.root(), "statut"), "invalid");
  EXPECT_EQ(texts(at(robot.root(), "problemes")), std::vector<std::string>{"spam.honeypot"});

  // Without a referrer policy a browser sends only the page's origin: that is what is proven.
  auto plain = at(cases, "plain");
  EXPECT_EQ(textAt(plain, "final"), gateway_->url("/v1/leads/zr7"));
  EXPECT_EQ(textAt(lead(phone(93)).root(), "page_url"), origin + "/");
  EXPECT_EQ(textAt(plain, "back"), origin + "/");
  EXPECT_EQ(textAt(lead(phone(93)).root(), "user_agent"), userAgent);
}

class GatewayOverTlsTest : public GatewayTest {
 protected:
  GatewayOverTlsTest() {
    makeCa(tmp_.path(), "ca");
    makeCa(tmp_.path(), "other-ca");
    makeServerCert(tmp_.path(), "ca");
  }
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--listen",          address(),   "--tls_cert",
            tmp_ / "server.pem", "--tls_key", tmp_ / "server.key"};
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port_ = test::freePort();
};

TEST_F(GatewayOverTlsTest, ForwardsOverTlsTrustingOnlyItsCa) {
  // A CA that did not sign rdzd's certificate: no session, so the lead goes to the spool.
  startGateway({"--socket", tmp_ / "no-such.sock", "--connect", address(), "--ca_file",
                tmp_ / "other-ca.pem"});
  auto spooled = post("zr7", leadJson(phone(60)));
  EXPECT_EQ(spooled.code, 202) << describe(spooled);
  EXPECT_TRUE(idsWithPhone(phone(60)).empty());
  EXPECT_NE(gateway_->log().find("tls:" + address()), std::string::npos) << gateway_->log();

  // The right CA: live posts are stored (the socket is not used), the spooled one once.
  startGateway(
      {"--socket", tmp_ / "no-such.sock", "--connect", address(), "--ca_file", tmp_ / "ca.pem"});
  auto stored = post("zr7", leadJson(phone(61)));
  EXPECT_EQ(stored.code, 201) << describe(stored) << "\n" << gateway_->log();
  waitSpoolDrained();
  EXPECT_EQ(idsWithPhone(phone(60)).size(), 1u);
  EXPECT_EQ(idsWithPhone(phone(61)).size(), 1u);
}

// ---- configuration ---------------------------------------------------------------------------

TEST(GatewayConfig, EmbeddedDefaultNextToRdzd) {
  test::TempDir tmp;
  // rdzd on its embedded default (./rdz-data), the gateway with no flag but a free port.
  Daemon rdzd(tmp.path(), {}, "rdz-data/rdzd.sock", tmp / "rdzd.log");
  rdzd.start();
  GatewayProcess gateway(tmp.path(), {"--listen", "127.0.0.1:0"}, tmp / "gateway.log");
  gateway.start();
  auto r = http("POST", gateway.url("/v1/leads/zr7"), leadJson(phone(50)),
                {"Content-Type: application/json"});
  ASSERT_EQ(r.code, 201) << describe(r) << "\n" << gateway.log();
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "rdz-data/gateway-spool"));
  auto found = run({"--json", "lead", "find", "--phone", phone(50)}, inDir(tmp.path()));
  ASSERT_EQ(found.exitCode, 0) << rdz::e2e::describe(found);
  EXPECT_EQ(array(at(Json(found.out).root(), "leads")).size(), 1u);
  EXPECT_EQ(gateway.stop(), 0);
}

TEST(GatewayConfig, HelpAndBadFlags) {
  auto help = runProgram(RDZ_GATEWAY_PATH, {"--help"});
  EXPECT_EQ(help.exitCode, 0);
  for (const char* flag : {"--config",
                           "--listen",
                           "--socket",
                           "--zr7.token_file",
                           "--mdl.token_file",
                           "--spool_dir",
                           "--cors_origins",
                           "--rate",
                           "--burst",
                           "--trusted_proxies",
                           "--header_timeout_ms",
                           "--body_timeout_ms",
                           "--max_connections",
                           "--max_connections_per_ip",
                           "--spool_max_bytes",
                           "/v1/leads/{zr7|mdl}",
                           "/healthz",
                           "/metrics",
                           "127.0.0.1:8080",
                           "rdz-data/gateway-spool"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(runProgram(RDZ_GATEWAY_PATH, {"--no-such-flag"}).exitCode, 2);
  EXPECT_EQ(runProgram(RDZ_GATEWAY_PATH, {"--rate", "-1"}).exitCode, 2);

  // INI keys are the flags' names; [zr7] token_file is --zr7.token_file.
  test::TempDir tmp;
  test::writeFile(tmp / "gw.ini", "listen = 127.0.0.1:0\nspool_dir = " + tmp / "spool" +
                                      "\nsocket = " + tmp / "nothing.sock" +
                                      "\n[zr7]\ntoken_file = " + tmp / "none.token" + "\n");
  GatewayProcess gateway(tmp.path(), {"--config", tmp / "gw.ini"}, tmp / "gateway.log");
  gateway.start();
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "spool"));
  auto health = http("GET", gateway.url("/healthz"));
  EXPECT_NE(health.body.find("rdzd: unreachable"), std::string::npos) << health.body;
  // Public: status and depth only, no file paths or error details.
  EXPECT_EQ(health.body.find("none.token"), std::string::npos) << health.body;
  EXPECT_EQ(health.body.find(tmp.path()), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("spool: ok"), std::string::npos) << health.body;
  // A second gateway on the same spool is refused.
  auto twinRun = runProgram(RDZ_GATEWAY_PATH, {"--config", tmp / "gw.ini"});
  EXPECT_EQ(twinRun.exitCode, 1);
  EXPECT_NE(twinRun.err.find("in use by another rdz-gateway"), std::string::npos) << twinRun.err;
}

// ---- in-process: the spool's files -----------------------------------------------------------

using gateway::Spool;
using gateway::SpoolEntry;
using gateway::SpoolQueue;

SpoolEntry entry(int n) {
  SpoolEntry e{n % 2 ? Entity::MDL : Entity::ZR7,
               "key-" + std::to_string(n),
               1700000000000000 + n,
               {{"nom", "Dupont" + std::to_string(n)}, {"telephone", phone(n)}, {"vide", ""}}};
  // The request's proof, as a browser's post gives it (same size for every n: tests compare sizes).
  e.request = {fmt::format("203.0.113.{:03}", n % 250), fmt::format("Mozilla/5.0 n{:03}", n),
               fmt::format("https://landing.example/p{:03}", n), n % 3 == 1};
  return e;
}

gateway::SpoolOptions segmentsOf(size_t bytes) {
  gateway::SpoolOptions options;
  options.segmentBytes = bytes;
  return options;
}

std::vector<std::string> segments(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".seg" && e.path().filename() != "refused.seg") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GatewaySpool, AppendSyncReplayMarkDoneAndReopen) {
  test::TempDir tmp;
  std::string dir = tmp / "a/spool";  // parents created too
  {
    Spool spool(dir);
    EXPECT_EQ(spool.depth(), 0u);
    std::vector<std::string> ids;
    for (int n = 0; n < 3; ++n) ids.push_back(spool.append(entry(n)));
    EXPECT_TRUE(spool.readPending(10).empty()) << "not durable before sync()";
    spool.sync();
    EXPECT_EQ(spool.depth(), 3u);
    auto pending = spool.readPending(10);
    ASSERT_EQ(pending.size(), 3u);
    for (int n = 0; n < 3; ++n) {
      EXPECT_EQ(pending[n].entry, entry(n));
      EXPECT_EQ(pending[n].id, ids[n]);
    }
    EXPECT_EQ(spool.readPending(2).size(), 2u);
    spool.markDone(pending[0].next, 1);
    EXPECT_EQ(spool.depth(), 2u);
  }
  EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  {
    Spool spool(dir);  // recovery: the done position was kept
    EXPECT_EQ(spool.depth(), 2u);
    auto pending = spool.readPending(10);
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[0].entry, entry(1));
    spool.markDone(pending[1].next, 2);
    EXPECT_EQ(spool.depth(), 0u);
    EXPECT_TRUE(segments(dir).empty()) << "a drained spool deletes its segment";
    spool.append(entry(7));  // a new segment, after the drained one
    spool.sync();
  }
  Spool spool(dir);
  auto pending = spool.readPending(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].entry, entry(7));
}

// An entry in the spool's first format (version 1: no request), byte for byte as gateways wrote
// it before the request's proof was kept.
std::string versionOneEntry(Entity entity, const std::string& key, int64_t acceptedAt,
                            const Submission& fields) {
  auto u32 = [](std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto text = [&](std::string& out, const std::string& s) {
    u32(out, static_cast<uint32_t>(s.size()));
    out += s;
  };
  std::string payload;
  payload.push_back(1);
  payload.push_back(static_cast<char>(entity));
  u32(payload, static_cast<uint32_t>(acceptedAt));
  u32(payload, static_cast<uint32_t>(static_cast<uint64_t>(acceptedAt) >> 32));
  text(payload, key);
  u32(payload, static_cast<uint32_t>(fields.size()));
  for (auto& f : fields) {
    text(payload, f.name);
    text(payload, f.value);
  }
  std::string length;
  u32(length, static_cast<uint32_t>(payload.size()));
  std::string out;
  u32(out, 0x315a4452);
  out += length;
  u32(out, gateway::crc32c(payload.data(), payload.size(), gateway::crc32c(length.data(), 4)));
  return out + payload;
}

TEST(GatewaySpool, VersionOneEntriesStillReplayBesideNewOnes) {
  test::TempDir tmp;
  std::string dir = tmp / "spool";
  std::filesystem::create_directories(dir);
  Submission fields = {{"nom", "Dupont"}, {"telephone", phone(1)}};
  std::string old = versionOneEntry(Entity::MDL, "gw-old", 1700000000123456, fields);
  { std::ofstream(dir + "/0000000000000001.seg", std::ios::binary) << old; }
  Spool spool(dir);  // an upgraded gateway opens a spool a previous one left
  EXPECT_EQ(spool.depth(), 1u);
  spool.append(entry(0));
  spool.sync();
  auto pending = spool.readPending(10);
  ASSERT_EQ(pending.size(), 2u);
  SpoolEntry expected{Entity::MDL, "gw-old", 1700000000123456, fields};
  expected.version = 1;
  EXPECT_EQ(pending[0].entry, expected);
  EXPECT_EQ(pending[0].entry.request, HttpRequestProof{});
  EXPECT_EQ(Spool::encode(pending[0].entry), old);  // re-encoded (refused.seg) as it was
  EXPECT_EQ(pending[1].entry, entry(0));
  EXPECT_EQ(pending[1].entry.version, 2);
  EXPECT_FALSE(pending[1].entry.request.ip.empty());
  // A version 1 entry cannot carry a request.
  SpoolEntry mixed = entry(0);
  mixed.version = 1;
  EXPECT_ANY_THROW(Spool::encode(mixed));
}

TEST(GatewaySpool, TornLastWriteIsCutOffAndAppendsContinue) {
  test::TempDir tmp;
  std::string dir = tmp / "spool";
  {
    Spool spool(dir);
    spool.append(entry(1));
    spool.append(entry(2));
    spool.sync();
  }
  auto segs = segments(dir);
  ASSERT_EQ(segs.size(), 1u);
  std::string good = test::readFile(segs[0]);
  std::string third = Spool::encode(entry(3));
  for (size_t cut : {size_t(5), size_t(12), third.size() - 1}) {  // header, payload, last byte
    test::writeFile(segs[0], good + third.substr(0, cut));
    Spool spool(dir);
    EXPECT_EQ(spool.depth(), 2u) << cut;
    EXPECT_EQ(test::readFile(segs[0]), good) << "torn bytes cut off (" << cut << ")";
  }
  {
    // A bad checksum (a flipped byte in the last entry) is the same: that entry is dropped.
    std::string flipped = good + third;
    flipped[flipped.size() - 3] ^= 0x20;
    test::writeFile(segs[0], flipped);
    Spool spool(dir);
    EXPECT_EQ(spool.depth(), 2u);
    spool.append(entry(4));
    spool.sync();
  }
  Spool spool(dir);
  auto pending = spool.readPending(10);
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].entry, entry(1));
  EXPECT_EQ(pending[1].entry, entry(2));
  EXPECT_EQ(pending[2].entry, entry(4));
}

TEST(GatewaySpool, SegmentsRotateAndAreDeletedOnceReplayed) {
  test::TempDir tmp;
  std::string dir = tmp / "spool";
  size_t one = Spool::encode(entry(0)).size();
  {
    Spool spool(dir, segmentsOf(2 * one));  // two entries per segment (rotation at a sync)
    for (int n = 0; n < 7; ++n) {
      spool.append(entry(n));
      spool.sync();
    }
    EXPECT_EQ(segments(dir).size(), 4u);
    auto pending = spool.readPending(100);
    ASSERT_EQ(pending.size(), 7u);
    for (int n = 0; n < 7; ++n) EXPECT_EQ(pending[n].entry, entry(n)) << n;
    spool.markDone(pending[2].next, 3);  // into the second segment
    EXPECT_EQ(segments(dir).size(), 3u);
  }
  Spool spool(dir, segmentsOf(2 * one));
  EXPECT_EQ(spool.depth(), 4u);
  auto pending = spool.readPending(100);
  ASSERT_EQ(pending.size(), 4u);
  EXPECT_EQ(pending[0].entry, entry(3));
  EXPECT_EQ(pending[3].entry, entry(6));
  spool.markDone(pending[3].next, 4);
  EXPECT_TRUE(segments(dir).empty());
  EXPECT_EQ(spool.depth(), 0u);
}

// Damage anywhere in a spool costs at most the damaged entry. A spool of 4 entries in 2 segments is
// built once; then, for every byte offset of every segment file, eight cases flip each bit of that
// byte and one case cuts the file there, each on a fresh copy. After reopening, readPending must
// return every intact entry exactly once, in order, and never a wrong one; flipped bytes are kept
// in quarantine/, and the spool still takes appends after the damage.
TEST(GatewaySpool, EveryFlippedBitOrCutLosesOnlyTheDamagedEntry) {
  // On tmpfs when there is one: the spool's fsyncs are then free, and ~3300 reopened spools fit in
  // a few seconds instead of minutes (what is checked is what reaches the files).
  char pattern[] = "/dev/shm/rdz-spool-test-XXXXXX";
  std::optional<test::TempDir> fallback;
  std::string root;
  if (::mkdtemp(pattern) != nullptr) {
    root = pattern;
  } else {
    root = fallback.emplace().path();
  }
  KJ_DEFER(if (!fallback) std::filesystem::remove_all(root));
  std::string base = root + "/base";
  size_t one = Spool::encode(entry(0)).size();
  {
    Spool spool(base, segmentsOf(2 * one));  // two entries per segment
    for (int n = 0; n < 4; ++n) {
      spool.append(entry(n));
      spool.sync();
    }
  }
  auto segs = segments(base);
  ASSERT_EQ(segs.size(), 2u);
  struct Placed {
    size_t segment, offset, size;
    int n;
  };
  std::vector<Placed> layout;
  std::vector<std::string> contents;
  for (size_t s = 0, n = 0; s < segs.size(); ++s) {
    contents.push_back(test::readFile(segs[s]));
    for (size_t offset = 0; offset < contents[s].size(); ++n) {
      size_t size = Spool::encode(entry(static_cast<int>(n))).size();
      layout.push_back({s, offset, size, static_cast<int>(n)});
      offset += size;
    }
  }
  ASSERT_EQ(layout.size(), 4u);

  auto start = SteadyClock::now();
  int cases = 0;
  std::string dir = root + "/case";
  // Copies the spool, damages segment `s` at `offset` (flips `bit`, or cuts when `cut`), reopens
  // and checks what is read back.
  auto check = [&](size_t s, size_t offset, int bit, bool cut) {
    ++cases;
    std::filesystem::remove_all(dir);
    std::filesystem::copy(base, dir);
    std::string bytes = contents[s];
    if (cut) {
      bytes.resize(offset);
    } else {
      bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << bit));
    }
    test::writeFile(segments(dir)[s], bytes);
    std::vector<SpoolEntry> expected;
    size_t damagedSize = 0;
    for (const Placed& p : layout) {
      bool intact = p.segment != s || (cut ? p.offset + p.size <= offset
                                           : offset < p.offset || offset >= p.offset + p.size);
      if (intact) {
        expected.push_back(entry(p.n));
      } else if (!cut) {
        damagedSize = p.size;
      } else if (p.offset < offset) {
        damagedSize = offset - p.offset;  // the torn part of the entry the cut goes through
      }
    }
    std::string what = cut ? fmt::format("cut segment {} at offset {}", s, offset)
                           : fmt::format("flip bit {} of segment {} at offset {}", bit, s, offset);
    Spool spool(dir, segmentsOf(2 * one));
    EXPECT_EQ(spool.depth(), expected.size()) << what;
    auto pending = spool.readPending(100);
    std::vector<SpoolEntry> got;
    for (auto& p : pending) got.push_back(p.entry);
    EXPECT_EQ(got, expected) << what;
    // The damaged bytes are kept, not erased: quarantine/ holds exactly them.
    size_t quarantined = 0;
    if (std::filesystem::is_directory(dir + "/quarantine")) {
      for (auto& q : std::filesystem::directory_iterator(dir + "/quarantine")) {
        quarantined += std::filesystem::file_size(q.path());
      }
    }
    EXPECT_EQ(quarantined, damagedSize) << what;
    // Appends continue, after everything that was intact.
    spool.append(entry(9));
    spool.sync();
    pending = spool.readPending(100);
    ASSERT_FALSE(pending.empty()) << what;
    EXPECT_EQ(pending.size(), expected.size() + 1) << what;
    EXPECT_EQ(pending.back().entry, entry(9)) << what;
  };
  for (size_t s = 0; s < segs.size(); ++s) {
    for (size_t offset = 0; offset < contents[s].size(); ++offset) {
      for (int bit = 0; bit < 8; ++bit) check(s, offset, bit, false);
      check(s, offset, 0, true);
      if (::testing::Test::HasFailure()) return;  // one case's story is enough to read
    }
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  RecordProperty("cases", cases);
  std::printf("%d damaged spools checked in %.2f s\n", cases, seconds);
}

TEST(GatewaySpool, QueueGroupsAppendsAndResolvesOnTheLoop) {
  test::TempDir tmp;
  Spool spool(tmp / "spool");
  auto io = kj::setupAsyncIo();
  {
    SpoolQueue queue(spool);
    auto appends = kj::heapArrayBuilder<kj::Promise<std::string>>(50);
    for (int n = 0; n < 50; ++n) appends.add(queue.append(entry(n)));
    auto ids = kj::joinPromises(appends.finish()).wait(io.waitScope);
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 50u);
    EXPECT_EQ(queue.depth(), 50u);
    auto pending = queue.readPending(100).wait(io.waitScope);
    ASSERT_EQ(pending.size(), 50u);
    for (int n = 0; n < 50; ++n) EXPECT_EQ(pending[n].entry, entry(n));
    queue.refuse(pending[0]).wait(io.waitScope);
    queue.markDone(pending[0].next, 1).wait(io.waitScope);
    EXPECT_EQ(queue.depth(), 49u);
  }
  EXPECT_TRUE(std::filesystem::exists(tmp / "spool/refused.seg"));
}

// Fails chosen system calls of the spool, by call number (1 = the first call after the spool was
// opened): a torn write writes half its bytes, then the next write call fails (ENOSPC); a failed
// sync or truncate returns EIO. `hold` makes fdatasync wait, so that jobs queue up behind it and
// form one group.
class FaultyIo final : public gateway::SpoolIo {
 public:
  ssize_t write(int fd, const void* data, size_t size) override {
    int n = ++writes;
    if (failNextWrite) {
      failNextWrite = false;
      errno = ENOSPC;
      return -1;
    }
    if (tornWrites.count(n) != 0) {
      failNextWrite = true;
      return ::write(fd, data, size / 2);
    }
    return ::write(fd, data, size);
  }
  int fdatasync(int fd) override {
    int n = ++syncs;
    while (hold.load()) std::this_thread::sleep_for(1ms);
    if (failedSyncs.count(n) != 0) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  }
  int ftruncate(int fd, off_t size) override {
    if (failTruncates.load()) {
      errno = EIO;
      return -1;
    }
    return ::ftruncate(fd, size);
  }

  std::atomic<int> writes{0}, syncs{0};
  std::set<int> tornWrites, failedSyncs;  // set before the calls they name (or while held)
  std::atomic<bool> failTruncates{false}, hold{false};

 private:
  bool failNextWrite = false;
};

std::vector<SpoolEntry> pendingEntries(Spool& spool) {
  std::vector<SpoolEntry> out;
  for (auto& p : spool.readPending(100)) out.push_back(p.entry);
  return out;
}

// A failed sync: the whole group fails, none of it is ever read back (the bytes that reached the
// file are cut off, durably), and the appends after it work and are durable.
TEST(GatewaySpool, FailedSyncFailsTheGroupAndKeepsNoneOfIt) {
  test::TempDir tmp;
  FaultyIo io;
  gateway::SpoolOptions options;
  options.io = &io;
  {
    Spool spool(tmp / "spool", options);
    spool.append(entry(0));
    spool.sync();
    io.failedSyncs = {io.syncs + 1};
    spool.append(entry(1));
    spool.append(entry(2));
    EXPECT_ANY_THROW(spool.sync());
    EXPECT_TRUE(spool.healthy());
    EXPECT_EQ(spool.depth(), 1u);
    EXPECT_EQ(pendingEntries(spool), std::vector<SpoolEntry>{entry(0)});
    spool.append(entry(3));
    spool.sync();
    EXPECT_EQ(pendingEntries(spool), (std::vector<SpoolEntry>{entry(0), entry(3)}));
  }
  Spool spool(tmp / "spool");  // what is on disk: the failed group is not there
  EXPECT_EQ(pendingEntries(spool), (std::vector<SpoolEntry>{entry(0), entry(3)}));
}

// The same through the queue, with groups: a write torn midway fails its append and the unsynced
// one before it (one group), the append queued after it in the same group is durable; a failed
// sync fails its whole group.
TEST(GatewaySpool, QueueFailsExactlyTheDiscardedAppends) {
  test::TempDir tmp;
  FaultyIo io;
  gateway::SpoolOptions options;
  options.io = &io;
  auto spool = std::make_unique<Spool>(tmp / "spool", options);
  auto io2 = kj::setupAsyncIo();
  auto outcome = [&](kj::Promise<std::string>& p) {
    return kj::runCatchingExceptions([&]() { p.wait(io2.waitScope); }) == nullptr;
  };
  {
    SpoolQueue queue(*spool);
    // Group 1: entry 0 alone, held in its sync while group 2 queues up.
    io.hold = true;
    auto p0 = queue.append(entry(0));
    while (io.syncs.load() < 1) std::this_thread::sleep_for(1ms);
    int w = io.writes.load();
    io.tornWrites = {w + 2};  // entry 2's write: torn
    auto p1 = queue.append(entry(1));
    auto p2 = queue.append(entry(2));
    auto p3 = queue.append(entry(3));
    io.hold = false;
    EXPECT_TRUE(outcome(p0));
    EXPECT_FALSE(outcome(p1)) << "unsynced when the write after it failed";
    EXPECT_FALSE(outcome(p2)) << "its write failed";
    EXPECT_TRUE(outcome(p3)) << "written after the failure was cut off";
    EXPECT_EQ(queue.depth(), 2u);

    // Group 3: a failed sync fails every append of the group.
    io.hold = true;
    auto p4 = queue.append(entry(4));
    while (io.syncs.load() < 3) std::this_thread::sleep_for(1ms);
    io.failedSyncs = {io.syncs + 1};
    auto p5 = queue.append(entry(5));
    auto p6 = queue.append(entry(6));
    io.hold = false;
    EXPECT_TRUE(outcome(p4));
    EXPECT_FALSE(outcome(p5));
    EXPECT_FALSE(outcome(p6));
    auto p7 = queue.append(entry(7));
    EXPECT_TRUE(outcome(p7));
    auto pending = queue.readPending(100).wait(io2.waitScope);
    std::vector<SpoolEntry> got;
    for (auto& p : pending) got.push_back(p.entry);
    EXPECT_EQ(got, (std::vector<SpoolEntry>{entry(0), entry(3), entry(4), entry(7)}));
  }
  spool.reset();
  Spool reopened(tmp / "spool");
  EXPECT_EQ(pendingEntries(reopened),
            (std::vector<SpoolEntry>{entry(0), entry(3), entry(4), entry(7)}));
}

// When even the cut fails the spool is unhealthy: appends are refused (the gateway answers 503)
// until a re-check succeeds; durable entries stay, failed ones never come back.
TEST(GatewaySpool, FailedCutMakesTheSpoolUnhealthyUntilARecheck) {
  test::TempDir tmp;
  FaultyIo io;
  gateway::SpoolOptions options;
  options.io = &io;
  {
    Spool spool(tmp / "spool", options);
    spool.append(entry(0));
    spool.sync();
    io.failedSyncs = {io.syncs + 1};
    io.failTruncates = true;
    spool.append(entry(1));
    EXPECT_ANY_THROW(spool.sync());
    EXPECT_FALSE(spool.healthy());
    EXPECT_ANY_THROW(spool.append(entry(2))) << "refused while unhealthy";
    EXPECT_FALSE(spool.recheck());
    EXPECT_EQ(pendingEntries(spool), std::vector<SpoolEntry>{entry(0)});
    io.failTruncates = false;
    EXPECT_TRUE(spool.recheck());
    EXPECT_TRUE(spool.healthy());
    spool.append(entry(3));
    spool.sync();
    EXPECT_EQ(pendingEntries(spool), (std::vector<SpoolEntry>{entry(0), entry(3)}));
  }
  Spool spool(tmp / "spool");
  EXPECT_EQ(pendingEntries(spool), (std::vector<SpoolEntry>{entry(0), entry(3)}));
}

// SPEC §10: past its size cap the spool refuses (the gateway answers 503), it never drops; what
// is replayed frees room again.
TEST(GatewaySpool, SizeCapRefusesAppends) {
  test::TempDir tmp;
  size_t one = Spool::encode(entry(0)).size();
  gateway::SpoolOptions options;
  options.segmentBytes = 2 * one;
  options.maxBytes = 3 * one;
  Spool spool(tmp / "spool", options);
  for (int n = 0; n < 3; ++n) {
    spool.append(entry(n));
    spool.sync();
  }
  EXPECT_EQ(spool.bytes(), 3 * one);
  EXPECT_ANY_THROW(spool.append(entry(3)));
  EXPECT_EQ(spool.depth(), 3u);
  auto pending = spool.readPending(100);
  ASSERT_EQ(pending.size(), 3u);
  spool.markDone(pending[1].next, 2);  // the first segment goes
  EXPECT_EQ(spool.bytes(), one);
  spool.append(entry(3));
  spool.sync();
  EXPECT_EQ(pendingEntries(spool), (std::vector<SpoolEntry>{entry(2), entry(3)}));
}

// ---- in-process: the gateway's helpers --------------------------------------------------------

TEST(GatewayHelpers, RateLimiterTokenBucket) {
  gateway::RateLimiter limiter(2.0, 3);
  auto t0 = kj::origin<kj::TimePoint>() + 1000 * kj::SECONDS;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("192.0.2.1", t0)) << i;
  kj::Duration retry = 0 * kj::SECONDS;
  EXPECT_FALSE(limiter.allow("192.0.2.1", t0, &retry));
  EXPECT_EQ(retry, 500 * kj::MILLISECONDS);
  EXPECT_TRUE(limiter.allow("192.0.2.2", t0)) << "per client";
  EXPECT_TRUE(limiter.allow("192.0.2.1", t0 + 500 * kj::MILLISECONDS));
  EXPECT_FALSE(limiter.allow("192.0.2.1", t0 + 500 * kj::MILLISECONDS));
  limiter.prune(t0 + 10 * kj::SECONDS);
  EXPECT_EQ(limiter.size(), 0u) << "idle clients are forgotten";
  gateway::RateLimiter unlimited(0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(unlimited.allow("192.0.2.1", t0));

  EXPECT_EQ(gateway::RateLimiter::clientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(gateway::RateLimiter::clientKey("2001:db8:1:2:3:4:5:6"),
            gateway::RateLimiter::clientKey("2001:db8:1:2:ffff::1"));
  EXPECT_NE(gateway::RateLimiter::clientKey("2001:db8:1:2::1"),
            gateway::RateLimiter::clientKey("2001:db8:1:3::1"));
}

// A full table of clients must not turn the limit off: a flood of distinct addresses would
// otherwise go unlimited. New clients are refused (429) until buckets refill and are pruned.
TEST(GatewayHelpers, RateLimiterRefusesNewClientsWhenItsTableIsFull) {
  gateway::RateLimiter limiter(1.0, 1);
  auto t0 = kj::origin<kj::TimePoint>() + 1000 * kj::SECONDS;
  constexpr int FULL = 100000;  // the table's capacity
  for (int i = 0; i < FULL; ++i) {
    ASSERT_TRUE(limiter.allow(fmt::format("10.{}.{}.{}", i >> 16, (i >> 8) & 0xff, i & 0xff), t0))
        << i;
  }
  EXPECT_EQ(limiter.size(), static_cast<size_t>(FULL));
  kj::Duration retry = 0 * kj::SECONDS;
  EXPECT_FALSE(limiter.allow("192.0.2.1", t0, &retry)) << "a new client past the table's size";
  EXPECT_GT(retry, 0 * kj::SECONDS);
  EXPECT_EQ(limiter.size(), static_cast<size_t>(FULL));
  // Once the buckets are full again, pruning makes room.
  EXPECT_TRUE(limiter.allow("192.0.2.1", t0 + 2 * kj::SECONDS));
}

TEST(GatewayHelpers, ClientAddressTrustsOnlyConfiguredProxies) {
  std::vector<std::string> proxies = {"127.0.0.1", "10.0.0.2"};
  kj::StringPtr spoofed = "203.0.113.9, 198.51.100.4";
  EXPECT_EQ(gateway::clientAddress("192.0.2.1", spoofed, proxies), "192.0.2.1");
  EXPECT_EQ(gateway::clientAddress("127.0.0.1", spoofed, proxies), "198.51.100.4");
  EXPECT_EQ(gateway::clientAddress("127.0.0.1", kj::StringPtr("198.51.100.4, 10.0.0.2"), proxies),
            "198.51.100.4");
  EXPECT_EQ(gateway::clientAddress("127.0.0.1", nullptr, proxies), "127.0.0.1");
  EXPECT_EQ(gateway::clientAddress("127.0.0.1", spoofed, {}), "127.0.0.1");
}

TEST(GatewayHelpers, WebAddressesAreParsedStrictly) {
  using gateway::parseWebAddress;
  using gateway::WebAddress;
  EXPECT_EQ(parseWebAddress("HTTPS://Landing.Example:443/Merci?x=1#a"),
            (WebAddress{"https", "landing.example", "", "/Merci?x=1#a"}));
  EXPECT_EQ(parseWebAddress("http://landing.example:8080"),
            (WebAddress{"http", "landing.example", "8080", "/"}));
  EXPECT_EQ(parseWebAddress("https://[2001:db8::1]/m"),
            (WebAddress{"https", "[2001:db8::1]", "", "/m"}));
  for (const char* bad : {"//evil.example/merci",  // no scheme: the page's own scheme
                          "/merci",                // relative
                          "javascript:alert(1)",
                          "data:text/html,x",
                          "ftp://landing.example/",
                          "https:evil.example",
                          "https:/evil.example",
                          "https:\\evil.example",
                          "https://landing.example@evil.example/",  // user info
                          "https://landing.example:443@evil.example/",
                          "https://user:pass@landing.example/",
                          "https://evil.example\\@landing.example/",  // backslash
                          "https://landing.example\\.evil.example/",
                          "https://landing.example%2eevil.example/",  // escaped host
                          "https://landing.example/merci\n",
                          " https://landing.example/",
                          "https://landing.example/mé",
                          "https://land ing.example/",
                          "https://landing.example//evil.example",  // a path that reads as a host
                          "https://landing.example/merci/../admin",
                          "https://landing.example/merci/%2e%2e/x",
                          "https://landing.example/./merci",
                          "https://landing.example:0/",
                          "https://landing.example:99999/",
                          "https://landing.example:/",
                          "https://",
                          "https:///merci",
                          "https://-evil/",
                          "https://landing.example/\"onload=x",
                          "https://landing.example/<script>"}) {
    EXPECT_EQ(parseWebAddress(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parseWebAddress(std::string("https://landing.example/") + std::string(2000, 'a')),
            std::nullopt);
}

TEST(GatewayHelpers, ThankYouPagesAreAnAllowListNotAnOpenRedirect) {
  gateway::ThanksPages pages({"https://landing.example/merci",
                              "https://www.landing.example/merci/*", "https://partner.example*"});
  for (const char* allowed :
       {"https://landing.example/merci", "HTTPS://LANDING.EXAMPLE/merci",
        "https://landing.example:443/merci", "https://www.landing.example/merci/",
        "https://www.landing.example/merci/pac?campagne=ete#haut", "https://partner.example",
        "https://partner.example/anything?x=1"}) {
    EXPECT_TRUE(pages.allows(allowed)) << allowed;
  }
  for (const char* refused :
       {"",
        "https://landing.example/merci/",  // exact: nothing after it
        "https://landing.example/merci?x=1",
        "https://landing.example/Merci",
        "http://landing.example/merci",            // another scheme
        "https://landing.example:8443/merci",      // another port
        "https://landing.example.evil.org/merci",  // a host that merely begins so
        "https://evil.org/https://landing.example/merci",
        "https://evil.org/?u=https://landing.example/merci",
        "https://evil.org#https://landing.example/merci",
        "//landing.example/merci",
        "//evil.org",
        "https://landing.example@evil.org/merci",
        "https://evil.org@landing.example/merci",
        "https://landing.example\\@evil.org/merci",
        "https://landing.example\\evil.org",
        "https://www.landing.example/merci",  // the prefix is /merci/
        "https://www.landing.example/merci-evil",
        "https://www.landing.example/merci/../../evil",
        "https://www.landing.example/merci/%2E%2E/x",
        "https://partner.example.evil.org/",
        "https://evilpartner.example/",
        "https://landing.example./merci",
        "https://landing.example/merci\t",
        "javascript://landing.example/merci"}) {
    EXPECT_FALSE(pages.allows(refused)) << refused;
  }
  EXPECT_FALSE(gateway::ThanksPages().allows("https://landing.example/merci"));
  for (const char* badEntry : {"landing.example/merci", "https://a.example/*/x", "//a.example/",
                               "https://a.example\\b/", "*"}) {
    EXPECT_THROW(gateway::ThanksPages({badEntry}), std::runtime_error) << badEntry;
  }
}

TEST(GatewayHelpers, FormDecoding) {
  auto fields = gateway::submissionFromForm("nom=Lef%C3%A8vre&prenom=%C3%89lodie+Marie&&vide=&x");
  Submission expected = {{"nom", "Lefèvre"}, {"prenom", "Élodie Marie"}, {"vide", ""}, {"x", ""}};
  EXPECT_EQ(fields, expected);
  EXPECT_EQ(gateway::submissionFromForm("a=1%2B1%3D2%26b"), (Submission{{"a", "1+1=2&b"}}));
  EXPECT_ANY_THROW(gateway::submissionFromForm("nom=%FF"));
  EXPECT_ANY_THROW(gateway::submissionFromForm("nom=%G1"));
}

}  // namespace
}  // namespace rdz::e2e
