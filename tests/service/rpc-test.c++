// The RPC service in-process: a real TwoPartyServer over a kj two-way pipe, a real store in a
// temp dir, the real write queue, and a manual clock.
#include <capnp/rpc-twoparty.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <set>

#include "client/json.h"
#include "daemon/domain/clock.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/history.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/time.h"
#include "daemon/service/auth.h"
#include "daemon/service/explain.h"
#include "daemon/service/operations.h"
#include "daemon/service/server.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/corrupt-store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

constexpr char ADMIN[] = "admin-token";
constexpr char ADMIN_MDL[] = "admin-mdl-token";
constexpr char VIEWER[] = "viewer-token";
constexpr char INGEST_ZR7[] = "ingest-zr7-token";
constexpr char PARTNER_ZR7[] = "partner-zr7-token";  // a second ingest token of the same entity
constexpr char GATEWAY_ZR7[] = "gateway-zr7-token";  // rdz-gateway's: its times are believed

Auth testAuth() {
  Auth auth;
  auth.add({Role::ADMIN, std::nullopt, "admin"}, sha256Hex(ADMIN));
  auth.add({Role::ADMIN, Entity::MDL, "admin-mdl"}, sha256Hex(ADMIN_MDL));
  auth.add({Role::VIEWER, std::nullopt, "viewer"}, sha256Hex(VIEWER));
  auth.add({Role::INGEST, Entity::ZR7, "ingest-zr7"}, sha256Hex(INGEST_ZR7));
  auth.add({Role::INGEST, Entity::ZR7, "partner-zr7"}, sha256Hex(PARTNER_ZR7));
  auth.add({Role::GATEWAY, Entity::ZR7, "gateway-zr7"}, sha256Hex(GATEWAY_ZR7));
  return auth;
}

Submission validLead(std::string phone = "06 12 34 56 78", std::string produit = "PV") {
  return {{"produit", produit},     {"nom", "Martin"},        {"prenom", "Élodie"},
          {"telephone", phone},     {"code_postal", "33000"}, {"consentement", "oui"},
          {"email", "e@exemple.fr"}};
}

void setFields(capnp::List<schema::Field>::Builder list, const Submission& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    list[i].setName(fields[i].name);
    list[i].setValue(fields[i].value);
  }
}

// Everything with a KJ (possibly throwing) destructor, owned through a unique_ptr so the gtest
// fixture keeps its noexcept destructor.
struct RpcEnv {
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  ManualClock clock{Timestamp(std::chrono::seconds(1795000000))};
  IdGenerator ids;
  Auth auth = testAuth();
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);
  ServiceContext context{*store, *writes, ids, clock, auth, RunSettings{}};
  kj::TwoWayPipe pipe = kj::newTwoWayPipe();
  capnp::TwoPartyServer server{newBootstrap(context)};
  capnp::TwoPartyClient client{*pipe.ends[0]};
  RpcEnv() { server.accept(kj::mv(pipe.ends[1])); }
};

class RpcTest : public testing::Test {
 protected:
  std::unique_ptr<RpcEnv> env = std::make_unique<RpcEnv>();
  const test::TempDir& dir = env->dir;
  Store* store = env->store.get();
  ManualClock& clock = env->clock;
  kj::AsyncIoContext& io = env->io;
  WriteQueue* writes = env->writes.get();
  capnp::TwoPartyClient& client = env->client;

  capnp::Response<schema::Bootstrap::AuthenticateResults> login(const char* token) {
    auto req = client.bootstrap().castAs<schema::Bootstrap>().authenticateRequest();
    req.setToken(token);
    return req.send().wait(io.waitScope);
  }

  schema::SubmitOutcome::Reader outcome(schema::Ingest::Client ingest, const Submission& fields,
                                        std::string key,
                                        kj::Maybe<capnp::Response<schema::SubmitOutcome>>& keep) {
    auto req = ingest.submitRequest();
    setFields(req.initFields(fields.size()), fields);
    req.setIdempotencyKey(key);
    keep = req.send().wait(io.waitScope);
    KJ_IF_MAYBE (r, keep) {
      return *r;
    }
    KJ_UNREACHABLE;
  }
  // A submission that must be stored.
  schema::SubmitResult::Reader submit(schema::Ingest::Client ingest, const Submission& fields,
                                      std::string key,
                                      kj::Maybe<capnp::Response<schema::SubmitOutcome>>& keep) {
    auto answer = outcome(ingest, fields, key, keep);
    KJ_REQUIRE(answer.isStored(), "refused", answer.getRefused());
    return answer.getStored();
  }

  size_t leadCount(Entity e) {
    size_t n = 0;
    for (Statut s :
         {Statut::NEW, Statut::INVALID, Statut::LB, Statut::DELIVERED, Statut::REJECTED}) {
      n += leadIdsByStatus(*store, e, s).size();
    }
    return n;
  }
};

TEST_F(RpcTest, EachRoleGetsOnlyItsCapabilities) {
  auto ingest = login(INGEST_ZR7);
  EXPECT_EQ(ingest.getSession().getRole(), schema::Role::INGEST);
  EXPECT_TRUE(ingest.getSession().getEntity().isOne());
  EXPECT_TRUE(ingest.getSession().hasIngest());
  EXPECT_FALSE(ingest.getSession().hasViewer());
  EXPECT_FALSE(ingest.getSession().hasAdmin());

  auto viewer = login(VIEWER);
  EXPECT_TRUE(viewer.getSession().hasViewer());
  EXPECT_FALSE(viewer.getSession().hasAdmin());
  EXPECT_FALSE(viewer.getSession().hasIngest());

  auto admin = login(ADMIN);
  EXPECT_TRUE(admin.getSession().hasAdmin());
  EXPECT_TRUE(admin.getSession().hasViewer());
  EXPECT_TRUE(admin.getSession().getEntity().isAll());

  EXPECT_ANY_THROW(login("not-a-token"));
  EXPECT_ANY_THROW(login(""));
}

TEST_F(RpcTest, AViewerCannotWriteEvenByCastingToAdmin) {
  auto viewer = login(VIEWER).getSession().getViewer();
  // The capability really is a Viewer: an Admin method on it is unimplemented.
  auto forged = viewer.castAs<schema::Admin>();
  auto req = forged.addClientRequest();
  auto c = req.initClient();
  c.setNom("Forge");
  c.initEmails(1).set(0, "a@b.fr");
  EXPECT_ANY_THROW(req.send().wait(io.waitScope));
  EXPECT_TRUE(listClients(*store, Entity::ZR7).empty());
}

