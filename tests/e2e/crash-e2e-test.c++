// "No lead is ever lost" (SPEC §3.2): kill -9 rdzd while eight clients submit leads, restart it,
// and check that every acknowledged lead is there, intact, exactly once, and that retrying with
// the same idempotency keys neither loses nor duplicates anything.
#include <kj/debug.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "client/connection.h"
#include "client/synthetic.h"
#include "tests/e2e/harness.h"

namespace rdz::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t SEED = 20260115;
constexpr uint32_t THREADS = 8;
constexpr auto MIN_RUN = std::chrono::milliseconds(1500);
constexpr size_t MIN_ACKS = 300;
constexpr size_t MAX_REPORTED = 20;

// What one client thread did before rdzd died.
struct Stream {
  uint32_t stream = 0;                    // the synthetic stream (phones are unique per stream)
  std::map<uint32_t, std::string> acked;  // n -> id, acknowledged submissions
  int64_t highestAttempted = -1;          // the last n sent (acknowledged or not)
  std::string stopReason;                 // the exception that stopped the thread
  bool stoppedBeforeKill = false;
};

// Failures collected by worker threads, reported by the test's thread.
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    if (list_.size() < MAX_REPORTED) list_.push_back(std::move(what));
  }
  size_t count() const { return count_; }
  std::string report() const {
    std::string out = std::to_string(count_) + " failure(s); the first ones:\n";
    for (auto& f : list_) out += "  " + f + "\n";
    return out;
  }

 private:
  std::mutex mutex_;
  size_t count_ = 0;
  std::vector<std::string> list_;
};

std::string describeException(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const kj::Exception& k) {
    return k.getDescription().cStr();
  } catch (const std::exception& s) {
    return s.what();
  } catch (...) {
    return "unknown exception";
  }
}

void fillRequest(capnp::Request<schema::Ingest::SubmitParams, schema::SubmitOutcome>& req,
                 const Submission& lead, const std::string& key) {
  auto fields = req.initFields(lead.size());
  for (size_t i = 0; i < lead.size(); ++i) {
    fields[i].setName(lead[i].name);
    fields[i].setValue(lead[i].value);
  }
  req.setIdempotencyKey(key);
}

std::string phoneOf(const Submission& lead) {
  for (auto& f : lead) {
    if (f.name == "telephone") return f.value;
  }
  return "";
}

// The stored value of a submitted field, in the submission's own words.
std::string storedField(schema::Lead::Reader lead, const std::string& name) {
  auto t = [](capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); };
  if (name == "produit") return t(lead.getProduit());
  if (name == "nom") return t(lead.getNom());
  if (name == "prenom") return t(lead.getPrenom());
  if (name == "telephone") return t(lead.getTelephone());
  if (name == "email") return t(lead.getEmail());
  if (name == "code_postal") return t(lead.getCodePostal());
  if (name == "ville") return t(lead.getVille());
  if (name == "consentement_texte") return t(lead.getConsentementTexte());
  if (name == "page_url") return t(lead.getPageUrl());
  if (name == "ip") return t(lead.getIp());
  if (name == "user_agent") return t(lead.getUserAgent());
  if (name == "source") return t(lead.getSource());
  if (name == "utm_source") return t(lead.getUtmSource());
  if (name == "utm_medium") return t(lead.getUtmMedium());
  if (name == "utm_campaign") return t(lead.getUtmCampaign());
  if (name == "consentement") return lead.getConsentement() ? "true" : "false";
  if (name == "proprietaire") {
    switch (lead.getProprietaire()) {
      case schema::TriState::OUI:
        return "oui";
      case schema::TriState::NON:
        return "non";
      default:
        return "?";
    }
  }
  if (name == "type_logement") {
    switch (lead.getTypeLogement()) {
      case schema::TypeLogement::MAISON:
        return "maison";
      case schema::TypeLogement::APPARTEMENT:
        return "appartement";
      default:
        return "?";
    }
  }
  return "<field " + name + " not compared>";
}

