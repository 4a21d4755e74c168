// HTTP delivery (SPEC §6, methode api) against a real HTTP server: Python's http.server (at
// /usr/bin/python3), which logs every request it receives — path, headers, body — and answers
// with the status codes the test scripted. The bodies are parsed back as JSON, so what a client
// receives is checked by a parser that is not the one that wrote it.
#include "daemon/service/poster.h"

#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/time.h"
#include "daemon/service/api-delivery.h"
#include "daemon/service/operations.h"
#include "daemon/service/run.h"
#include "daemon/service/sender.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/files.h"
#include "tests/support/smtp.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

// argv: port log answers. Answers the i-th request with the i-th of the comma-separated
// `answers` (the last one once they run out): a status code, or "sleepN" to wait N seconds
// before answering 201. Each request is appended to `log` as one JSON line, before answering:
// {"path", "headers": [[name, value]…], "body", "answer"}.
constexpr char HTTP_RECEIVER_PY[] = R"PY(
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path, answers = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(',')
count = 0
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        with lock:
            answer = answers[min(count, len(answers) - 1)]
            count += 1
            with open(log_path, 'a', encoding='utf-8') as f:
                f.write(json.dumps({'path': self.path,
                                    'headers': [[k, v] for k, v in self.headers.items()],
                                    'body': body.decode('utf-8'), 'answer': answer},
                                   ensure_ascii=False) + '\n')
        code = 201
        if answer.startswith('sleep'):
            time.sleep(float(answer[5:]))
        else:
            code = int(answer)
        payload = b'{"recu":true}'
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(('127.0.0.1', port), Handler)
server.daemon_threads = True
server.serve_forever()
)PY";

// A parsed JSON document (Cap'n Proto's JSON codec).
struct Json {
  explicit Json(const std::string& text) {
    capnp::JsonCodec codec;
    auto root = message->initRoot<capnp::JsonValue>();
    codec.decodeRaw(kj::StringPtr(text.c_str()), root);
    value = root.asReader();
  }
  std::unique_ptr<capnp::MallocMessageBuilder> message =
      std::make_unique<capnp::MallocMessageBuilder>();
  capnp::JsonValue::Reader value;
};

std::string str(capnp::JsonValue::Reader v) {
  EXPECT_EQ(v.which(), capnp::JsonValue::STRING);
  return v.isString() ? std::string(v.getString().cStr()) : "";
}

// An object's members in order, as (name, value).
std::vector<std::pair<std::string, capnp::JsonValue::Reader>> members(capnp::JsonValue::Reader v) {
  std::vector<std::pair<std::string, capnp::JsonValue::Reader>> out;
  EXPECT_EQ(v.which(), capnp::JsonValue::OBJECT);
  if (!v.isObject()) return out;
  for (auto field : v.getObject()) out.emplace_back(field.getName().cStr(), field.getValue());
  return out;
}

// An object's string members in order, as (name, text); a member that is not a string fails.
std::vector<std::pair<std::string, std::string>> textMembers(capnp::JsonValue::Reader v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [name, value] : members(v)) out.emplace_back(name, str(value));
  return out;
}

capnp::JsonValue::Reader member(capnp::JsonValue::Reader v, const std::string& name) {
  for (auto& [n, value] : members(v)) {
    if (n == name) return value;
  }
  ADD_FAILURE() << "no member " << name;
  return capnp::JsonValue::Reader();
}

struct Request {
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The values of header `name` (case-insensitive).
  std::vector<std::string> header(std::string name) const {
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(), ::tolower);
      return s;
    };
    std::vector<std::string> out;
    for (auto& [n, v] : headers) {
      if (lower(n) == lower(name)) out.push_back(v);
    }
    return out;
  }
};

// One Python HTTP server on a free loopback port, logging to DIR/http-PORT.jsonl.
class HttpReceiver {
 public:
  HttpReceiver(const test::TempDir& dir, const std::string& answers, int port = test::freePort())
      : port_(port), log_(dir / ("http-" + std::to_string(port) + ".jsonl")) {
    test::writeFile(dir / "rdz_test_http.py", HTTP_RECEIVER_PY);
    server_ = std::make_unique<test::PythonServer>(
        dir, port_,
        std::vector<std::string>{"-u", dir / "rdz_test_http.py", std::to_string(port_), log_,
                                 answers});
  }