TEST_F(RpcTest, IngestStoresInItsOwnEntityOnly) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> keep;
  auto r = submit(ingest, validLead(), "", keep);
  EXPECT_EQ(r.getStatut(), schema::Statut::NEW);
  EXPECT_EQ(r.getProblemes().size(), 0u);
  EXPECT_TRUE(getLead(*store, Entity::ZR7, r.getId().cStr()) != nullptr);
  EXPECT_EQ(leadCount(Entity::MDL), 0u);
  // The history says when and how it arrived.
  auto history = getHistory(*store, Entity::ZR7, r.getId().cStr());
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0].kind, HistoryKind::RECU);
  EXPECT_EQ(history[0].at, clock.now());
}

// What rdz-gateway sends with a lead (schema HttpRequest).
struct Post {
  std::string ip = "203.0.113.7";
  std::string userAgent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120";
  std::string pageUrl = "https://landing.example/pac?utm=1";
  int64_t acceptedAt = 0;  // µs; 0: not given
  bool spooled = false;
  bool honeypot = false;
};

class GatewayIngestTest : public RpcTest {
 protected:
  // Submits `fields` with `post` through `token`'s ingest session; the stored lead and its history.
  std::pair<Lead, std::vector<HistoryEvent>> post(const char* token, const Submission& fields,
                                                  const Post& post) {
    auto ingest = login(token).getSession().getIngest();
    auto req = ingest.submitRequest();
    setFields(req.initFields(fields.size()), fields);
    auto http = req.initRequest();
    http.setIp(post.ip);
    http.setUserAgent(post.userAgent);
    http.setPageUrl(post.pageUrl);
    http.setAcceptedAt(post.acceptedAt);
    http.setSpooled(post.spooled);
    http.setHoneypot(post.honeypot);
    auto answer = req.send().wait(io.waitScope);
    KJ_REQUIRE(answer.isStored(), "refused", answer.getRefused());
    std::string id = answer.getStored().getId().cStr();
    Lead lead = KJ_ASSERT_NONNULL(getLead(*store, Entity::ZR7, id));
    return {lead, getHistory(*store, Entity::ZR7, id)};
  }
  static int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }
  static const HistoryEvent* find(const std::vector<HistoryEvent>& history, std::string_view e) {
    for (auto& h : history) {
      if (historyEventName(h) == e) return &h;
    }
    return nullptr;
  }
};

TEST_F(GatewayIngestTest, TheRequestFillsWhatTheFormLeftEmptyAndBothAreInTheHistory) {
  auto [lead, history] = post(GATEWAY_ZR7, validLead(), Post{});
  EXPECT_EQ(lead.ip, "203.0.113.7");
  EXPECT_EQ(lead.userAgent, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120");
  EXPECT_EQ(lead.pageUrl, "https://landing.example/pac?utm=1");
  EXPECT_EQ(lead.requeteIp, lead.ip);
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_TRUE(lead.problemes.empty());
  EXPECT_EQ(history[0].kind, HistoryKind::RECU);
  EXPECT_EQ(history[0].via, "gateway");
  EXPECT_EQ(find(history, "transmis"), nullptr);  // forwarded at once: nothing to say

  // What the form sent is kept as sent; the request's values are kept beside it.
  Submission explicitProof = validLead("06 12 34 56 79");
  explicitProof.push_back({"ip", "198.51.100.1"});
  explicitProof.push_back({"page_url", "https://landing.example/form"});
  auto [kept, keptHistory] = post(GATEWAY_ZR7, explicitProof, Post{});
  EXPECT_EQ(kept.ip, "198.51.100.1");
  EXPECT_EQ(kept.pageUrl, "https://landing.example/form");
  EXPECT_EQ(kept.userAgent, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120");  // the form had none
  EXPECT_EQ(kept.requeteIp, "203.0.113.7");
  EXPECT_EQ(kept.requetePageUrl, "https://landing.example/pac?utm=1");
  const HistoryEvent* proof = find(keptHistory, "preuve");
  ASSERT_NE(proof, nullptr);
  EXPECT_EQ(historyText(*proof),
            "formulaire: ip \"198.51.100.1\", user_agent \"\", page_url "
            "\"https://landing.example/form\"; requête: ip \"203.0.113.7\", user_agent "
            "\"Mozilla/5.0 (X11; Linux x86_64) Chrome/120\", page_url "
            "\"https://landing.example/pac?utm=1\"");
}

TEST_F(GatewayIngestTest, AGatewayTokensAcceptanceTimeIsRecuLeWithinBounds) {
  const Timestamp now = clock.now();
  // Spooled during an outage: accepted 15 minutes ago, replayed now.
  Post spooled;
  spooled.acceptedAt = micros(now - 15min);
  spooled.spooled = true;
  auto [lead, history] = post(GATEWAY_ZR7, validLead(), spooled);
  EXPECT_EQ(lead.recuLe, now - 15min);
  EXPECT_EQ(lead.consentementLe, now - 15min);  // the submission's time, not the replay's
  EXPECT_EQ(history[0].kind, HistoryKind::RECU);
  EXPECT_EQ(history[0].at, now - 15min);
  const HistoryEvent* transmis = find(history, "transmis");
  ASSERT_NE(transmis, nullptr);
  EXPECT_EQ(transmis->at, now);  // the replay time, separately
  EXPECT_EQ(transmis->gatewayTime, GatewayTime::USED);
  EXPECT_TRUE(transmis->spooled);
  EXPECT_NE(historyText(*transmis).find("rejeu du spool"), std::string::npos)
      << historyText(*transmis);
  // The pools see the true reception time.
  auto fresh = leadIdsByStatus(*store, Entity::ZR7, Statut::NEW);
  EXPECT_EQ(fresh.size(), 1u);

  // In rdzd's future: rdzd's time, and the history says why.
  Post future;
  future.acceptedAt = micros(now + 1h);
  auto [ahead, aheadHistory] = post(GATEWAY_ZR7, validLead("06 12 34 56 71"), future);
  EXPECT_EQ(ahead.recuLe, now);
  ASSERT_NE(find(aheadHistory, "transmis"), nullptr);
  EXPECT_NE(historyText(*find(aheadHistory, "transmis")).find("postérieure"), std::string::npos);

  // Older than the spool's age limit (7 days by default): rdzd's time.
  Post old;
  old.acceptedAt = micros(now - std::chrono::hours(24 * 7) - 1s);
  auto [late, lateHistory] = post(GATEWAY_ZR7, validLead("06 12 34 56 72"), old);
  EXPECT_EQ(late.recuLe, now);
  ASSERT_NE(find(lateHistory, "transmis"), nullptr);
  EXPECT_NE(historyText(*find(lateHistory, "transmis")).find("plus ancienne"), std::string::npos);
  // Just inside the limit it is believed.
  old.acceptedAt = micros(now - std::chrono::hours(24 * 7));
  EXPECT_EQ(post(GATEWAY_ZR7, validLead("06 12 34 56 73"), old).first.recuLe,
            now - std::chrono::hours(24 * 7));

  // A plain ingest token cannot set recu_le (SPEC §3.1): its time is noted, not used.
  auto [plain, plainHistory] = post(INGEST_ZR7, validLead("06 12 34 56 74"), spooled);
  EXPECT_EQ(plain.recuLe, now);
  EXPECT_EQ(plainHistory[0].via, "ingest");
  ASSERT_NE(find(plainHistory, "transmis"), nullptr);
  EXPECT_NE(historyText(*find(plainHistory, "transmis")).find("rôle gateway"), std::string::npos);
}

TEST_F(GatewayIngestTest, AFilledHoneypotIsStoredInvalidAndBadRequestValuesAreRefused) {
  Post bot;
  bot.honeypot = true;
  auto [lead, history] = post(GATEWAY_ZR7, validLead(), bot);
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.problemes, std::vector<std::string>{"spam.honeypot"});
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::INVALID).size(), 1u);

  // A request value over 4 × its field's bound, or not UTF-8: refused, nothing stored.
  auto ingest = login(GATEWAY_ZR7).getSession().getIngest();
  for (std::string ua : {std::string(4001, 'u'), std::string("\xff\xfe")}) {
    auto req = ingest.submitRequest();
    Submission fields = validLead("06 12 34 56 75");
    setFields(req.initFields(fields.size()), fields);
    req.initRequest().setUserAgent(ua);
    auto answer = req.send().wait(io.waitScope);
    EXPECT_TRUE(answer.isRefused());
  }
  EXPECT_EQ(leadCount(Entity::ZR7), 1u);
}

