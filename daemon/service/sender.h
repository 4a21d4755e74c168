// The Sender sends what runs committed (SPEC §5.7): it takes the batches whose planned attempt
// is due from the outbox, builds each client's email (one CSV per commande and kind, in the
// client's entity's format, from its entity's SMTP account and templates) or, for methode api,
// posts one JSON per commande and kind (api-delivery.h), sends it, and records
// the outcome atomically: `sent` with the server's answer, or `failed` with the next attempt
// planned by the retry schedule. A batch's leads stay assigned whatever happens.
//
// Delivery is at-least-once: a crash after the server accepted a batch but before it is marked
// sent sends it again on restart, with the same Message-ID.
//
// Runs on its own thread (SMTP is blocking); wakes when told to and at the next due attempt.
// rdzd runs one Sender per entity, so a hung SMTP or API server of one company never delays the
// other company's batches.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>
#include <thread>

#include "daemon/domain/clock.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/outbox.h"
#include "daemon/service/api-delivery.h"
#include "daemon/service/config.h"
#include "daemon/service/mailer.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/store.h"

namespace rdz {

class Sender {
 public:
  // `send` is the mailer (sendMail in production); `post` the HTTP poster of methode api
  // (postJson with its default timeouts when empty). Without `background`, nothing is sent
  // unless sendDue() is called (tests drive it with a manual clock). `entity`: the only entity
  // whose batches this Sender sends (both when unset).
  using SendFn = std::function<SendResult(const SmtpConfig&, const std::string&, const Mail&)>;
  Sender(Store& store, WriteQueue& writes, const Config& config, const Clock& clock,
         SendFn send = sendMail, bool background = true, PostFn post = {},
         std::optional<Entity> entity = std::nullopt);
  ~Sender();  // finishes the batch in hand, then stops

  // Look at the outbox now (after a run's commit, a resend).
  void wake();

  // Attempts every batch due now, synchronously, on the calling thread (tests, and the loop).
  // Returns how many batches were attempted.
  size_t sendDue();

  // Outcome writes that failed and were retried (the send itself never is for that reason).
  uint64_t outcomeWriteFailures() const { return outcomeWriteFailures_.load(); }

  // The outcome write after a send is retried alone, from this delay doubling up to the max.
  static constexpr std::chrono::milliseconds OUTCOME_RETRY_FIRST{100};
  static constexpr std::chrono::milliseconds OUTCOME_RETRY_MAX{30000};

 private:
  void loop();
  std::chrono::milliseconds untilNextDue();
  void attempt(Entity entity, const std::string& batchId);
  Mail buildMail(Entity entity, const Batch& batch, const Client& client);
  // Commits `write` (the outcome of an attempt already made), retrying the write alone with
  // backoff until it commits or the Sender stops (then the batch stays due and goes out again
  // after a restart). A failed write must never cause a second send while rdzd runs.
  void recordOutcome(const std::string& batchId, std::function<void(Txn&)> write);

  Store& store_;
  WriteQueue& writes_;
  const Config& config_;
  const Clock& clock_;
  SendFn send_;
  PostFn post_;
  std::vector<Entity> entities_;
  std::string hostname_;

  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool woken_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> outcomeWriteFailures_{0};
  std::thread thread_;  // last: started once everything above exists (if background)
};

}  // namespace rdz