// Submits stream.stream's leads 0, 1, 2, … until the first exception (rdzd killed).
void submitUntilKilled(const Endpoint& endpoint, Stream& stream, const std::atomic<bool>& killed,
                       const std::atomic<bool>& giveUp, std::atomic<size_t>& acks) {
  try {
    Connection conn(endpoint);
    auto ingest = conn.ingest();
    for (uint32_t n = 0; !giveUp.load(); ++n) {
      auto lead = syntheticLead(SEED, stream.stream, n);
      auto req = ingest.submitRequest();
      fillRequest(req, lead, syntheticKey(SEED, stream.stream, n));
      stream.highestAttempted = n;
      auto response = req.send().wait(conn.waitScope());
      auto result = response.getStored();
      stream.acked.emplace(n, result.getId().cStr());
      acks.fetch_add(1);
      if (result.getStatut() != schema::Statut::NEW) {
        stream.stopReason = "lead " + std::to_string(n) + " answered with a statut other than new";
        stream.stoppedBeforeKill = true;
        return;
      }
    }
    stream.stopReason = "gave up waiting";
    stream.stoppedBeforeKill = true;
  } catch (...) {
    stream.stopReason = describeException(std::current_exception());
    stream.stoppedBeforeKill = !killed.load();
  }
}

// (a) every acknowledged lead is stored as sent, statut new.
void checkAcked(const Endpoint& admin, const Stream& stream, Failures& failures) {
  Connection conn(admin);
  auto viewer = conn.viewer();
  for (auto& acked : stream.acked) {
    // Named copies: a lambda below reads them (clang before 16 cannot capture a binding).
    const auto n = acked.first;
    const std::string& id = acked.second;
    std::string where =
        "stream " + std::to_string(stream.stream) + " n " + std::to_string(n) + " id " + id + ": ";
    auto req = viewer.getLeadRequest();
    req.setId(id);
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   auto response = req.send().wait(conn.waitScope());
                   auto lead = response.getLead();
                   if (std::string(lead.getId().cStr()) != id) failures.add(where + "other id");
                   if (lead.getEntity() != schema::Entity::ZR7) failures.add(where + "entity");
                   if (lead.getStatut() != schema::Statut::NEW) failures.add(where + "statut");
                   if (lead.getProblemes().size() != 0) failures.add(where + "problemes");
                   for (auto& f : syntheticLead(SEED, stream.stream, n)) {
                     std::string stored = storedField(lead, f.name);
                     if (stored != f.value) {
                       failures.add(where + f.name + " is '" + stored + "', sent '" + f.value +
                                    "'");
                     }
                   }
                 })) {
      failures.add(where + "lost after restart: " + e->getDescription().cStr());
    }
  }
}

// (b) re-submits every attempted lead with its key and body: acknowledged ones get their id
// back; returns the ids of all (n -> id).
std::map<uint32_t, std::string> retryAll(const Endpoint& ingestEndpoint, const Stream& stream,
                                         Failures& failures) {
  std::map<uint32_t, std::string> ids;
  Connection conn(ingestEndpoint);
  auto ingest = conn.ingest();
  for (int64_t n = 0; n <= stream.highestAttempted; ++n) {
    uint32_t un = static_cast<uint32_t>(n);
    std::string where =
        "retry stream " + std::to_string(stream.stream) + " n " + std::to_string(n) + ": ";
    auto req = ingest.submitRequest();
    fillRequest(req, syntheticLead(SEED, stream.stream, un), syntheticKey(SEED, stream.stream, un));
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   auto response = req.send().wait(conn.waitScope());
                   auto result = response.getStored();
                   std::string id = result.getId().cStr();
                   auto it = stream.acked.find(un);
                   if (it != stream.acked.end() && it->second != id) {
                     failures.add(where + "acknowledged as " + it->second + ", retry answers " +
                                  id);
                   }
                   if (result.getStatut() != schema::Statut::NEW) {
                     failures.add(where + "statut is not new (" + id + ")");
                   }
                   ids[un] = id;
                 })) {
      failures.add(where + "refused: " + e->getDescription().cStr());
    }
  }
  return ids;
}