TEST(Auth, TheTokensFileKnowsTheGatewayRole) {
  std::string hash = sha256Hex(GATEWAY_ZR7);
  Auth auth = Auth::parse("# comment\ngateway zr7 " + hash + " passerelle\n");
  Grant grant = KJ_ASSERT_NONNULL(auth.check(GATEWAY_ZR7));
  EXPECT_EQ(grant.role, Role::GATEWAY);
  EXPECT_EQ(grant.entity, Entity::ZR7);
  EXPECT_EQ(grant.caller, "label:passerelle");
  EXPECT_EQ(grantLine(grant, hash), "gateway zr7 " + hash + " passerelle");
  // Like an ingest token, bound to one entity.
  EXPECT_ANY_THROW(Auth::parse("gateway * " + hash + "\n"));
}

TEST_F(RpcTest, AGatewaySessionIsAnIngestSession) {
  auto answer = login(GATEWAY_ZR7);
  auto session = answer.getSession();
  EXPECT_EQ(session.getRole(), schema::Role::INGEST);
  EXPECT_TRUE(session.hasIngest());
  EXPECT_FALSE(session.hasViewer());
  EXPECT_FALSE(session.hasAdmin());
}

TEST_F(RpcTest, InvalidLeadsAreStoredWithTheirProblems) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> keep;
  auto r = submit(ingest, {{"produit", "PV"}, {"nom", "X"}, {"telephone", "123"}}, "", keep);
  EXPECT_EQ(r.getStatut(), schema::Statut::INVALID);
  std::vector<std::string> problems;
  for (auto p : r.getProblemes()) problems.emplace_back(p.cStr());
  EXPECT_NE(std::find(problems.begin(), problems.end(), "telephone.invalid"), problems.end());
  EXPECT_NE(std::find(problems.begin(), problems.end(), "consentement.absent"), problems.end());
  KJ_IF_MAYBE (lead, getLead(*store, Entity::ZR7, r.getId().cStr())) {
    EXPECT_EQ(lead->statut, Statut::INVALID);
    EXPECT_EQ(lead->problemes, problems);
  } else {
    FAIL() << "an invalid lead must be stored";
  }
}

TEST_F(RpcTest, IdempotencyKeyReturnsTheFirstAnswerAndRefusesAnotherBody) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> k1, k2, k3;
  std::string first = submit(ingest, validLead(), "key-1", k1).getId().cStr();
  clock.advance(1h);  // long after the double-submission window: still the same answer
  std::string again = submit(ingest, validLead(), "key-1", k2).getId().cStr();
  EXPECT_EQ(first, again);
  EXPECT_EQ(leadCount(Entity::ZR7), 1u);
  // Refusals are answers (SubmitOutcome.refused), not exceptions.
  auto other = outcome(ingest, validLead("06 99 99 99 99"), "key-1", k3);
  ASSERT_TRUE(other.isRefused());
  EXPECT_EQ(std::string(other.getRefused().cStr()),
            "idempotency key already used with a different body");
  EXPECT_EQ(leadCount(Entity::ZR7), 1u);
  // A key longer than 128 bytes is refused.
  EXPECT_TRUE(outcome(ingest, validLead(), std::string(129, 'k'), k3).isRefused());
  EXPECT_EQ(leadCount(Entity::ZR7), 1u);
}

TEST_F(RpcTest, IdempotencyKeysBelongToTheCallerNotToTheEntity) {
  // A caller claiming another caller's key first must not capture or block its leads.
  auto partner = login(PARTNER_ZR7).getSession().getIngest();
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  auto admin = login(ADMIN).getSession().getAdmin();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> k1, k2, k3, k4;
  std::string partnerId = submit(partner, validLead("06 11 11 11 11"), "shared", k1).getId().cStr();
  std::string ingestId = submit(ingest, validLead("06 22 22 22 22"), "shared", k2).getId().cStr();
  EXPECT_NE(partnerId, ingestId);
  EXPECT_TRUE(getLead(*store, Entity::ZR7, ingestId) != nullptr);

  // The admin's submissions are a caller of their own too.
  auto req = admin.submitLeadRequest();
  req.setEntity(schema::Entity::ZR7);
  setFields(req.initFields(validLead("06 33 33 33 33").size()), validLead("06 33 33 33 33"));
  req.setIdempotencyKey("shared");
  std::string adminId = req.send().wait(io.waitScope).getStored().getId().cStr();
  EXPECT_NE(adminId, partnerId);
  EXPECT_NE(adminId, ingestId);
  EXPECT_EQ(leadCount(Entity::ZR7), 3u);

  // Each caller's key still returns its own first answer.
  clock.advance(1h);
  EXPECT_EQ(submit(ingest, validLead("06 22 22 22 22"), "shared", k3).getId().cStr(), ingestId);
  EXPECT_EQ(submit(partner, validLead("06 11 11 11 11"), "shared", k4).getId().cStr(), partnerId);
  EXPECT_EQ(leadCount(Entity::ZR7), 3u);
}

