// rdz-gateway's HTTP side (SPEC §8.3): the public endpoint web forms post leads to.
//
//   POST /v1/leads/{zr7|mdl}   application/json (one object of fields) or
//                              application/x-www-form-urlencoded (a plain HTML form);
//                              optional Idempotency-Key (≤ 128 bytes)
//     201 {"id","statut","problemes"}  stored by rdzd (an invalid lead too: SPEC §3.2)
//     202 {"spool_id"}                 rdzd away; the lead is in the spool, synced to disk
//     303 Location: merci_url          instead of 201/202, for a browser's form post naming an
//                                      allowed thank-you page (config <entity>.merci_urls)
//     400 malformed / not UTF-8 / not an object, 404 unknown entity or path, 405 method,
//     408 body not received within body_timeout_ms (the connection is then closed),
//     413 body over 16 KiB, 415 other content types, 422 refused by rdzd {"error"},
//     429 over the per-IP rate limit (Retry-After), 503 rdzd away and the spool full or failing
//   OPTIONS on the same path: CORS preflight (204 for an allowed origin)
//   GET /healthz   200 "ok", whether rdzd is reachable (per entity), the spool's health and depth;
//                  never paths or error details (it is public: those go to the log)
//   GET /metrics   Prometheus text
//
// With every lead goes what the request proves (client address, User-Agent, Referer else Origin)
// and when the gateway accepted it, also on replay from the spool; rdzd fills the lead's ip,
// user_agent and page_url from them when the form did not, and takes the time as recu_le for a
// gateway token. The `merci_url` field and the honeypot field (config honeypot_field) are the
// gateway's, never forwarded as lead fields; a post that fills the honeypot is forwarded marked
// so (stored invalid, spam.honeypot) and answered as if accepted.
//
// Every lead is sent to rdzd with an idempotency key (the client's, or "gw-" + 128 random bits),
// so a lead whose answer was lost (timeout, disconnect) and is then spooled and replayed is stored
// once. Everything runs on one KJ event loop; disk syncs happen on the spool's thread.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/timer.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/gateway/config.h"
#include "tools/gateway/rdzd-link.h"
#include "tools/gateway/spool.h"
#include "tools/gateway/thanks.h"

namespace rdz::gateway {

// Per-client token buckets: `rate` tokens per second, at most `burst`; a lead post takes one.
// Clients are IPv4 addresses, or IPv6 /64 prefixes (one host usually owns a whole /64). The table
// holds at most 100 000 clients; when it is full of clients still limited, a new client is
// refused (never let through unlimited). Event-loop only.
class RateLimiter {
 public:
  RateLimiter(double rate, unsigned burst);
  // True when `client` may post now (a token is taken). Otherwise false, with how long until the
  // next token in `retryAfter`. Always true when the rate is 0.
  bool allow(const std::string& client, kj::TimePoint now, kj::Duration* retryAfter = nullptr);
  // Forgets clients whose bucket is full again, so idle ones cost no memory.
  void prune(kj::TimePoint now);
  size_t size() const { return buckets_.size(); }

  // The bucket key of an address: itself for IPv4, "<first 64 bits>::/64" for IPv6.
  static std::string clientKey(const std::string& ip);

 private:
  struct Bucket {
    double tokens;
    kj::TimePoint last;
  };
  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// The peer's IP address of an accepted connection ("192.0.2.7", "2001:db8::1"; an IPv4 client of
// a dual-stack socket as IPv4), "local" for a non-IP socket, "unknown" when it cannot tell.
std::string peerAddress(kj::AsyncIoStream& connection);

// The client IP of a request: the peer, or, when the peer is a trusted proxy, the rightmost
// X-Forwarded-For address that is not itself a trusted proxy.
std::string clientAddress(const std::string& peer, kj::Maybe<kj::StringPtr> forwardedFor,
                          const std::vector<std::string>& trustedProxies);

// The idempotency key forwarded for a client's `Idempotency-Key`: scoped to the client's address
// ("gs-" + SHA-256 hex of both, 67 characters), so a public caller cannot claim the key another
// source uses, and a 128-byte client key still fits rdzd's bound. The same client retrying with
// the same key gets the same forwarded key.
std::string sourceKey(std::string_view client, std::string_view key);

// A form body (application/x-www-form-urlencoded, `+` = space) as fields, in order. Throws
// (KJ_REQUIRE) on a bad %-escape or text that is not UTF-8.
Submission submissionFromForm(std::string_view body);

class Gateway {
 public:
  Gateway(const Config& config, kj::Timer& timer, kj::Network& network, kj::UnixEventPort& port,
          SpoolQueue& spool);
  ~Gateway() noexcept(false);
  KJ_DISALLOW_COPY(Gateway);