  bool running() const { return server_->running(); }
  std::string url(const std::string& path = "/leads") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string log() const { return server_->log(); }

  std::vector<Request> requests() const {
    std::vector<Request> out;
    if (!std::filesystem::exists(log_)) return out;
    std::istringstream lines(test::readFile(log_));
    for (std::string line; std::getline(lines, line);) {
      Json json(line);
      Request r;
      r.path = str(member(json.value, "path"));
      for (auto pair : member(json.value, "headers").getArray()) {
        r.headers.emplace_back(str(pair.getArray()[0]), str(pair.getArray()[1]));
      }
      r.body = str(member(json.value, "body"));
      out.push_back(kj::mv(r));
    }
    return out;
  }

 private:
  int port_;
  std::string log_;
  std::unique_ptr<test::PythonServer> server_;
};

// ---- postJson ---------------------------------------------------------------------------------

TEST(PosterTest, PostsTheBodyAndHeadersAsGiven) {
  test::TempDir dir;
  HttpReceiver receiver(dir, "201");
  ASSERT_TRUE(receiver.running()) << receiver.log();
  std::string body = R"({"nom":"Zoé \"la\" Martin","n":1})";
  PostResult r = postJson(receiver.url("/v1/leads?src=rdz"),
                          {"Idempotency-Key: B0001/1", "Authorization: Bearer s3cret"}, body);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.code, 201);
  EXPECT_EQ(r.detail, "http 201 Created");

  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/leads?src=rdz");
  EXPECT_EQ(requests[0].body, body);  // byte for byte, UTF-8 included
  EXPECT_EQ(requests[0].header("Content-Type"), std::vector<std::string>{"application/json"});
  EXPECT_EQ(requests[0].header("Idempotency-Key"), std::vector<std::string>{"B0001/1"});
  EXPECT_EQ(requests[0].header("Authorization"), std::vector<std::string>{"Bearer s3cret"});
  EXPECT_TRUE(requests[0].header("Expect").empty());
}

TEST(PosterTest, OnlyTwoHundredsAreSuccessesAndEveryCodeIsKept) {
  test::TempDir dir;
  HttpReceiver receiver(dir, "500,302,404,204");
  ASSERT_TRUE(receiver.running()) << receiver.log();
  PostResult r = postJson(receiver.url(), {}, "{}");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.detail, "http 500 Internal Server Error");
  r = postJson(receiver.url(), {}, "{}");
  EXPECT_FALSE(r.ok);  // a redirect is not followed: the leads did not arrive
  EXPECT_EQ(r.code, 302);
  r = postJson(receiver.url(), {}, "{}");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, 404);
  r = postJson(receiver.url(), {}, "{}");
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.code, 204);
  EXPECT_EQ(receiver.requests().size(), 4u);
}

TEST(PosterTest, RefusedConnectionAndTimeoutAreFailuresWithoutACode) {
  test::TempDir dir;
  PostResult refused =
      postJson("http://127.0.0.1:" + std::to_string(test::freePort()) + "/x", {}, "{}", {1s, 1s});
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.code, 0);
  EXPECT_NE(refused.detail.find("onnect"), std::string::npos) << refused.detail;

  HttpReceiver slow(dir, "sleep5");
  ASSERT_TRUE(slow.running()) << slow.log();
  PostResult timedOut = postJson(slow.url(), {}, "{}", {1s, 1s});
  EXPECT_FALSE(timedOut.ok);
  EXPECT_EQ(timedOut.code, 0);
  EXPECT_NE(timedOut.detail.find("timed out"), std::string::npos) << timedOut.detail;
  EXPECT_EQ(slow.requests().size(), 1u);  // it arrived; the answer is what never came
}

TEST(PosterTest, ABadUrlOrHeaderIsRefusedBeforeAnythingIsSent) {
  EXPECT_ANY_THROW(postJson("ftp://127.0.0.1/x", {}, "{}"));
  EXPECT_ANY_THROW(postJson("http://127.0.0.1:1/x", {"X-A: 1\r\nX-B: 2"}, "{}"));
}

// ---- the Sender with an api client ----------------------------------------------------------

Submission lead(std::string phone, std::string nom = "Martin") {
  return {{"produit", "PV"},        {"nom", nom},
          {"prenom", "Zoé"},        {"telephone", phone},
          {"code_postal", "33000"}, {"consentement", "oui"},
          {"proprietaire", "oui"},  {"type_logement", "maison"},
          {"ville", "Bordeaux"}};
}