TEST_F(RpcTest, IdempotencyKeysArePurgedAfterSevenDaysAndAMargin) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  auto records = [&]() {
    size_t n = 0;
    store->scanSystem("", [&](std::string_view key, auto) {
      n += key[0] == 'K' || key[0] == 'I';
      return true;
    });
    return n;
  };
  auto purge = [&]() {
    return writes
        ->run<size_t>([now = clock.now()](Txn& txn) { return purgeIdempotencyKeys(txn, now, 100); })
        .wait(io.waitScope);
  };
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> k1, k2, k3, k4, k5;
  std::string old = submit(ingest, validLead("06 11 11 11 11"), "old", k1).getId().cStr();
  clock.advance(24h * 5);
  std::string young = submit(ingest, validLead("06 22 22 22 22"), "young", k2).getId().cStr();
  clock.advance(24h * 2);
  EXPECT_EQ(purge(), 0u);  // 7 days old: still kept (SPEC §10: at least 7 days)
  EXPECT_EQ(submit(ingest, validLead("06 11 11 11 11"), "old", k3).getId().cStr(), old);

  clock.advance(24h * 1 + 1min);  // "old" is past 8 days, "young" is 3 days old
  EXPECT_EQ(purge(), 1u);
  EXPECT_EQ(records(), 1u);
  EXPECT_EQ(purge(), 0u);
  EXPECT_EQ(submit(ingest, validLead("06 22 22 22 22"), "young", k4).getId().cStr(), young);
  // The expired key is a new key: the submission is stored anew.
  std::string again = submit(ingest, validLead("06 11 11 11 11"), "old", k5).getId().cStr();
  EXPECT_NE(again, old);
  EXPECT_EQ(leadCount(Entity::ZR7), 3u);
  EXPECT_EQ(records(), 2u);

  // Past retention but not purged yet: a new key all the same, and the purge that comes later
  // drops only the stale time entry, not the new record.
  clock.advance(24h * 8 + 1min);
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> k6, k7;
  std::string third = submit(ingest, validLead("06 11 11 11 11"), "old", k6).getId().cStr();
  EXPECT_NE(third, again);
  EXPECT_EQ(purge(), 1u);  // "young"; "old" was rewritten
  EXPECT_EQ(records(), 1u);
  EXPECT_EQ(submit(ingest, validLead("06 11 11 11 11"), "old", k7).getId().cStr(), third);
}

TEST_F(RpcTest, DoubleSubmissionWithinTenMinutesLinksToTheFirstLead) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> k;
  std::string first = submit(ingest, validLead("06 12 34 56 78"), "", k).getId().cStr();
  clock.advance(10min - 1s);
  auto second = submit(ingest, validLead("+33 6 12 34 56 78"), "", k);  // same number, other form
  EXPECT_EQ(second.getStatut(), schema::Statut::INVALID);
  std::string secondId = second.getId().cStr();
  KJ_IF_MAYBE (lead, getLead(*store, Entity::ZR7, secondId)) {
    EXPECT_EQ(lead->doublonDe, first);
    EXPECT_EQ(lead->problemes, std::vector<std::string>{"doublon.soumission"});
  } else {
    FAIL();
  }
  // Another produit is not a double.
  EXPECT_EQ(submit(ingest, validLead("0612345678", "PAC"), "", k).getStatut(), schema::Statut::NEW);
  // 2 s later: within 10 min of the second (a double itself), linked to the first.
  clock.advance(2s);
  std::string thirdId = submit(ingest, validLead(), "", k).getId().cStr();
  KJ_IF_MAYBE (lead, getLead(*store, Entity::ZR7, thirdId)) {
    EXPECT_EQ(lead->doublonDe, first);
  } else {
    FAIL();
  }
  // More than 10 minutes after the last one: a new lead.
  clock.advance(10min + 1s);
  EXPECT_EQ(submit(ingest, validLead(), "", k).getStatut(), schema::Statut::NEW);
}

TEST_F(RpcTest, ALeadNamingAProduitAddedSinceTheLastLeadIsValid) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> k1, k2, k3;
  // The event loop has validated a lead against the catalogue of then (PV, PAC, ITE).
  EXPECT_EQ(submit(ingest, validLead("06 12 34 56 70"), "", k1).getStatut(), schema::Statut::NEW);
  auto before = submit(ingest, validLead("06 12 34 56 71", "ECS"), "", k2);
  EXPECT_EQ(before.getStatut(), schema::Statut::INVALID);
  ASSERT_EQ(before.getProblemes().size(), 1u);
  EXPECT_EQ(std::string(before.getProblemes()[0].cStr()), "produit.unknown");

  auto add = login(ADMIN).getSession().getAdmin().addProduitRequest();
  add.initProduit().setEntity(schema::Entity::ZR7);
  add.getProduit().setCode("ECS");
  add.getProduit().setLibelle("Eau chaude sanitaire");
  add.send().wait(io.waitScope);

  auto after = submit(ingest, validLead("06 12 34 56 72", "ecs"), "", k3);
  EXPECT_EQ(after.getStatut(), schema::Statut::NEW);
  EXPECT_EQ(after.getProblemes().size(), 0u);
  KJ_IF_MAYBE (lead, getLead(*store, Entity::ZR7, after.getId().cStr())) {
    EXPECT_EQ(lead->produit, "ECS");
  } else {
    ADD_FAILURE() << "lead not stored";
  }
}

TEST_F(RpcTest, AProduitAddedWhileALeadWaitsForTheWriterIsKnownToIt) {
  // The event loop validated the lead against the catalogue it saw (prepareIngest), which lacked
  // ECS; the produit is added by a job before the lead's: the writer validates it again.
  IngestRequest request{
      Entity::ZR7, validLead("06 12 34 56 78", "ecs"), "", clock.now(), false, "ingest",
      "ingest-zr7"};
  request.prepared = prepareIngest(request, catalogueCodes(*store, Entity::ZR7));
  ASSERT_TRUE(request.prepared->produitUnknown);
  EXPECT_EQ(request.prepared->lead.statut, Statut::INVALID);
  auto answer = writes
                    ->run<SubmitAnswer>([&](Txn& txn) {
                      addProduit(txn, {Entity::ZR7, "ECS", "Eau chaude sanitaire"});
                      return ingestLead(txn, env->ids, request);
                    })
                    .wait(io.waitScope);
  EXPECT_EQ(answer.statut, Statut::NEW);
  EXPECT_TRUE(answer.problemes.empty());
  KJ_IF_MAYBE (lead, getLead(*store, Entity::ZR7, answer.id)) {
    EXPECT_EQ(lead->produit, "ECS");  // as the catalogue spells it
  } else {
    ADD_FAILURE() << "lead not stored";
  }

  // Still unknown to the writer: stored as the event loop validated it.
  IngestRequest other{
      Entity::ZR7, validLead("06 12 34 56 79", "XYZ"), "", clock.now(), false, "ingest",
      "ingest-zr7"};
  other.prepared = prepareIngest(other, catalogueCodes(*store, Entity::ZR7));
  answer = writes->run<SubmitAnswer>([&](Txn& txn) { return ingestLead(txn, env->ids, other); })
               .wait(io.waitScope);
  EXPECT_EQ(answer.statut, Statut::INVALID);
  EXPECT_EQ(answer.problemes, std::vector<std::string>{"produit.unknown"});
}