  const kj::HttpHeaderTable& headerTable() const { return *table_; }
  // The service for one accepted connection (it knows the peer's address, for the rate limit).
  kj::Own<kj::HttpService> newService(kj::AsyncIoStream& connection);
  // For the kj::HttpServer of serve(): the configured header timeout, and an error handler that
  // turns exceptions into a logged 500 without details.
  kj::HttpServerSettings serverSettings();
  // Accepts connections from `listener` and hands them to `server`, within the configured caps
  // (max_connections in all, max_connections_per_ip from one peer address other than a trusted
  // proxy): a connection past a cap is closed at once, unanswered, and counted. The connections
  // run in `connections`, which must outlive them and be destroyed before `server`. Never
  // resolves; cancelling it stops accepting, not the connections.
  kj::Promise<void> serve(kj::ConnectionReceiver& listener, kj::HttpServer& server,
                          kj::TaskSet& connections);

  // Background work: spool replay every replay interval (and right after a lead reached rdzd),
  // rate-limit pruning. Never resolves.
  kj::Promise<void> run();

  kj::Promise<void> request(const std::string& peer, kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            kj::HttpService::Response& response);

 private:
  struct Headers;
  struct Request;
  struct Reply;
  struct Metrics;
  class Service;
  class ServerErrors;
  class TaskErrors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override;
  };

  kj::Promise<void> postLead(Request& req, Entity entity, kj::AsyncInputStream& body,
                             kj::HttpService::Response& response);
  kj::Promise<void> submitLead(kj::Own<Request> req, Entity entity, std::string body,
                               kj::HttpService::Response& response);
  kj::Promise<void> healthz(kj::Own<Request> req, kj::HttpService::Response& response);
  std::string metricsText() const;
  kj::Promise<void> send(kj::HttpService::Response& response, const Request& req, Reply reply);
  Reply error(const Request& req, unsigned code, const std::string& message) const;
  bool originAllowed(const std::string& origin) const;

  kj::Promise<Forwarded> forward(Entity entity, Submission fields, std::string key,
                                 PostContext post);
  // The answer to a post rdzd stored (201) or the spool took (202): a 303 to `redirect` when it
  // is set (an allowed thank-you page), else for a browser the "Merci" page; else no body yet
  // (the caller puts its JSON).
  Reply accepted(const Request& req, unsigned code, const std::string& redirect) const;
  // {"id","statut":"new","problemes":[]}: what a post caught by the honeypot is answered.
  static std::string acceptedJson(const std::string& id);
  void kickReplay();
  kj::Promise<bool> replayBatch();
  kj::Promise<bool> replayFrom(std::vector<SpooledEntry>& batch, size_t i, uint64_t stored);

  const Config& config_;
  kj::Timer& timer_;
  size_t openConnections_ = 0;
  std::unordered_map<std::string, size_t> connectionsByIp_;
  SpoolQueue& spool_;
  kj::Own<kj::HttpHeaderTable> table_;
  std::unique_ptr<Headers> ids_;
  kj::Own<IngestLink> links_[2];  // indexed by Entity
  ThanksPages thanks_[2];         // indexed by Entity
  RateLimiter limiter_;
  std::unique_ptr<Metrics> metrics_;
  kj::Own<ServerErrors> serverErrors_;
  bool replaying_ = false;
  TaskErrors taskErrors_;
  kj::TaskSet tasks_;  // spool replays; last: cancelled before the members above go away
};

// rdz-gateway's main loop: opens the spool, listens, serves until SIGTERM or SIGINT, then drains
// the requests in flight (at most 10 s). Returns the process exit code.
int runGateway(const Config& config);

}  // namespace rdz::gateway
