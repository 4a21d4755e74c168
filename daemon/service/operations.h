// The state changes of rdzd. Each function runs inside one WriteQueue job (on the writer
// thread), reads through and writes into that job's Txn, and so is atomic: either all of its
// records, indexes and history events are committed together, or none.
#pragma once

#include <string>
#include <vector>

#include "daemon/domain/commerce.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/types.h"
#include "daemon/domain/validation.h"
#include "daemon/service/opposition.h"
#include "daemon/store/store.h"

namespace rdz {

// Stored (id, statut, problemes), or refused outright (SPEC §3.2): `refused` holds the reason and
// nothing was written.
struct SubmitAnswer {
  std::string refused;
  std::string id;
  Statut statut = Statut::NEW;
  std::vector<std::string> problemes;
  bool operator==(const SubmitAnswer&) const = default;
};

struct IngestRequest {
  Entity entity = Entity::ZR7;
  Submission fields;
  std::string idempotencyKey;  // "" for none
  Timestamp receivedAt{};
  bool allowRecuLe = false;  // admin import
  std::string via;           // "ingest", "admin", "import": kept in the lead's history
  std::string caller = {};  // Grant::caller of the token: the idempotency key's owner
  // The opposition list's hash (SPEC §7.2): a lead whose phone is on its entity's list is stored
  // invalid / telephone.oppose. Null: no list is checked.
  const OppositionKey* opposition = nullptr;
  // Through rdz-gateway (Ingest.submit's `request`): what the HTTP post proves (ip, user agent,
  // page, honeypot). nullopt for other callers.
  std::optional<HttpRequestProof> request = {};
  // When the gateway says it accepted the post. It becomes recu_le (instead of receivedAt) only
  // when `trustAcceptedAt` (a gateway token) and within `spoolMaxAge` before receivedAt, never
  // after it; the history says when it was not believed, and when rdzd received the lead.
  std::optional<Timestamp> acceptedAt = {};
  bool trustAcceptedAt = false;
  bool spooled = false;  // replayed from the gateway's spool (said in the history)
  Duration spoolMaxAge = std::chrono::hours(168);
};

// The windows of SPEC §3.2.
constexpr Duration DOUBLE_SUBMISSION_WINDOW = std::chrono::minutes(10);

// SPEC §3.2: idempotency, validation, double submission, storage with indexes and history.
// Throws on a refusal (nothing written).
SubmitAnswer ingestLead(Txn& txn, IdGenerator& ids, const IngestRequest& request);

// SPEC §10: idempotency keys are honoured for IDEMPOTENCY_RETENTION (7 days and a margin), then
// forgotten: a key older than that is a new key, and its record is purged.
constexpr Duration IDEMPOTENCY_RETENTION = std::chrono::hours(24 * 8);

// Deletes up to `limit` idempotency records older than IDEMPOTENCY_RETENTION at `now`, oldest
// first, and returns how many it deleted: a short job for the writer, repeated while it returns
// `limit`.
size_t purgeIdempotencyKeys(Txn& txn, Timestamp now, size_t limit);

// SPEC §4. Each throws (KJ_REQUIRE) on a broken rule or a conflict; returns the new id.
std::string addClient(Txn& txn, Client client, Timestamp now);
void setClient(Txn& txn, Client client);
std::string addCommande(Txn& txn, Commande commande, Timestamp now);
void setCommande(Txn& txn, Commande commande);
void addProduit(Txn& txn, Produit produit);

// The largest time-ordered id value in use in either entity — leads, deliveries, batches — to
// seed the IdGenerator, so no id is handed out twice even when the clock steps back.
uint64_t lastUsedIdValue(Reader& reader);

}  // namespace rdz