TEST_F(RpcTest, ConcurrentSubmissionsShareSyncedCommits) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  constexpr int N = 300;
  kj::Vector<kj::Promise<void>> promises;
  std::vector<std::string> answers(N);
  for (int i = 0; i < N; ++i) {
    auto req = ingest.submitRequest();
    setFields(req.initFields(7), validLead(fmt::format("06{:08}", i)));
    promises.add(req.send().then(
        [&answers, i](auto response) { answers[i] = response.getStored().getId().cStr(); }));
  }
  kj::joinPromises(promises.releaseAsArray()).wait(io.waitScope);
  std::set<std::string> unique(answers.begin(), answers.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(N));
  EXPECT_EQ(leadCount(Entity::ZR7), static_cast<size_t>(N));
  auto stats = writes->stats();
  EXPECT_EQ(stats.jobs, static_cast<uint64_t>(N));
  EXPECT_LT(stats.commits, stats.jobs);  // group commit: fewer fsyncs than leads
}

TEST_F(RpcTest, ARefusedSubmissionIsUndoneAloneInItsGroup) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Vector<kj::Promise<bool>> promises;
  for (int i = 0; i < 20; ++i) {
    auto req = ingest.submitRequest();
    Submission fields = validLead(fmt::format("06{:08}", i));
    if (i % 2 == 1) fields.push_back({"nom", std::string(401, 'x')});  // over 4 × 100: refused
    setFields(req.initFields(fields.size()), fields);
    promises.add(req.send().then([](auto response) { return response.isStored(); }));
  }
  auto results = kj::joinPromises(promises.releaseAsArray()).wait(io.waitScope);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(results[i], i % 2 == 0) << i;
  EXPECT_EQ(leadCount(Entity::ZR7), 10u);
}

TEST_F(RpcTest, AdminBoundToOneEntityCannotTouchTheOther) {
  auto admin = login(ADMIN_MDL).getSession().getAdmin();
  auto add = [&](schema::Entity entity) {
    auto req = admin.addClientRequest();  // a request is consumed by send()
    auto c = req.initClient();
    c.setEntity(entity);
    c.setNom("Autre");
    c.initEmails(1).set(0, "a@autre.fr");
    return std::string(req.send().wait(io.waitScope).getId().cStr());
  };
  EXPECT_ANY_THROW(add(schema::Entity::ZR7));
  EXPECT_EQ(add(schema::Entity::MDL), "autre");
  auto list = admin.listClientsRequest();
  list.initEntity().setOne(schema::Entity::ZR7);
  EXPECT_ANY_THROW(list.send().wait(io.waitScope));
  auto backup = admin.backupRequest();
  backup.setDir(dir / "copy");
  EXPECT_ANY_THROW(backup.send().wait(io.waitScope));  // a copy holds both entities
}

// SPEC §10: listings come in pages; following `next` visits every item once, in id order,
// across both entities, and a filter applies before the page is cut.
TEST_F(RpcTest, ListingsArePaginatedAcrossEntities) {
  auto admin = login(ADMIN).getSession().getAdmin();
  std::vector<std::string> ids = {"a1", "b2", "c3", "d4", "e5"};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto req = admin.addClientRequest();
    auto c = req.initClient();
    c.setEntity(i % 2 ? schema::Entity::MDL : schema::Entity::ZR7);
    c.setId(ids[i]);
    c.setNom(ids[i]);
    c.initEmails(1).set(0, "a@b.fr");
    req.send().wait(io.waitScope);
    auto k = admin.addCommandeRequest();
    k.initCommande().setClient(ids[i]);
    k.getCommande().setProduit(i < 3 ? "PV" : "PAC");
    k.getCommande().setQuotaSemaine(5);
    auto jours = k.getCommande().initJours(5);
    for (uint32_t d = 0; d < 5; ++d) jours.set(d, JOURS[d].data());
    k.send().wait(io.waitScope);
  }
  std::vector<std::string> seen, pages;
  std::string after;
  do {
    auto req = admin.listClientsRequest();
    req.initEntity().setAll();
    req.setLimit(2);
    req.setAfter(after);
    auto page = req.send().wait(io.waitScope);
    EXPECT_LE(page.getClients().size(), 2u);
    for (auto c : page.getClients()) seen.emplace_back(c.getId().cStr());
    after = page.getNext().cStr();
    pages.push_back(after);
  } while (!after.empty());
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pages, (std::vector<std::string>{"b2", "d4", ""}));

  // Filtered by client: the only commande of c3, found past the others.
  auto one = admin.listCommandesRequest();
  one.initEntity().setAll();
  one.setClient("c3");
  one.setLimit(1);
  auto found = one.send().wait(io.waitScope);
  ASSERT_EQ(found.getCommandes().size(), 1u);
  EXPECT_EQ(std::string(found.getCommandes()[0].getClient().cStr()), "c3");
  EXPECT_EQ(std::string(found.getNext().cStr()), "");

  // Without a limit: everything fits in one page of at most 1000.
  auto all = admin.listCommandesRequest();
  all.initEntity().setAll();
  auto every = all.send().wait(io.waitScope);
  EXPECT_EQ(every.getCommandes().size(), 5u);
  EXPECT_EQ(std::string(every.getNext().cStr()), "");
}

