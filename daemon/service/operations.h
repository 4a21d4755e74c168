// The state changes of rdzd. Each function runs inside one WriteQueue job (on the writer
// thread), reads through and writes into that job's Txn, and so is atomic: either all of its
// records, indexes and history events are committed together, or none.
#pragma once

#include <optional>
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

// What ingestion decides from the request alone, with no store (SPEC §3.1–3.2): refusals,
// validation, the body's hash, the phone's opposition hash. Pure and the costly part of an
// ingestion (libphonenumber, SHA-256, HMAC), so rdzd computes it on the event loop before the
// write job, and the single writer only applies the rules that read the store.
struct PreparedIngest {
  std::string keyRefusal;  // why the idempotency key itself is refused ("": it is not)
  std::string bodyHash;    // with a key: the hash its first answer is kept under
  std::string refusal;     // why the submission or its request is refused ("": stored)
  // The rest only when nothing is refused.
  Timestamp recuLe{};
  std::optional<HistoryEvent> forwarded;  // what the history says of the gateway's time
  std::optional<ProofValues> form;        // with a request: what the form said (its history)
  Lead lead;                              // validated, the request's proof applied; no id yet
  // The catalogue validated against lacked the lead's produit: the writer looks again with its
  // own (a produit added meanwhile). Produit codes are never removed, so a known one stays so.
  bool produitUnknown = false;
  std::string oppositionHash;  // the phone's keyed hash ("": no list checked, or no phone)
};

struct IngestRequest {
  Entity entity = Entity::ZR7;
  Submission fields;
  std::string idempotencyKey;  // "" for none
  Timestamp receivedAt{};
  bool allowRecuLe = false;  // admin import
  std::string via;           // "ingest", "admin", "import": kept in the lead's history
  std::string caller = {};   // Grant::caller of the token: the idempotency key's owner
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
  // What prepareIngest() decided before the job, on the caller's thread; nullopt: ingestLead
  // decides it itself.
  std::optional<PreparedIngest> prepared = {};
};

// `catalogue`: the entity's produit codes as the caller sees them (catalogueCodes() of the
// committed store, on the event loop).
PreparedIngest prepareIngest(const IngestRequest& request,
                             const std::vector<std::string>& catalogue);

// The produit codes of entity `e` (the default catalogue and the stored produits).
std::vector<std::string> catalogueCodes(Reader& r, Entity e);

// The windows of SPEC §3.2.
constexpr Duration DOUBLE_SUBMISSION_WINDOW = std::chrono::minutes(10);

// SPEC §3.2: idempotency, validation, double submission, storage with indexes and history.
// Throws on a refusal (nothing written). Writes no key a run reads or writes: it adds a new lead
// (the next run's), its index entries and history, the idempotency record, and the day's counters
// through Txn::Deferred; it changes no existing lead, commande, client, duplicate entry or opposed
// number. So rdzd submits it as Writes::OUTSIDE_RUNS, which lets a run prepared on a snapshot be
// committed as prepared while ingestion goes on (daemon/service/run.h).
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
