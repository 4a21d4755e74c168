// The state changes of SPEC §7.1–7.2: rejection, erasure, the opposition list. Each function
// runs inside one WriteQueue job and writes everything it implies (delivery, lead, counters,
// history, batches, lists) in that job's Txn: all or nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/after-delivery.h"
#include "daemon/store/store.h"

namespace rdz {

struct RejectAnswer {
  std::string id;
  Statut statut = Statut::REJECTED;
  std::string commande;
  std::string client;
  Credit credit = Credit::WEEK;
};

// Rejects the latest delivery of lead `id` at `at` (SPEC §7.1). `scope`: the entity the token is
// bound to, if any. Throws (KJ_REQUIRE, nothing written) on every refusal of the SPEC.
RejectAnswer rejectLead(Txn& txn, std::optional<Entity> scope, const std::string& id,
                        const std::string& reason, Timestamp at, Timestamp now);

struct ErasureOutcome {
  uint32_t leads = 0;
  // Where old versions of the wiped values are: to purge from the files once committed.
  std::vector<KeyRange> ranges;
};

// Erases the person `e164` in `entities` (SPEC §7.2): wipes the personal fields of every lead
// of that number (and any of their values in history details), drops their rows from unsent
// batches (the commande credited as for a rejection), deletes the duplicate-index entries whose
// keys hold the number, and puts `oppositionHash` on each entity's opposition list.
ErasureOutcome eraseLeads(Txn& txn, const std::vector<Entity>& entities, const std::string& e164,
                          const std::string& oppositionHash, Timestamp now);

}  // namespace rdz
