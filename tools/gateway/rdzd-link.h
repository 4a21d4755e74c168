// The gateway's connection to rdzd for one entity: Cap'n Proto RPC over rdzd's Unix socket,
// authenticated once with that entity's ingest token (SPEC §8.1), on the gateway's event loop.
//
// The link connects lazily (the first submission, or a probe), shares one connection attempt among
// every caller waiting for it, and forgets the connection when rdzd goes away (disconnect, or a
// call that does not answer in time) so that the next call reconnects. The token file is read at
// each connection attempt: a gateway started before rdzd's first start finds the token once rdzd
// has written it. Tokens are never logged.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <string>
#include <vector>

#include "client/connection.h"
#include "daemon/domain/types.h"
#include "daemon/domain/validation.h"
#include "schema/rdz.capnp.h"

namespace rdz::gateway {

// What became of one submission sent to rdzd.
struct Forwarded {
  enum class Outcome {
    STORED,       // rdzd stored it (or had it already, by idempotency key): id, statut, json
    REFUSED,      // rdzd refused it (SPEC §3.2): error is rdzd's message
    UNAVAILABLE,  // rdzd unreachable, token refused, disconnected, overloaded or too slow: error
  };
  Outcome outcome = Outcome::UNAVAILABLE;
  std::string id;
  std::string statut;
  std::string json;  // {"id","statut","problemes"}
  std::string error;
};

// What the gateway tells rdzd of a post beyond its fields (schema HttpRequest).
struct PostContext {
  HttpRequestProof request;
  int64_t acceptedAtMicros = 0;  // when the gateway accepted the post
  bool spooled = false;          // replayed from the spool
};

class IngestLink {
 public:
  // `rdzd`: where rdzd is (its socket, or TCP/TLS); its token is read from `tokenFile`.
  IngestLink(kj::Network& network, kj::UnixEventPort& port, kj::Timer& timer, Endpoint rdzd,
             std::string tokenFile, Entity entity);
  ~IngestLink() noexcept(false);
  KJ_DISALLOW_COPY(IngestLink);

  // Sends one submission. Never rejects: the outcome says what happened. `timeout` bounds the
  // whole exchange (connecting and authenticating included); a submission that times out is
  // UNAVAILABLE although rdzd may still store it, which is why callers always send an idempotency
  // key: a later replay then gets rdzd's first answer instead of a second lead.
  kj::Promise<Forwarded> submit(Submission fields, std::string idempotencyKey, PostContext post,
                                kj::Duration timeout);
  // Connects and authenticates when needed; true when a session is up within `timeout`.
  kj::Promise<bool> probe(kj::Duration timeout);

  bool up() const { return live_ != nullptr; }
  // Why the last attempt failed ("" after a success). Never contains a token.
  const std::string& lastError() const { return lastError_; }
  Entity entity() const { return entity_; }

 private:
  struct Live;
  class ErrorHandler final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override;
  };

  // Resolves with the generation of a live, authenticated connection (connecting when needed);
  // rejects with DISCONNECTED when rdzd cannot be reached or refuses the token.
  kj::Promise<uint64_t> session();
  // The ingest capability of connection `generation`; throws DISCONNECTED if it is gone.
  schema::Ingest::Client ingest(uint64_t generation);
  kj::Promise<void> connect();
  // Forgets the connection if it is still `generation` (destroyed on a later turn of the loop).
  void drop(uint64_t generation, const std::string& why);
  void noteFailure(const std::string& why);

  kj::Network& network_;
  kj::Timer& timer_;
  kj::UnixEventPort& port_;
  Endpoint rdzd_;
  std::string tokenFile_;
  Entity entity_;
  kj::Maybe<kj::Own<Live>> live_;
  bool connecting_ = false;
  std::vector<kj::Own<kj::PromiseFulfiller<uint64_t>>> waiters_;
  uint64_t generation_ = 0;
  std::string lastError_;
  bool everUp_ = false;
  ErrorHandler errorHandler_;
  kj::TaskSet tasks_;  // connection attempts and deferred destruction; last: cancelled first
};

}  // namespace rdz::gateway
