#include "tools/gateway/rdzd-link.h"

#include <kj/debug.h>

#include "client/connection.h"
#include "client/json.h"
#include "daemon/domain/validation.h"
#include "daemon/service/log.h"

namespace rdz::gateway {

namespace {

// A connection attempt that has not authenticated by then is abandoned (a stopped rdzd accepts
// connections on its socket without answering); the next call starts another.
constexpr kj::Duration CONNECT_TIMEOUT = 10 * kj::SECONDS;

std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// KJ_EXCEPTION(DISCONNECTED, x) would print "x = …"; the message is the description itself.
kj::Exception disconnected(const std::string& why) {
  return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__, kj::str(why.c_str()));
}


}  // namespace

struct IngestLink::Live {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;  // uses `stream`: declared after it, destroyed before it
  schema::Ingest::Client ingest = nullptr;
  uint64_t generation = 0;
  kj::Promise<void> watch = nullptr;  // drops the link when rdzd hangs up; destroyed first
};

void IngestLink::ErrorHandler::taskFailed(kj::Exception&& exception) {
  // Connection attempts report their failure to their waiters; nothing else is expected here.
  logInfo("rdzd link: {}", exception.getDescription().cStr());
}

IngestLink::IngestLink(kj::Network& network, kj::UnixEventPort& port, kj::Timer& timer,
                       Endpoint rdzd, std::string tokenFile, Entity entity)
    : network_(network),
      timer_(timer),
      port_(port),
      rdzd_(std::move(rdzd)),
      tokenFile_(std::move(tokenFile)),
      entity_(entity),
      tasks_(errorHandler_) {}

IngestLink::~IngestLink() noexcept(false) = default;

void IngestLink::noteFailure(const std::string& why) {
  // Logged when it changes, not once per lead: an outage is one line, not thousands.
  if (why != lastError_) logInfo("rdzd unavailable for {}: {}", entityName(entity_), why);
  lastError_ = why;
}

void IngestLink::drop(uint64_t generation, const std::string& why) {
  KJ_IF_MAYBE(live, live_) {
    if ((*live)->generation != generation) return;
    logInfo("lost the rdzd connection for {}: {}", entityName(entity_), why);
    lastError_ = why;
    // The connection may be the one whose callback is running: destroy it on a later turn.
    tasks_.add(kj::evalLater([old = kj::mv(*live)]() {}));
    live_ = nullptr;
  }
}

kj::Promise<void> IngestLink::connect() {
  std::string token;
  try {
    token = readTokenFile(tokenFile_);
  } catch (const ConnectError& e) {  // the message names the file, never its content
    return disconnected(e.what());
  }
  // Set when rdzd answered but the token does not fit this link: that message is the whole story.
  auto misfit = std::make_shared<std::string>();
  return openStream(network_, port_, rdzd_)
      .then([this, misfit, token = kj::mv(token)](kj::Own<kj::AsyncIoStream> stream) mutable {
        auto live = kj::heap<Live>();
        live->stream = kj::mv(stream);
        live->rpc = kj::heap<capnp::TwoPartyClient>(*live->stream);
        auto request = live->rpc->bootstrap().castAs<schema::Bootstrap>().authenticateRequest();
        request.setToken(token);
        return request.send().then(
            [this, misfit, live = kj::mv(live)](
                capnp::Response<schema::Bootstrap::AuthenticateResults>&& response) mutable {
              auto session = response.getSession();
              if (session.getRole() != schema::Role::INGEST) {
                *misfit = "the token in " + tokenFile_ + " is not an ingest token";
              } else if (!session.getEntity().isOne() ||
                         static_cast<int>(session.getEntity().getOne()) !=
                             static_cast<int>(entity_)) {
                *misfit = "the token in " + tokenFile_ + " belongs to another entity";
              }
              if (!misfit->empty()) kj::throwFatalException(disconnected(*misfit));
              live->ingest = session.getIngest();
              live->generation = ++generation_;
              uint64_t generation = live->generation;
              live->watch = live->rpc->onDisconnect()
                                .then([this, generation]() {
                                  drop(generation, "rdzd closed the connection");
                                })
                                .eagerlyEvaluate([](kj::Exception&&) {
                                  // onDisconnect() does not reject; nothing to do if it did.
                                });
              live_ = kj::mv(live);
            });
      })
      .catch_([this, misfit](kj::Exception&& e) -> kj::Promise<void> {
        if (!misfit->empty()) return disconnected(*misfit);
        std::string what = e.getDescription().cStr();
        if (what.find("not authenticated") != std::string::npos) {
          return disconnected("rdzd refused the token in " + tokenFile_);
        }
        return disconnected("cannot reach rdzd at " + rdzd_.describe() + ": " + what);
      });
}