TEST_F(RpcTest, CommandesTakeTheirClientsEntityAndOrderedIds) {
  auto admin = login(ADMIN).getSession().getAdmin();
  auto addClient = admin.addClientRequest();
  auto c = addClient.initClient();
  c.setEntity(schema::Entity::MDL);
  c.setId("isol");
  c.setNom("Isol");
  c.initEmails(1).set(0, "a@isol.fr");
  addClient.send().wait(io.waitScope);

  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto req = admin.addCommandeRequest();
    auto k = req.initCommande();
    k.setEntity(schema::Entity::ZR7);  // ignored: the client's entity wins
    k.setClient("isol");
    k.setProduit("pac");
    k.setQuotaSemaine(20);
    k.initJours(1).set(0, "lun");
    ids.push_back(req.send().wait(io.waitScope).getId().cStr());
  }
  EXPECT_LT(ids[0], ids[1]);
  KJ_IF_MAYBE (k, getCommande(*store, Entity::MDL, ids[0])) {
    EXPECT_EQ(k->produit, "PAC");
    EXPECT_EQ(k->departements, std::vector<std::string>{"*"});
  } else {
    FAIL();
  }
  auto bad = admin.addCommandeRequest();
  auto k = bad.initCommande();
  k.setClient("isol");
  k.setProduit("PV");
  k.setQuotaSemaine(100001);
  k.initJours(1).set(0, "lun");
  EXPECT_ANY_THROW(bad.send().wait(io.waitScope));
}

TEST_F(RpcTest, ImportKeepsRecuLeAndReportsEveryRow) {
  auto admin = login(ADMIN).getSession().getAdmin();
  auto req = admin.importLeadsRequest();
  req.setEntity(schema::Entity::MDL);
  auto rows = req.initRows(3);
  Submission ok = validLead();
  ok.push_back({"recu_le", "2026-03-29T09:30:00+02:00"});
  auto fill = [&](uint32_t i, const Submission& s) { setFields(rows.init(i, s.size()), s); };
  fill(0, ok);
  fill(1, {{"nom", std::string(1000, 'n')}});           // refused: over 4 × its bound
  fill(2, {{"produit", "PV"}, {"telephone", "0612"}});  // stored, invalid
  auto response = req.send().wait(io.waitScope);
  auto out = response.getRows();
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(out[0].isStored());
  EXPECT_TRUE(out[1].isRefused());
  ASSERT_TRUE(out[2].isStored());
  EXPECT_EQ(out[2].getStored().getStatut(), schema::Statut::INVALID);
  KJ_IF_MAYBE (lead, getLead(*store, Entity::MDL, out[0].getStored().getId().cStr())) {
    EXPECT_EQ(lead->recuLe, Timestamp(std::chrono::seconds(1774769400)));  // 07:30 UTC
  } else {
    FAIL();
  }
}

// Runs of one date never overlap (no client gets two batches for a date), a dry run of a done
// date shows that run, and a token bound to one entity sees only its entity's runs and batches.
TEST_F(RpcTest, RunsOfADateDoNotOverlapAndAreScopedToTheToken) {
  auto admin = login(ADMIN).getSession().getAdmin();
  for (auto [entity, id] : {std::pair{schema::Entity::ZR7, "zr7-client"},
                            std::pair{schema::Entity::MDL, "mdl-client"}}) {
    auto client = admin.addClientRequest();
    auto c = client.initClient();
    c.setEntity(entity);
    c.setId(id);
    c.setNom(id);
    c.initEmails(1).set(0, "a@b.fr");
    client.send().wait(io.waitScope);
    auto commande = admin.addCommandeRequest();
    auto k = commande.initCommande();
    k.setClient(id);
    k.setProduit("PV");
    k.setQuotaSemaine(10);
    auto jours = k.initJours(7);
    for (uint32_t i = 0; i < 7; ++i) jours.set(i, JOURS[i].data());
    commande.send().wait(io.waitScope);
    auto submit = admin.submitLeadRequest();
    submit.setEntity(entity);
    Submission fields = validLead(entity == schema::Entity::ZR7 ? "0611111111" : "0622222222");
    setFields(submit.initFields(fields.size()), fields);
    submit.send().wait(io.waitScope);
  }
  auto deliver = [&](const char* date, std::optional<schema::Entity> entity, bool dryRun,
                     bool force = true) {
    auto req = admin.deliverRequest();
    req.setForce(force);
    req.setDate(date);
    if (entity) {
      req.initEntity().setOne(*entity);
    } else {
      req.initEntity().setAll();
    }
    req.setDryRun(dryRun);
    return req.send().wait(io.waitScope);
  };
  // The clock is 2026-11-18; runs the next days see the leads. A date ahead needs force (a dry run
  // does not).
  EXPECT_ANY_THROW(deliver("2026-11-20", std::nullopt, false, false));
  EXPECT_NO_THROW(deliver("2026-11-20", std::nullopt, true, false));
  auto first = deliver("2026-11-20", std::nullopt, false);
  EXPECT_EQ(first.getRun().getAssigned(), 2u);
  EXPECT_EQ(first.getBatches().size(), 2u);
  auto dry = deliver("2026-11-20", std::nullopt, true);
  EXPECT_TRUE(dry.getRun().getAlreadyDone());
  EXPECT_EQ(dry.getRun().getPlan().size(), 0u);
  // A one-entity run of a date with a full run is that full run.
  EXPECT_TRUE(deliver("2026-11-20", schema::Entity::ZR7, false).getRun().getAlreadyDone());
  // A one-entity run first: the full run of that date runs the other entity alone (SPEC §5.9).
  EXPECT_FALSE(deliver("2026-11-21", schema::Entity::ZR7, false).getRun().getAlreadyDone());
  EXPECT_EQ(std::string(deliver("2026-11-21", std::nullopt, true).getRun().getId().cStr()),
            "2026-11-21/mdl");
  auto rest = deliver("2026-11-21", std::nullopt, false);
  EXPECT_FALSE(rest.getRun().getAlreadyDone());
  EXPECT_EQ(std::string(rest.getRun().getId().cStr()), "2026-11-21/mdl");
  EXPECT_TRUE(deliver("2026-11-21", schema::Entity::MDL, false).getRun().getAlreadyDone());
  auto again = deliver("2026-11-21", std::nullopt, false);
  EXPECT_TRUE(again.getRun().getAlreadyDone());

  auto mdl = login(ADMIN_MDL).getSession().getViewer();
  std::vector<std::string> runs;
  auto listed = mdl.listRunsRequest().send().wait(io.waitScope);  // outlives the loop's reads
  for (auto r : listed.getRuns()) runs.emplace_back(r.getId().cStr());
  EXPECT_EQ(runs, (std::vector<std::string>{"2026-11-20", "2026-11-21/mdl"}));
  auto get = mdl.getRunRequest();
  get.setId("2026-11-20");
  auto full = get.send().wait(io.waitScope);
  ASSERT_EQ(full.getBatches().size(), 1u);
  EXPECT_EQ(full.getBatches()[0].getEntity(), schema::Entity::MDL);
  // The full run as MDL sees it: MDL's batch id and counts only, never ZR7's.
  ASSERT_EQ(full.getRun().getBatches().size(), 1u);
  EXPECT_EQ(full.getRun().getBatches()[0], full.getBatches()[0].getId());
  EXPECT_EQ(full.getRun().getAssigned(), 1u);
  ASSERT_EQ(full.getRun().getByEntity().size(), 1u);
  EXPECT_EQ(full.getRun().getByEntity()[0].getEntity(), schema::Entity::MDL);
  auto listedAgain = mdl.listRunsRequest().send().wait(io.waitScope);
  for (auto r : listedAgain.getRuns()) {
    EXPECT_LE(r.getBatches().size(), 1u) << r.getId().cStr();
    EXPECT_LE(r.getAssigned(), 1u) << r.getId().cStr();
  }
  // The unbound admin still sees both.
  auto all = login(ADMIN).getSession().getViewer().getRunRequest();
  all.setId("2026-11-20");
  auto both = all.send().wait(io.waitScope);
  EXPECT_EQ(both.getRun().getBatches().size(), 2u);
  EXPECT_EQ(both.getRun().getAssigned(), 2u);
  auto hidden = mdl.getRunRequest();
  hidden.setId("2026-11-21/zr7");
  EXPECT_ANY_THROW(hidden.send().wait(io.waitScope));
  auto listedBatches = mdl.listBatchesRequest().send().wait(io.waitScope);
  auto batches = listedBatches.getBatches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].getEntity(), schema::Entity::MDL);
}