// One ZR7 client with methode api and one commande that takes fresh and LB leads; one fresh
// lead and one old enough to be LB: a run gives the client a batch of two parts.
struct ApiEnv {
  // `consent`: the client's api_consent; the fresh lead then came through the gateway (request).
  explicit ApiEnv(const std::string& url, bool consent = false) {
    write([&](Txn& t) {
      Client c;
      c.apiConsent = consent;
      c.id = "api-solaire";
      c.entity = Entity::ZR7;
      c.nom = "API Solaire";
      c.emails = {"ops@api-solaire.example"};
      c.methode = Methode::API;
      c.apiUrl = url;
      c.apiHeader = "X-Api-Key: k-123";
      addClient(t, c, clock.now());
      Commande k;
      k.client = "api-solaire";
      k.produit = "PV";
      k.quotaSemaine = 5;
      k.lbMaxPct = 100;
      commande = addCommande(t, k, clock.now());
      IngestRequest first{
          Entity::ZR7, lead("0611111111", "O'Neil \"le\" Grand"), "", clock.now(), false, "test"};
      if (consent) {
        first.request =
            HttpRequestProof{"203.0.113.7", "Mozilla/5.0", "https://landing.example/pv"};
      }
      fresh = ingestLead(t, ids, first).id;
      old = ingestLead(t, ids,
                       {Entity::ZR7, lead("0622222222"), "", clock.now() - 240h, false, "test"})
                .id;
    });
  }

  void write(kj::Function<void(Txn&)> job) { writes->runSync(kj::mv(job)); }

  Batch run() {
    RunOutcome outcome;
    RunParams params =
        runParams(RunSettings{}, "2026-11-25", std::nullopt, std::nullopt, clock.now());
    write([&](Txn& t) { outcome = executeRun(t, ids, params, clock.now()); });
    KJ_ASSERT(outcome.batches.size() == 1, outcome.batches.size());
    return outcome.batches[0];
  }

  Batch batch(const std::string& id) {
    KJ_IF_MAYBE (b, getBatch(*store, Entity::ZR7, id)) {
      return *b;
    }
    KJ_FAIL_ASSERT("no batch", id);
  }

  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  // Wednesday 2026-11-25 08:00 Paris: before that day's 09:30 run.
  ManualClock clock{Timestamp(std::chrono::seconds(1795590000))};
  IdGenerator ids;
  Config config;
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);
  size_t mails = 0;
  std::unique_ptr<Sender> sender = std::make_unique<Sender>(
      *store, *writes, config, clock,
      [this](const SmtpConfig&, const std::string&, const Mail&) {
        ++mails;  // an api client gets no email
        return SendResult{};
      },
      false,
      [](const std::string& url, const std::vector<std::string>& headers, const std::string& body) {
        return postJson(url, headers, body, {2s, 2s});
      });
  std::string commande, fresh, old;
};

// The part number of an Idempotency-Key "<batch>/<n>" of `batch`, 0 if it is not one.
int partOf(const Request& r, const std::string& batch) {
  auto keys = r.header("Idempotency-Key");
  if (keys.size() != 1 || !keys[0].starts_with(batch + "/")) return 0;
  return std::stoi(keys[0].substr(batch.size() + 1));
}

