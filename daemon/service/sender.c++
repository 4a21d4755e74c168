#include "daemon/service/sender.h"

#include <fmt/format.h>
#include <kj/debug.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "daemon/domain/delivery-format.h"
#include "daemon/domain/fault-point.h"
#include "daemon/domain/history.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/time.h"
#include "daemon/service/api-delivery.h"
#include "daemon/service/files.h"
#include "daemon/service/log.h"
#include "daemon/service/metrics.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

std::string trimTrailingNewlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The entity's templates: TEMPLATES_DIR/<slug>/subject.txt and body.txt when present, else the
// built-in French ones.
MailTemplates templatesFor(const Config& config, Entity e) {
  MailTemplates t = defaultTemplates(e);
  if (config.templatesDir.empty()) return t;
  std::string dir = config.templatesDir + "/" + std::string(entitySlug(e)) + "/";
  if (auto subject = readFileIfExists(dir + "subject.txt"))
    t.subject = trimTrailingNewlines(*subject);
  if (auto body = readFileIfExists(dir + "body.txt")) t.body = *body;
  return t;
}

std::string runDate(const std::string& runId) { return runId.substr(0, runId.find('/')); }

}  // namespace

Sender::Sender(Store& store, WriteQueue& writes, const Config& config, const Clock& clock,
               SendFn send, bool background, PostFn post, std::optional<Entity> entity)
    : store_(store),
      writes_(writes),
      config_(config),
      clock_(clock),
      send_(kj::mv(send)),
      post_(post ? kj::mv(post) : PostFn([](auto& url, auto& headers, auto& body) {
        return postJson(url, headers, body);
      })) {
  if (entity) {
    entities_ = {*entity};
  } else {
    entities_.assign(std::begin(ALL_ENTITIES), std::end(ALL_ENTITIES));
  }
  char name[256] = {};
  hostname_ = ::gethostname(name, sizeof(name) - 1) == 0 && name[0] != 0 ? name : "rdz.localhost";
  if (background) thread_ = std::thread([this]() { loop(); });
}

Sender::~Sender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sender::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

// Until the next due attempt of this Sender's entities, at most a minute: the clock may be moved
// by an admin (or a test's manual clock), so the outbox is looked at regularly anyway.
std::chrono::milliseconds Sender::untilNextDue() {
  using std::chrono::milliseconds;
  milliseconds wait(60000);
  for (Entity e : entities_) {
    if (auto next = nextDue(store_, e)) {
      auto until = std::chrono::ceil<milliseconds>(*next - clock_.now());
      wait = std::min(wait, std::max(until, milliseconds(0)));
    }
  }
  return wait;
}

void Sender::loop() {
  for (;;) {
    // A storage failure must not end the thread (and with it rdzd): log, pause, look again.
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   auto wait = untilNextDue();
                   {
                     std::unique_lock lock(mutex_);
                     if (wait > std::chrono::milliseconds(0)) {
                       wakeup_.wait_for(lock, wait, [this]() { return woken_ || stopping_; });
                     }
                     if (stopping_) return;
                     woken_ = false;
                   }
                   sendDue();
                 })) {
      logInfo("sender: {}", e->getDescription().cStr());
      std::this_thread::sleep_for(std::chrono::seconds(1));  // do not spin on a broken store
    }
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
}

size_t Sender::sendDue() {
  size_t attempted = 0;
  for (Entity e : entities_) {
    for (auto& d : dueBatches(store_, e, clock_.now())) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return attempted;
      }
      attempt(d.entity, d.id);
      ++attempted;
    }
  }
  return attempted;
}

Mail Sender::buildMail(Entity entity, const Batch& batch, const Client& client) {
  std::vector<BatchPart> parts = batchParts(store_, entity, batch);

  const SmtpConfig& smtp = config_.smtp[static_cast<int>(entity)];
  std::string date = runDate(batch.run);
  MailTemplates templates = templatesFor(config_, entity);
  Mail mail;
  mail.fromAddress = smtp.from;
  mail.fromName = smtp.fromName;
  mail.to = client.emails;
  mail.cc = client.cc;
  mail.subject = fillTemplate(templates.subject, client.nom, date, batch.deliveries.size());
  mail.body = fillTemplate(templates.body, client.nom, date, batch.deliveries.size());
  mail.messageId = "<" + batch.id + "@" + hostname_ + ">";
  // One CSV per commande and kind, no two with one name.
  std::vector<AttachmentPart> files;
  for (auto& part : parts) files.push_back({part.commande, part.produit, part.lb});
  std::vector<std::string> names = attachmentNames(entity, client.id, date, files);
  for (size_t i = 0; i < parts.size(); ++i) {
    mail.attachments.push_back({names[i], renderCsv(entity, parts[i].leads)});
  }
  return mail;
}