// (c) exactly one lead per attempted phone, the one the retry answered.
void checkNoDuplicates(const Endpoint& admin, const Stream& stream,
                       const std::map<uint32_t, std::string>& ids, Failures& failures) {
  Connection conn(admin);
  auto viewer = conn.viewer();
  for (int64_t n = 0; n <= stream.highestAttempted; ++n) {
    uint32_t un = static_cast<uint32_t>(n);
    std::string phone = phoneOf(syntheticLead(SEED, stream.stream, un));
    std::string where = "stream " + std::to_string(stream.stream) + " n " + std::to_string(n) +
                        " phone " + phone + ": ";
    auto req = viewer.findLeadsRequest();
    req.setTelephone(phone);
    req.initEntity().setAll();
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   auto response = req.send().wait(conn.waitScope());
                   auto leads = response.getLeads();
                   if (leads.size() != 1) {
                     std::string found;
                     for (auto l : leads) found += std::string(" ") + l.getId().cStr();
                     failures.add(where + std::to_string(leads.size()) + " leads:" + found);
                     return;
                   }
                   auto it = ids.find(un);
                   if (it != ids.end() && it->second != leads[0].getId().cStr()) {
                     failures.add(where + "found " + leads[0].getId().cStr() + ", retry answered " +
                                  it->second);
                   }
                 })) {
      failures.add(where + "findLeads failed: " + e->getDescription().cStr());
    }
  }
}

// Runs `work(stream)` for every stream, one thread each.
template <typename Work>
void forEachStream(std::vector<Stream>& streams, Work work) {
  std::vector<std::thread> threads;
  for (auto& s : streams) threads.emplace_back([&work, &s]() { work(s); });
  for (auto& t : threads) t.join();
}

class CrashE2e : public E2eTest {
 protected:
  Endpoint adminEndpoint() { return unixEndpoint(adminTokenFile()); }
  Endpoint ingestEndpoint() { return unixEndpoint(ingestTokenFile("zr7")); }

 private:
  // Named members, not positional: Endpoint has more fields than these two.
  Endpoint unixEndpoint(const std::string& tokenFile) {
    Endpoint endpoint;
    endpoint.socket = socketPath();
    endpoint.token = readTokenFile(tokenFile);
    return endpoint;
  }
};