TEST(ApiDeliveryTest, ABatchGoesOutAsOneJsonPerCommandeAndKind) {
  test::TempDir dir;
  HttpReceiver receiver(dir, "201");
  ASSERT_TRUE(receiver.running()) << receiver.log();
  ApiEnv env(receiver.url("/rdz/leads"));
  Batch batch = env.run();
  ASSERT_EQ(batch.deliveries.size(), 2u);

  EXPECT_EQ(env.sender->sendDue(), 1u);
  Batch sent = env.batch(batch.id);
  EXPECT_EQ(sent.status, BatchStatus::SENT);
  EXPECT_EQ(sent.partsAccepted, (std::vector<uint32_t>{1, 2}));
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_NE(sent.responses[0].find(" ok 201 api part 1/2: http 201 Created; part 2/2: http 201"),
            std::string::npos)
      << sent.responses[0];
  EXPECT_EQ(env.mails, 0u);

  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  std::vector<std::string> types;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    EXPECT_EQ(r.path, "/rdz/leads");
    EXPECT_EQ(partOf(r, batch.id), int(i + 1));
    EXPECT_EQ(r.header("Content-Type"), std::vector<std::string>{"application/json"});
    EXPECT_EQ(r.header("X-Api-Key"), std::vector<std::string>{"k-123"});

    Json body(r.body);
    auto top = members(body.value);
    std::vector<std::string> names;
    for (auto& m : top) names.push_back(m.first);
    EXPECT_EQ(names, (std::vector<std::string>{"entite", "client", "commande", "produit", "date",
                                               "type", "leads"}));
    EXPECT_EQ(str(member(body.value, "entite")), "ZR7");
    EXPECT_EQ(str(member(body.value, "client")), "api-solaire");
    EXPECT_EQ(str(member(body.value, "commande")), env.commande);
    EXPECT_EQ(str(member(body.value, "produit")), "PV");
    EXPECT_EQ(str(member(body.value, "date")), "2026-11-25");
    std::string type = str(member(body.value, "type"));
    types.push_back(type);
    auto leads = member(body.value, "leads");
    ASSERT_TRUE(leads.isArray());
    ASSERT_EQ(leads.getArray().size(), 1u);
    // The fresh part holds the fresh lead, the LB part the old one: id, then ZR7's 7 columns.
    bool isFresh = type == "fresh";
    std::vector<std::pair<std::string, std::string>> expected = {
        {"id", isFresh ? env.fresh : env.old},
        {"nom", isFresh ? "O'Neil \"le\" Grand" : "Martin"},
        {"prenom", "Zoé"},
        {"telephone", isFresh ? "0611111111" : "0622222222"},
        {"email", ""},
        {"code_postal", "33000"},
        {"ville", "Bordeaux"},
        {"proprietaire_maison", "oui"}};
    EXPECT_EQ(textMembers(leads.getArray()[0]), expected);
  }
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"fresh", "lb"}));
}

TEST(ApiDeliveryTest, AClientWithApiConsentGetsEachLeadsProof) {
  test::TempDir dir;
  HttpReceiver receiver(dir, "201");
  ASSERT_TRUE(receiver.running()) << receiver.log();
  ApiEnv env(receiver.url("/rdz/leads"), true);
  Batch batch = env.run();
  EXPECT_EQ(env.sender->sendDue(), 1u);
  EXPECT_EQ(env.batch(batch.id).status, BatchStatus::SENT);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const Request& r : requests) {
    Json body(r.body);
    auto lead = member(body.value, "leads").getArray()[0];
    auto all = members(lead);
    ASSERT_EQ(all.size(), 9u);  // id, the 7 columns of ZR7, then the proof
    EXPECT_EQ(all.back().first, "consentement");
    auto proof = textMembers(all.back().second);
    std::vector<std::string> names;
    for (auto& [name, value] : proof) names.push_back(name);
    EXPECT_EQ(names, (std::vector<std::string>{
                         "lead", "entite", "consentement", "consentement_texte", "consentement_le",
                         "page_url", "ip", "user_agent", "recu_le", "requete_ip",
                         "requete_user_agent", "requete_page_url", "efface"}));
    EXPECT_EQ(proof[0].second, str(member(lead, "id")));
    EXPECT_EQ(proof[2].second, "oui");
    if (str(member(body.value, "type")) == "fresh") {
      EXPECT_EQ(proof[5].second, "https://landing.example/pv");
      EXPECT_EQ(proof[6].second, "203.0.113.7");
      EXPECT_EQ(proof[9].second, "203.0.113.7");
      EXPECT_EQ(proof[8].second, formatIso(env.clock.now()));
    } else {
      EXPECT_EQ(proof[6].second, "");  // not through the gateway
    }
  }
}