kj::Promise<uint64_t> IngestLink::session() {
  KJ_IF_MAYBE(live, live_) {
    return (*live)->generation;
  }
  auto paf = kj::newPromiseAndFulfiller<uint64_t>();
  waiters_.push_back(kj::mv(paf.fulfiller));
  if (!connecting_) {
    connecting_ = true;
    // In the task set, not in a caller's promise: an attempt finishes (and the connection is kept)
    // even if every caller that waited for it went away.
    tasks_.add(timer_.timeoutAfter(CONNECT_TIMEOUT, connect())
                   .then(
                       [this]() {
                         connecting_ = false;
                         uint64_t generation = KJ_ASSERT_NONNULL(live_)->generation;
                         if (!everUp_ || !lastError_.empty()) {
                           logInfo("connected to rdzd at {} as {} ingest", rdzd_.describe(),
                                   entityName(entity_));
                         }
                         everUp_ = true;
                         lastError_.clear();
                         for (auto& w : waiters_) w->fulfill(kj::cp(generation));
                         waiters_.clear();
                       },
                       [this](kj::Exception&& e) {
                         connecting_ = false;
                         noteFailure(e.getDescription().cStr());
                         for (auto& w : waiters_) w->reject(kj::cp(e));
                         waiters_.clear();
                       }));
  }
  return kj::mv(paf.promise);
}

schema::Ingest::Client IngestLink::ingest(uint64_t generation) {
  KJ_IF_MAYBE(live, live_) {
    if ((*live)->generation == generation) return (*live)->ingest;
  }
  kj::throwFatalException(disconnected("the rdzd connection was lost"));
}

kj::Promise<Forwarded> IngestLink::submit(Submission fields, std::string idempotencyKey,
                                          PostContext post, kj::Duration timeout) {
  auto generation = std::make_shared<uint64_t>(0);  // 0 until a session carried the request
  auto call = session()
                  .then([this, fields = kj::mv(fields), key = kj::mv(idempotencyKey),
                         post = kj::mv(post), generation](uint64_t session) mutable {
                    *generation = session;
                    auto request = ingest(session).submitRequest();
                    auto list = request.initFields(static_cast<unsigned>(fields.size()));
                    for (size_t i = 0; i < fields.size(); ++i) {
                      list[i].setName(fields[i].name);
                      list[i].setValue(fields[i].value);
                    }
                    request.setIdempotencyKey(key);
                    auto http = request.initRequest();
                    http.setIp(post.request.ip);
                    http.setUserAgent(post.request.userAgent);
                    http.setPageUrl(post.request.pageUrl);
                    http.setHoneypot(post.request.honeypot);
                    http.setAcceptedAt(post.acceptedAtMicros);
                    http.setSpooled(post.spooled);
                    return request.send();
                  })
                  .then([](capnp::Response<schema::SubmitOutcome>&& response) {
                    Forwarded f;
                    if (response.isRefused()) {
                      // rdzd refused the submission (SPEC §3.2): its reason is for the caller.
                      f.outcome = Forwarded::Outcome::REFUSED;
                      f.error = "submission refused: " + str(response.getRefused());
                      return f;
                    }
                    auto result = response.getStored();
                    f.outcome = Forwarded::Outcome::STORED;
                    f.id = str(result.getId());
                    f.statut = std::string(rdz::statutName(static_cast<Statut>(result.getStatut())));
                    f.json = toJson(result);
                    return f;
                  });
  return timer_.timeoutAfter(timeout, kj::mv(call)).catch_([this, generation](kj::Exception&& e) {
    // Refusals are answers; an exception is never the lead's fault (disconnected, overloaded,
    // silent, or rdzd failing): the lead is spooled and retried, never dropped.
    Forwarded f;
    std::string what = e.getDescription().cStr();
    f.outcome = Forwarded::Outcome::UNAVAILABLE;
    f.error = what;
    // Disconnected, overloaded or silent: the next call starts a fresh connection.
    if (*generation != 0) drop(*generation, what);
    return f;
  });
}

kj::Promise<bool> IngestLink::probe(kj::Duration timeout) {
  return timer_.timeoutAfter(timeout, session().then([](uint64_t) { return true; }))
      .catch_([](kj::Exception&&) { return false; });
}

}  // namespace rdz::gateway
