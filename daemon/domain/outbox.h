// Deliveries, batches and runs (SPEC §5.7–5.8): the records a run commits before anything is
// sent, and the retry schedule of a failed batch. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/allocation.h"
#include "daemon/domain/types.h"

namespace rdz {

// One lead given to one commande.
struct Delivery {
  std::string id;
  Entity leadEntity = Entity::ZR7;  // the lead's owner
  Entity entity = Entity::ZR7;      // the receiving commande's (and client's) entity
  std::string lead;
  std::string commande;
  std::string client;
  std::string run;  // run date
  PassKind pass = PassKind::FRESH;
  Timestamp at{};  // the run's reference time
  std::string batch;
  std::string rejet;  // reason; "" when not rejected
  std::optional<Timestamp> rejeteLe;
  bool operator==(const Delivery&) const = default;
};

enum class BatchStatus : uint8_t { PENDING = 0, SENT = 1, FAILED = 2 };
std::string_view batchStatusName(BatchStatus s);  // pending, sent, failed

// What one client receives in one run.
struct Batch {
  std::string id;
  Entity entity = Entity::ZR7;  // the client's
  std::string client;
  std::string run;
  BatchStatus status = BatchStatus::PENDING;
  std::vector<std::string> deliveries;
  uint32_t attempts = 0;
  uint32_t failures = 0;  // failed attempts since the last success or resend: the retry schedule
  std::optional<Timestamp> nextAttempt;  // nullopt: no automatic attempt planned
  std::string lastError;
  std::optional<Timestamp> sentAt;
  std::vector<std::string> responses;  // one line per attempt, for the admin
  // methode api: the parts (1-based) already acknowledged with 2xx, ascending; a retry posts only
  // the others. An admin's resend of a sent batch clears it (everything is posted again).
  std::vector<uint32_t> partsAccepted;
  bool operator==(const Batch&) const = default;
};

// Delay before the next attempt after `failedAttempts` failures (SPEC §5.7): 1, 5, 15, 60 min,
// then every 6 h for 3 days; nullopt once that is over (the batch stays `failed` until an admin
// resends it).
std::optional<Duration> retryDelay(uint32_t failedAttempts);

struct RunCounts {
  uint32_t aged = 0;
  uint32_t assigned = 0;
  uint32_t doublonsEvites = 0;
  bool operator==(const RunCounts&) const = default;
};

struct RunRecord {
  std::string id;                 // date, or date/slug for a one-entity run
  std::string date;
  std::optional<Entity> entity;   // one-entity run
  Timestamp reference{};
  // As committed: "committed", or "complete" when the run has no batch. Readers derive the live
  // status from the batches (complete once every one is sent).
  std::string status;
  uint32_t aged = 0;
  uint32_t assigned = 0;
  uint32_t doublonsEvites = 0;
  std::vector<std::string> batches;
  // The same counts per entity (aged and duplicates by the lead's entity, assigned by the
  // receiving client's); empty for runs recorded before they were kept.
  std::map<Entity, RunCounts> byEntity;
  bool operator==(const RunRecord&) const = default;
};

// The run id of a date and scope: "2026-11-25" or "2026-11-25/zr7".
std::string runId(std::string_view date, std::optional<Entity> entity);

}  // namespace rdz