// lead explain (SPEC §7.4) for a session bound to one entity: its own leads only, and of the
// other entity's commandes only the one that received its lead by fallback. A run's trace is kept
// 35 days after its date, then purged (and the run is no longer explained).
TEST_F(RpcTest, ExplainIsScopedToTheSessionsEntityAndTracesArePurgedAfter35Days) {
  auto admin = login(ADMIN).getSession().getAdmin();
  auto addCommande = [&](schema::Entity entity, const char* client, uint32_t quota, bool fallback) {
    auto c = admin.addClientRequest();
    c.initClient().setEntity(entity);
    c.getClient().setId(client);
    c.getClient().setNom(client);
    c.getClient().initEmails(1).set(0, "a@b.fr");
    c.send().wait(io.waitScope);
    auto req = admin.addCommandeRequest();
    auto k = req.initCommande();
    k.setClient(client);
    k.setProduit("PV");
    k.setQuotaSemaine(quota);
    k.setFallback(fallback);
    auto jours = k.initJours(7);
    for (uint32_t i = 0; i < 7; ++i) jours.set(i, JOURS[i].data());
    return std::string(req.send().wait(io.waitScope).getId().cStr());
  };
  std::string a = addCommande(schema::Entity::ZR7, "zr7-a", 10, true);
  std::string b = addCommande(schema::Entity::ZR7, "zr7-b", 10, false);
  std::string c = addCommande(schema::Entity::MDL, "mdl-c", 1, false);
  auto submit = [&](schema::Entity entity, const char* phone) {
    auto req = admin.submitLeadRequest();
    req.setEntity(entity);
    Submission fields = validLead(phone);
    setFields(req.initFields(fields.size()), fields);
    auto id = std::string(req.send().wait(io.waitScope).getStored().getId().cStr());
    clock.advance(1s);
    return id;
  };
  std::string mdlFirst = submit(schema::Entity::MDL, "0611111111");
  std::string mdlSecond = submit(schema::Entity::MDL, "0622222222");
  std::string zr7Lead = submit(schema::Entity::ZR7, "0633333333");
  auto deliver = admin.deliverRequest();
  deliver.setDate("2026-11-20");
  deliver.setForce(true);
  deliver.initEntity().setAll();
  EXPECT_EQ(deliver.send().wait(io.waitScope).getRun().getAssigned(), 3u);

  auto explain = [&](schema::Viewer::Client viewer, const std::string& id) {
    auto req = viewer.explainLeadRequest();
    req.setId(id);
    return req.send().wait(io.waitScope);
  };
  auto reasons = [](schema::Explanation::Reader x) {
    std::vector<std::string> out;
    for (auto r : x.getRaisons()) {
      out.push_back(std::string(r.getCommande().cStr()) + ":" +
                    std::to_string(static_cast<int>(r.getRaison())));
    }
    return out;
  };
  using Code = schema::Explanation::Raison::Code;
  auto code = [](Code c) { return std::to_string(static_cast<int>(c)); };

  // The unbound admin sees every commande of the produit.
  auto all = explain(login(ADMIN).getSession().getViewer(), mdlSecond);
  EXPECT_FALSE(all.getDryRun());
  EXPECT_EQ(all.getExplanation().getResultat(), schema::Explanation::Resultat::LIVRE);
  EXPECT_EQ(std::string(all.getExplanation().getCommande().cStr()), a);
  EXPECT_EQ(std::string(all.getExplanation().getDate().cStr()), "2026-11-20");
  EXPECT_EQ(
      reasons(all.getExplanation()),
      (std::vector<std::string>{c + ":" + code(Code::QUOTA_ATTEINT), a + ":" + code(Code::ATTRIBUE),
                                b + ":" + code(Code::PAS_DE_FALLBACK)}));
  // MDL's session: its lead, its commande, and the ZR7 commande that received the lead, not the
  // other ZR7 one.
  auto mdl = login(ADMIN_MDL).getSession().getViewer();
  EXPECT_EQ(reasons(explain(mdl, mdlSecond).getExplanation()),
            (std::vector<std::string>{c + ":" + code(Code::QUOTA_ATTEINT),
                                      a + ":" + code(Code::ATTRIBUE)}));
  EXPECT_EQ(reasons(explain(mdl, mdlFirst).getExplanation()),
            (std::vector<std::string>{c + ":" + code(Code::ATTRIBUE)}));
  // Not a lead of its entity.
  EXPECT_ANY_THROW(explain(mdl, zr7Lead));
  EXPECT_ANY_THROW(explain(mdl, "0000000000000"));

  // Kept through the 35th day after the run's date, gone the day after.
  auto purge = [&]() {
    return writes
        ->run<size_t>([now = clock.now()](Txn& txn) { return purgeExpiredRunTraces(txn, now); })
        .wait(io.waitScope);
  };
  auto viewer = login(VIEWER).getSession().getViewer();
  clock.set(*parseIso("2026-12-25T23:00:00+01:00"));
  EXPECT_EQ(purge(), 0u);
  EXPECT_NO_THROW(explain(viewer, zr7Lead));
  clock.set(*parseIso("2026-12-26T00:30:00+01:00"));
  EXPECT_EQ(purge(), 1u);
  EXPECT_TRUE(getRunTrace(*store, "2026-11-20") == nullptr);
  EXPECT_TRUE(getRun(*store, "2026-11-20") != nullptr);  // the run itself stays
  try {
    explain(viewer, zr7Lead);
    ADD_FAILURE() << "a run without its trace was explained";
  } catch (const kj::Exception& e) {
    EXPECT_TRUE(std::string(e.getDescription().cStr()).find("kept no explanation") !=
                std::string::npos)
        << e.getDescription().cStr();
  }
}