TEST_F(CrashE2e, Kill9UnderLoadLosesAndDuplicatesNothing) {
  std::vector<Stream> previous;  // streams of earlier cycles, checked again after each crash
  for (uint32_t cycle = 0; cycle < 2; ++cycle) {
    SCOPED_TRACE("crash cycle " + std::to_string(cycle));
    // Distinct streams per cycle: their phones differ, so no double-submission rule interferes.
    std::vector<Stream> streams(THREADS);
    for (uint32_t t = 0; t < THREADS; ++t) streams[t].stream = cycle * THREADS + t;

    std::atomic<bool> killed{false}, giveUp{false};
    std::atomic<size_t> acks{0};
    Endpoint ingest = ingestEndpoint();
    std::vector<std::thread> threads;
    for (auto& s : streams) {
      threads.emplace_back(
          [&, sp = &s]() { submitUntilKilled(ingest, *sp, killed, giveUp, acks); });
    }
    auto started = Clock::now();
    while ((Clock::now() - started < MIN_RUN || acks.load() < MIN_ACKS) &&
           Clock::now() - started < std::chrono::seconds(30)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    killed = true;
    daemon_->kill9();
    giveUp = true;
    for (auto& t : threads) t.join();
    size_t acked = acks.load();
    ASSERT_GE(acked, MIN_ACKS) << "rdzd acknowledged too few leads in 30 s";
    size_t attempted = 0;
    for (auto& s : streams) {
      EXPECT_FALSE(s.stoppedBeforeKill) << "stream " << s.stream << ": " << s.stopReason;
      attempted += static_cast<size_t>(s.highestAttempted + 1);
    }
    std::cerr << "[crash cycle " << cycle << "] " << acked << " acknowledged, " << attempted
              << " attempted before kill -9\n";

    daemon_->start();  // recovery from the WAL
    Failures failures;
    Endpoint admin = adminEndpoint();
    forEachStream(streams, [&](Stream& s) { checkAcked(admin, s, failures); });
    ASSERT_EQ(failures.count(), 0u)
        << "(a) acknowledged leads after restart: " << failures.report();
    forEachStream(previous, [&](Stream& s) { checkAcked(admin, s, failures); });
    ASSERT_EQ(failures.count(), 0u)
        << "(a) leads of earlier cycles after this crash: " << failures.report();

    std::map<uint32_t, std::map<uint32_t, std::string>> retried;  // stream -> n -> id
    std::mutex retriedMutex;
    forEachStream(streams, [&](Stream& s) {
      auto ids = retryAll(ingest, s, failures);
      std::lock_guard<std::mutex> lock(retriedMutex);
      retried[s.stream] = std::move(ids);
    });
    ASSERT_EQ(failures.count(), 0u) << "(b) retries: " << failures.report();

    forEachStream(streams,
                  [&](Stream& s) { checkNoDuplicates(admin, s, retried.at(s.stream), failures); });
    ASSERT_EQ(failures.count(), 0u) << "(c) one lead per phone: " << failures.report();

    // From now on every attempted lead is acknowledged (by its retry).
    for (auto& s : streams) {
      for (auto& [n, id] : retried.at(s.stream)) s.acked.emplace(n, id);
      previous.push_back(std::move(s));
    }
  }
}

TEST_F(CrashE2e, Kill9RightAfterRdzctlSubmitKeepsTheLead) {
  std::string ingest = ingestTokenFile("zr7");
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string phone = "061000000" + std::to_string(round);
    std::string nom = "Éphémère-" + std::to_string(round);
    auto submitted =
        ctlAs(ingest, {"--json", "lead", "submit", "--entity", "ZR7", "--idempotency-key",
                       "once-" + std::to_string(round), "produit=PV", "nom=" + nom, "prenom=Zoé",
                       "telephone=" + phone, "code_postal=20000", "consentement=true",
                       "utm_campaign=crash"});
    daemon_->kill9();
    ASSERT_EQ(submitted.exitCode, 0) << describe(submitted);
    std::string id = textAt(Json(submitted.out).root(), "id");
    daemon_->start();

    auto shown = ctlJson({"lead", "show", id});
    EXPECT_EQ(textAt(shown.root(), "nom"), nom);
    EXPECT_EQ(textAt(shown.root(), "telephone"), phone);
    EXPECT_EQ(textAt(shown.root(), "departement"), "2A");
    EXPECT_EQ(textAt(shown.root(), "utm_campaign"), "crash");
    EXPECT_EQ(textAt(shown.root(), "statut"), "new");
    // The key survived too: the retry a client would make gets the same id, nothing new.
    auto retried = ctlAs(ingest, {"--json", "lead", "submit", "--entity", "ZR7",
                                  "--idempotency-key", "once-" + std::to_string(round),
                                  "produit=PV", "nom=" + nom, "prenom=Zoé", "telephone=" + phone,
                                  "code_postal=20000", "consentement=true", "utm_campaign=crash"});
    ASSERT_EQ(retried.exitCode, 0) << describe(retried);
    EXPECT_EQ(textAt(Json(retried.out).root(), "id"), id);
    EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", phone}).root(), "leads")).size(), 1u);
  }
}

}  // namespace
}  // namespace rdz::e2e