void Sender::attempt(Entity entity, const std::string& batchId) {
  Batch batch;
  Client client;
  KJ_IF_MAYBE (b, getBatch(store_, entity, batchId)) {
    batch = kj::mv(*b);
  } else {
    KJ_FAIL_ASSERT("the outbox names a missing batch", batchId);
  }
  KJ_IF_MAYBE (c, getClient(store_, entity, batch.client)) {
    client = kj::mv(*c);
  } else {
    KJ_FAIL_ASSERT("a batch's client is missing", batch.client);
  }

  faultPoint("sender.before_send");
  SendResult result;
  std::vector<uint32_t> accepted;  // methode api: parts acknowledged during this attempt
  if (client.methode == Methode::API) {
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   ApiOutcome outcome =
                       sendByApi(store_, entity, batch, client, runDate(batch.run), post_);
                   result = kj::mv(outcome.result);
                   accepted = kj::mv(outcome.accepted);
                 })) {
      result = {};
      result.detail = e->getDescription().cStr();
    }
  } else {
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   const SmtpConfig& smtp = config_.smtp[static_cast<int>(entity)];
                   std::string password;
                   if (!smtp.passwordFile.empty()) {
                     auto text = readFileIfExists(smtp.passwordFile);
                     KJ_REQUIRE(text.has_value(), "cannot read the SMTP password file");
                     password = trimTrailingNewlines(*text);
                   }
                   result = send_(smtp, password, buildMail(entity, batch, client));
                 })) {
      result = {};
      result.detail = e->getDescription().cStr();
    }
  }

  metrics().countSendAttempt(entity, client.methode, result.ok, result.permanent);
  if (result.ok) faultPoint("sender.after_accept");  // 250 / 2xx, not yet recorded
  Timestamp now = clock_.now();
  logInfo("batch {} ({} {}, {} leads): {}", batch.id, entityName(entity), batch.client,
          batch.deliveries.size(), result.ok ? "sent" : "failed: " + result.detail);
  faultPoint("sender.before_outcome");
  recordOutcome(batch.id, [entity, batchId, result, accepted, now](Txn& txn) {
    KJ_IF_MAYBE (current, getBatch(txn, entity, batchId)) {
      Batch updated = *current;
      updated.attempts += 1;
      for (uint32_t part : accepted) {
        auto& parts = updated.partsAccepted;
        if (std::find(parts.begin(), parts.end(), part) == parts.end()) parts.push_back(part);
      }
      std::sort(updated.partsAccepted.begin(), updated.partsAccepted.end());
      updated.responses.push_back(formatIso(now) + " " +
                                  (result.ok          ? "ok "
                                   : result.permanent ? "refus "
                                                      : "echec ") +
                                  std::to_string(result.code) + " " + result.detail);
      if (result.ok) {
        updated.status = BatchStatus::SENT;
        updated.failures = 0;
        updated.sentAt = now;
        updated.nextAttempt.reset();
        updated.lastError.clear();
      } else {
        updated.status = BatchStatus::FAILED;
        updated.lastError = result.detail;
        // Failures since the last success or resend count; attempts keeps the whole story.
        updated.failures += 1;
        auto delay = retryDelay(updated.failures);
        if (delay) {
          updated.nextAttempt = now + *delay;
        } else {
          updated.nextAttempt.reset();
        }
      }
      putBatch(txn, updated, &*current);
      countBatch(txn, &*current, updated);
      if (result.ok) {
        for (auto& deliveryId : updated.deliveries) {
          KJ_IF_MAYBE (d, getDelivery(txn, entity, deliveryId)) {
            addHistory(txn, d->leadEntity, d->lead, history::sent(now, updated));
          }
        }
      }
    }
  });
}

void Sender::recordOutcome(const std::string& batchId, std::function<void(Txn&)> write) {
  auto backoff = OUTCOME_RETRY_FIRST;
  for (;;) {
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                   // A batch of a committed run, its outbox entry, its leads' history.
                   writes_.runSync([&write](Txn& txn) { write(txn); }, Writes::OUTSIDE_RUNS);
                 })) {
      ++outcomeWriteFailures_;
      logInfo(
          "batch {}: recording the outcome failed ({}); retrying the write in {} ms, "
          "not the send",
          batchId, e->getDescription().cStr(), backoff.count());
    } else {
      return;
    }
    std::unique_lock lock(mutex_);
    if (wakeup_.wait_for(lock, backoff, [this]() { return stopping_; })) {
      // Unrecorded, the batch is still due: after a restart it goes out once more, with the same
      // Message-ID (the at-least-once of SPEC §5.8).
      logInfo("batch {}: stopping with its outcome unrecorded; it will be sent again", batchId);
      return;
    }
    backoff = std::min(backoff * 2, OUTCOME_RETRY_MAX);
  }
}

}  // namespace rdz