// SPEC §7.5 over RPC: the audit runs on its worker thread, answers a report the JSON of which is
// rdzctl's contract, and an entity-bound admin audits its entity only.
TEST_F(RpcTest, AuditReportsOverRpcAndAnEntityBoundAdminAuditsItsEntity) {
  auto ingest = login(INGEST_ZR7).getSession().getIngest();
  kj::Maybe<capnp::Response<schema::SubmitOutcome>> keep;
  std::string zr7 = submit(ingest, validLead("0611111111"), "", keep).getId().cStr();
  auto admin = login(ADMIN).getSession().getAdmin();
  auto clean = admin.auditRequest().send().wait(io.waitScope);
  EXPECT_EQ(toJson(clean.getReport()),
            "{\"ok\":true,\"checked\":{\"leads\":1,\"index_entries\":2,\"deliveries\":0,"
            "\"batches\":0,\"quota_counters\":0},\"violations\":[],\"violations_total\":0}");

  test::setNbLivraisons(*store, Entity::ZR7, zr7, 3);
  auto brokenAudit = admin.auditRequest().send().wait(io.waitScope);
  auto broken = brokenAudit.getReport();
  EXPECT_FALSE(broken.getOk());
  ASSERT_EQ(broken.getViolations().size(), 1u);
  EXPECT_EQ(broken.getViolationsTotal(), 1u);
  EXPECT_EQ(std::string(broken.getViolations()[0].getInvariant().cStr()), "lead.nb_livraisons");
  EXPECT_EQ(std::string(broken.getViolations()[0].getKey().cStr()), "zr7.leads/" + zr7);

  // MDL's admin neither sees nor counts ZR7's leads.
  auto mdl = login(ADMIN_MDL).getSession().getAdmin();
  auto ownAudit = mdl.auditRequest().send().wait(io.waitScope);
  auto own = ownAudit.getReport();
  EXPECT_TRUE(own.getOk());
  EXPECT_EQ(own.getChecked().getLeads(), 0u);
  // A viewer has no audit (it is an admin operation).
  auto viewer = login(VIEWER).getSession().getViewer();
  EXPECT_ANY_THROW(viewer.castAs<schema::Admin>().auditRequest().send().wait(io.waitScope));
}

}  // namespace
}  // namespace rdz

namespace rdz {
namespace {

// A run once started is carried to its commit even if its caller goes away (the connection of a
// killed `rdzctl deliver`, a systemd timeout): the connection is closed while the run is being
// prepared, the run still commits once, and asking again is answered as done, with nothing
// allocated twice. (Cap'n Proto 0.9 itself lets a call of a closed connection run on; rdzd does
// not rely on it: Admin.deliver keeps a branch of the run on the event loop.)
TEST_F(RpcTest, ADeliverCallDroppedBeforeItsAnswerStillCommitsTheRunOnce) {
  auto admin = login(ADMIN).getSession().getAdmin();
  auto c = admin.addClientRequest();
  c.initClient().setEntity(schema::Entity::ZR7);
  c.getClient().setId("solaire");
  c.getClient().setNom("Solaire");
  c.getClient().initEmails(1).set(0, "a@solaire.fr");
  c.send().wait(io.waitScope);
  auto k = admin.addCommandeRequest();
  k.initCommande().setEntity(schema::Entity::ZR7);
  k.getCommande().setClient("solaire");
  k.getCommande().setProduit("PV");
  k.getCommande().setQuotaSemaine(10000);
  auto jours = k.getCommande().initJours(7);
  for (uint32_t i = 0; i < 7; ++i) jours.set(i, JOURS[i].data());
  k.send().wait(io.waitScope);
  // Enough leads that the run is still being prepared when its caller goes (tens of ms at
  // least), stored in one write.
  constexpr uint32_t LEADS = 5000;
  writes->runSync([&](Txn& txn) {
    for (uint32_t i = 0; i < LEADS; ++i) {
      ingestLead(txn, env->ids,
                 {Entity::ZR7, validLead(fmt::format("06{:08}", 11000000 + i)), "", clock.now(),
                  false, "test"});
    }
  });
  clock.advance(1s);

  {
    // A connection of its own, closed while the run is being prepared.
    auto pipe = kj::newTwoWayPipe();
    env->server.accept(kj::mv(pipe.ends[1]));
    auto gone = kj::heap<capnp::TwoPartyClient>(*pipe.ends[0]);
    auto bootstrap = gone->bootstrap().castAs<schema::Bootstrap>();
    auto auth = bootstrap.authenticateRequest();
    auth.setToken(ADMIN);
    auto session = auth.send().wait(io.waitScope);
    auto deliver = session.getSession().getAdmin().deliverRequest();
    deliver.setDate("2026-11-20");
    deliver.setForce(true);
    deliver.initEntity().setAll();
    auto dropped = deliver.send();
    // The call's messages are ready events of this loop: they reach rdzd's side before the timer.
    io.provider->getTimer().afterDelay(20 * kj::MILLISECONDS).wait(io.waitScope);
    ASSERT_EQ(getRun(*store, "2026-11-20"), nullptr) << "the run ended before its caller went";
  }  // the call, the client and its end of the connection are gone: rdzd reads the end
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (getRun(*store, "2026-11-20") == nullptr && std::chrono::steady_clock::now() < deadline) {
    io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope);
  }
  KJ_IF_MAYBE (run, getRun(*store, "2026-11-20")) {
    EXPECT_EQ(run->assigned, LEADS);
  } else {
    FAIL() << "the run of a dropped call was not committed";
  }
  auto again = admin.deliverRequest();
  again.setDate("2026-11-20");
  again.setForce(true);
  again.initEntity().setAll();
  auto answer = again.send().wait(io.waitScope);
  EXPECT_TRUE(answer.getRun().getAlreadyDone());
  EXPECT_EQ(answer.getRun().getAssigned(), LEADS);
  EXPECT_EQ(leadIdsByStatus(*store, Entity::ZR7, Statut::DELIVERED).size(), LEADS);
}

}  // namespace
}  // namespace rdz
