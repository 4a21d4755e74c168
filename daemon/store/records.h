// Record-level access: typed reads and writes of leads, history, clients, commandes, produits,
// counters and idempotency records, keeping every index in step with its record. Each write
// function adds to a Txn; nothing is durable until the Txn is committed.
#pragma once

#include <kj/common.h>

#include <string>
#include <vector>

#include "daemon/domain/commerce.h"
#include "daemon/domain/types.h"
#include "daemon/store/store.h"

namespace rdz {

kj::Maybe<Lead> getLead(Reader& r, Entity e, std::string_view id);
// Writes `lead` and moves its index entries from `previous` (null for a new lead).
void putLead(Txn& txn, const Lead& lead, const Lead* previous);
// Appends to the lead's history; `seq` orders events written at the same microsecond.
void addHistory(Txn& txn, Entity e, std::string_view leadId, const HistoryEvent& event,
                uint32_t seq);
std::vector<HistoryEvent> getHistory(Reader& r, Entity e, std::string_view leadId);
// Every lead with this E.164 phone, oldest first.
std::vector<Lead> leadsByPhone(Reader& r, Entity e, std::string_view e164);
// The id of the oldest lead with this phone + produit received in [since, until].
kj::Maybe<std::string> firstSubmissionSince(Reader& r, Entity e, std::string_view e164,
                                            std::string_view produit, Timestamp since,
                                            Timestamp until);
// Lead ids of one status pool, by recu_le (oldest first unless `newestFirst`).
std::vector<std::string> leadIdsByStatus(Reader& r, Entity e, Statut s, bool newestFirst = false);
// The largest lead id in use (ids are time-ordered), or "" when there is none.
std::string lastLeadId(Reader& r, Entity e);

kj::Maybe<Client> getClient(Reader& r, Entity e, std::string_view id);
void putClient(Txn& txn, const Client& client);
std::vector<Client> listClients(Reader& r, Entity e);

kj::Maybe<Commande> getCommande(Reader& r, Entity e, std::string_view id);
void putCommande(Txn& txn, const Commande& commande);
std::vector<Commande> listCommandes(Reader& r, Entity e);

kj::Maybe<Produit> getProduit(Reader& r, Entity e, std::string_view code);
void putProduit(Txn& txn, const Produit& produit);
// The entity's catalogue: the default one (SPEC §3.1) plus the produits an admin added.
std::vector<Produit> listProduits(Reader& r, Entity e);

// Increments and returns a named counter (1 the first time).
uint64_t nextCounter(Txn& txn, std::string_view name);

}  // namespace rdz