TEST(ApiDeliveryTest, RetriesPostOnlyThePartsNotYetAcceptedWithTheSameKeys) {
  test::TempDir dir;
  // Part 1 accepted at once; part 2 refused twice, then accepted.
  HttpReceiver receiver(dir, "201,500,500,201");
  ASSERT_TRUE(receiver.running()) << receiver.log();
  ApiEnv env(receiver.url());
  Batch batch = env.run();

  EXPECT_EQ(env.sender->sendDue(), 1u);
  Batch b = env.batch(batch.id);
  EXPECT_EQ(b.status, BatchStatus::FAILED);
  EXPECT_EQ(b.partsAccepted, std::vector<uint32_t>{1});
  ASSERT_TRUE(b.nextAttempt.has_value());
  EXPECT_EQ(*b.nextAttempt, env.clock.now() + 1min);
  EXPECT_EQ(b.lastError,
            "api part 1/2: http 201 Created; part 2/2: http 500 Internal Server Error");

  env.clock.advance(1min);
  EXPECT_EQ(env.sender->sendDue(), 1u);
  b = env.batch(batch.id);
  EXPECT_EQ(b.status, BatchStatus::FAILED);
  EXPECT_EQ(*b.nextAttempt, env.clock.now() + 5min);  // the second failure in a row
  EXPECT_EQ(b.lastError, "api part 2/2: http 500 Internal Server Error");

  env.clock.advance(5min);
  EXPECT_EQ(env.sender->sendDue(), 1u);
  b = env.batch(batch.id);
  EXPECT_EQ(b.status, BatchStatus::SENT);
  EXPECT_EQ(b.partsAccepted, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(b.attempts, 3u);
  ASSERT_EQ(b.responses.size(), 3u);
  EXPECT_NE(b.responses[0].find(" echec 500 "), std::string::npos) << b.responses[0];
  EXPECT_NE(b.responses[1].find(" echec 500 "), std::string::npos) << b.responses[1];
  EXPECT_NE(b.responses[2].find(" ok 201 api part 2/2: http 201 Created"), std::string::npos)
      << b.responses[2];
  EXPECT_EQ(env.sender->sendDue(), 0u);

  // Part 1 reached the server once; part 2 three times, with the same key and the same body.
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 4u);
  std::vector<int> parts;
  for (auto& r : requests) parts.push_back(partOf(r, batch.id));
  EXPECT_EQ(parts, (std::vector<int>{1, 2, 2, 2}));
  EXPECT_NE(requests[0].body, requests[1].body);
  EXPECT_EQ(requests[1].body, requests[2].body);
  EXPECT_EQ(requests[2].body, requests[3].body);
  KJ_IF_MAYBE (run, getRun(*env.store, "2026-11-25")) {
    EXPECT_EQ(withLiveStatus(*env.store, *run).status, "complete");
  } else {
    ADD_FAILURE() << "no run record";
  }
}

TEST(ApiDeliveryTest, RefusedConnectionAndTimeoutFailTheBatchUntilTheServerAnswers) {
  test::TempDir dir;
  int port = test::freePort();
  ApiEnv env("http://127.0.0.1:" + std::to_string(port) + "/leads");
  Batch batch = env.run();

  // Nobody listens yet.
  EXPECT_EQ(env.sender->sendDue(), 1u);
  Batch b = env.batch(batch.id);
  EXPECT_EQ(b.status, BatchStatus::FAILED);
  EXPECT_TRUE(b.partsAccepted.empty());
  ASSERT_EQ(b.responses.size(), 1u);
  EXPECT_NE(b.responses[0].find(" echec 0 api part 1/2: http: "), std::string::npos)
      << b.responses[0];
  EXPECT_NE(b.lastError.find("onnect"), std::string::npos) << b.lastError;

  // A server that takes longer than the poster waits, then answers in time.
  HttpReceiver receiver(dir, "sleep5,201", port);
  ASSERT_TRUE(receiver.running()) << receiver.log();
  env.clock.advance(1min);
  EXPECT_EQ(env.sender->sendDue(), 1u);
  b = env.batch(batch.id);
  EXPECT_EQ(b.status, BatchStatus::FAILED);
  EXPECT_TRUE(b.partsAccepted.empty());
  EXPECT_NE(b.lastError.find("timed out"), std::string::npos) << b.lastError;
  EXPECT_NE(b.responses[1].find(" echec 0 "), std::string::npos) << b.responses[1];

  env.clock.advance(5min);
  EXPECT_EQ(env.sender->sendDue(), 1u);
  b = env.batch(batch.id);
  EXPECT_EQ(b.status, BatchStatus::SENT) << b.lastError;
  EXPECT_EQ(b.partsAccepted, (std::vector<uint32_t>{1, 2}));
  std::vector<int> parts;
  for (auto& r : receiver.requests()) parts.push_back(partOf(r, batch.id));
  EXPECT_EQ(parts, (std::vector<int>{1, 1, 2}));  // the timed-out part 1 was posted again
}

}  // namespace
}  // namespace rdz
