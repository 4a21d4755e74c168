// Record-level access: typed reads and writes of leads, history, clients, commandes, produits,
// counters and idempotency records, keeping every index in step with its record. Each write
// function adds to a Txn; nothing is durable until the Txn is committed.
#pragma once

#include <kj/common.h>

#include <string>
#include <vector>

#include "daemon/domain/commerce.h"
#include "daemon/domain/explain.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"
#include "daemon/domain/users.h"
#include "daemon/store/store.h"

namespace rdz {

kj::Maybe<Lead> getLead(Reader& r, Entity e, std::string_view id);
// What a run's allocation needs of a lead (daemon/domain/allocation.h), decoded alone.
kj::Maybe<PoolLead> getPoolLead(Reader& r, Entity e, std::string_view id);
// Writes `lead` and moves its index entries from `previous` (null for a new lead).
void putLead(Txn& txn, const Lead& lead, const Lead* previous);
// What a run reads of a lead.
PoolLead poolView(const Lead& lead);
// One entry of the index family.
struct IndexEntry {
  std::string key;
  std::string value;
  bool operator==(const IndexEntry&) const = default;
};
// The index entries a lead has (family INDEX of its entity): its status pool, its phone + produit
// when it has a phone, and its last delivery while it is `delivered`. The entries a run reads
// its pools from — the status entry of a `new` or `lb` lead, the last-delivery entry of a
// `delivered` one — hold the lead's pool fields (encodePoolEntry); the others hold nothing.
std::vector<IndexEntry> leadIndexEntries(const PoolLead& lead);
std::vector<IndexEntry> leadIndexEntries(const Lead& lead);
// A run's change of a lead, known as `before` (as its pool entry holds it): aged to `lb` when
// `aged`, then delivered at `delivered` when set. Writes a few bytes to the lead's record
// (lead-state.h) and moves the index entries its status decides (its status entry, its
// last-delivery entry; the phone entry stays); the record itself is not read.
void changeLeadState(Txn& txn, const PoolLead& before, bool aged,
                     std::optional<Timestamp> delivered);
// Appends to the lead's history. Events of the same microsecond keep their order of writing.
void addHistory(Txn& txn, Entity e, std::string_view leadId, const HistoryEvent& event);
std::vector<HistoryEvent> getHistory(Reader& r, Entity e, std::string_view leadId);
// Every lead with this E.164 phone, oldest first.
std::vector<Lead> leadsByPhone(Reader& r, Entity e, std::string_view e164);
// The id of the oldest lead with this phone + produit received in [since, until].
kj::Maybe<std::string> firstSubmissionSince(Reader& r, Entity e, std::string_view e164,
                                            std::string_view produit, Timestamp since,
                                            Timestamp until);
// Lead ids of one status pool, by recu_le (oldest first unless `newestFirst`).
std::vector<std::string> leadIdsByStatus(Reader& r, Entity e, Statut s, bool newestFirst = false);
// The leads of pool `s` (new or lb) received at or before `until`, oldest first, read from
// their index entries alone.
std::vector<PoolLead> poolLeadsUntil(Reader& r, Entity e, Statut s, Timestamp until);
// The `delivered` leads whose last delivery is at or before `until`, oldest first, the same way.
std::vector<PoolLead> deliveredLeadsUntil(Reader& r, Entity e, Timestamp until);
// Writes the last-delivery index entries of a database from before them, once (system key
// "Xaging"); false when they were there.
bool ensureAgingIndexBuilt(Store& store);
// Fills the pool entries of a database from before they held their lead's pool fields, once
// (system key "Xpool"); false when they were filled.
bool ensurePoolEntriesFilled(Store& store);
// The largest lead id in use (ids are time-ordered), or "" when there is none.
std::string lastLeadId(Reader& r, Entity e);
// The largest time-ordered id in use in entity `e`: leads, deliveries and batches.
std::string lastGeneratedId(Reader& r, Entity e);

kj::Maybe<Client> getClient(Reader& r, Entity e, std::string_view id);
void putClient(Txn& txn, const Client& client);
std::vector<Client> listClients(Reader& r, Entity e);
// Pages of a listing (SPEC §10): up to `limit` records whose id sorts after `after` ("" for the
// first page) and that `keep` accepts, in id order.
std::vector<Client> listClients(Reader& r, Entity e, std::string_view after, size_t limit);

kj::Maybe<Commande> getCommande(Reader& r, Entity e, std::string_view id);
void putCommande(Txn& txn, const Commande& commande);
std::vector<Commande> listCommandes(Reader& r, Entity e);
std::vector<Commande> listCommandes(Reader& r, Entity e, std::string_view after, size_t limit,
                                    kj::Function<bool(const Commande&)> keep);

kj::Maybe<Produit> getProduit(Reader& r, Entity e, std::string_view code);
void putProduit(Txn& txn, const Produit& produit);
// The entity's catalogue: the default one (SPEC §3.1) plus the produits an admin added.
std::vector<Produit> listProduits(Reader& r, Entity e);

// Deliveries live in the receiving entity's family, indexed by lead.
kj::Maybe<Delivery> getDelivery(Reader& r, Entity receiving, std::string_view id);
void putDelivery(Txn& txn, const Delivery& delivery);
// Every delivery of a lead, to clients of entity `receiving`, oldest first.
std::vector<Delivery> deliveriesOfLead(Reader& r, Entity receiving, std::string_view leadId);
// Every delivery of a lead, to clients of both entities (a fallback crosses).
std::vector<Delivery> allDeliveriesOf(Reader& r, std::string_view leadId);

// Batches live in the client's entity's family. While an attempt is planned (nextAttempt set),
// an outbox entry orders them by that time.
kj::Maybe<Batch> getBatch(Reader& r, Entity e, std::string_view id);
void putBatch(Txn& txn, const Batch& batch, const Batch* previous);
std::vector<Batch> listBatches(Reader& r, Entity e);
std::vector<Batch> listBatches(Reader& r, Entity e, std::string_view after, size_t limit,
                               kj::Function<bool(const Batch&)> keep);
struct DueBatch {
  Entity entity;
  std::string id;
  Timestamp due;
};
// Batches of entity `e` whose planned attempt is at or before `now`, earliest first.
std::vector<DueBatch> dueBatches(Reader& r, Entity e, Timestamp now);
// The earliest planned attempt of any batch of entity `e`, if any.
std::optional<Timestamp> nextDue(Reader& r, Entity e);

kj::Maybe<RunRecord> getRun(Reader& r, std::string_view id);
void putRun(Txn& txn, const RunRecord& run);
std::vector<RunRecord> listRuns(Reader& r);  // by id (date order)
// What a run keeps for `lead explain` (SPEC §7.4), written with the run.
void putRunTrace(Txn& txn, const RunTrace& trace);
kj::Maybe<RunTrace> getRunTrace(Reader& r, std::string_view runId);
// Deletes the traces of the runs dated before `date` ("AAAA-MM-JJ"); returns how many.
size_t purgeRunTraces(Txn& txn, std::string_view date);
std::vector<RunRecord> listRuns(Reader& r, std::string_view after, size_t limit,
                                kj::Function<bool(const RunRecord&)> keep);

// The duplicate index (SPEC §5.3), in the client's entity: last delivery time of a person
// (telephone_e164) for a produit to a client.
std::optional<Timestamp> lastDeliveryTo(Reader& r, Entity clientEntity, std::string_view e164,
                                        std::string_view produit, std::string_view client);
void putLastDelivery(Txn& txn, Entity clientEntity, std::string_view e164,
                     std::string_view produit, std::string_view client, Timestamp at);

// Quota accounting of a commande (SPEC §4): per ISO week ("2026-W48") and per date.
struct WeekCount {
  uint32_t delivered = 0;     // non-rejected deliveries
  uint32_t lb = 0;            // of which from LB
  uint32_t replacements = 0;  // replacements owed (§7.1) served in this week
};
WeekCount weekCount(Reader& r, Entity e, std::string_view commande, std::string_view week);
// The values of the quotas family (keys: keys::weekKey, dayKey, owedKey), for readers of the
// whole family (the audit).
WeekCount decodeWeekCount(std::string_view value);
uint32_t decodeQuotaCount(std::string_view value);  // a day count, or the replacements owed
void addWeekCount(Txn& txn, Entity e, std::string_view commande, std::string_view week,
                  int32_t delivered, int32_t lb);
void addWeekReplacements(Txn& txn, Entity e, std::string_view commande, std::string_view week,
                         int32_t served);
// Replacements owed to a commande (SPEC §7.1), until served.
uint32_t replacementsOwed(Reader& r, Entity e, std::string_view commande);
void addReplacementsOwed(Txn& txn, Entity e, std::string_view commande, int32_t delta);
uint32_t dayCount(Reader& r, Entity e, std::string_view commande, std::string_view date);
void addDayCount(Txn& txn, Entity e, std::string_view commande, std::string_view date,
                 int32_t delivered);

// Deletes the duplicate-index entries of a phone (every produit and client) in `clientEntity`:
// their keys hold the number (erasure, SPEC §7.2).
void deleteDuplicatesOfPhone(Txn& txn, Entity clientEntity, std::string_view e164);

// The opposition list of an entity (SPEC §7.2), by keyed hash (never the number).
bool isOpposed(Reader& r, Entity e, std::string_view hash);
// Whether the list holds any number at all (one key read).
bool hasOpposition(Reader& r, Entity e);
void putOpposition(Txn& txn, Entity e, std::string_view hash, Timestamp at);
void deleteOpposition(Txn& txn, Entity e, std::string_view hash);
uint32_t countOpposition(Reader& r, Entity e);

// The console's users (SPEC §8.4), in the system family, by name.
kj::Maybe<User> getUser(Reader& r, std::string_view name);
void putUser(Txn& txn, const User& user);
std::vector<User> listUsers(Reader& r, std::string_view after, size_t limit);

// Increments and returns a named counter (1 the first time).
uint64_t nextCounter(Txn& txn, std::string_view name);

}  // namespace rdz
