// Ordered key encodings (SPEC §10). Every multi-part key is a concatenation of fixed-width or
// NUL-terminated parts, so related keys are contiguous and pools/indexes are prefix scans.
//
// Per-entity families ("zr7.<kind>", "mdl.<kind>"):
//   leads       id                                      -> Lead
//   index       'S' statut(1) recuLe(8) id              -> ""          pools by status + time
//               'P' e164 0 produit 0 recuLe(8) id       -> ""          phone + produit
//   history     id at(8) seq(4)                         -> HistoryEvent
//   clients     id                                      -> Client
//   commandes   id                                      -> Commande
//   produits    code                                    -> Produit
//   deliveries  id                                      -> Delivery
//   dedup       e164 0 produit 0 client                 -> last delivery time(8)
//   quotas      commande 0 'W' isoWeek("2026-W48")       -> delivered, lb, replacements served
//               commande 0 'D' date                     -> delivered that day
//               commande 0 'R'                          -> replacements owed (SPEC §7.1)
//   batches     id                                      -> Batch
//   opposition  HMAC-SHA-256(secret, e164) (32 bytes)   -> added at(8)   (SPEC §7.2)
// System family "system":
//   'K' slug 0 len(4) caller key                         -> IdempotencyRecord
//   'I' slug 0 key                                      -> IdempotencyRecord of before keys were
//                                                          per caller: never read, purged (§10)
//   'E' at(8) K-key                                      -> ""  idempotency records by time, to
//                                                          purge them oldest first
//   'Q' name                                            -> counter(8) (commande ids, …)
//   'R' date                                            -> RunSummary
//   'U' name                                            -> StoredUser (console users, §8.4)
// Times are big-endian with the sign bit flipped, so byte order is time order.
#pragma once

#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz::keys {

void appendTime(std::string& key, Timestamp t);
Timestamp readTime(std::string_view bytes);  // 8 bytes as written by appendTime
void appendU32(std::string& key, uint32_t v);

std::string statusPrefix(Statut s);
std::string statusKey(Statut s, Timestamp recuLe, std::string_view id);
std::string phonePrefix(std::string_view e164);                          // all produits
std::string phoneProduitPrefix(std::string_view e164, std::string_view produit);
std::string phoneKey(std::string_view e164, std::string_view produit, Timestamp recuLe,
                     std::string_view id);
// The lead id at the end of a status or phone index key.
std::string_view idOfIndexKey(std::string_view key, size_t idLength = 13);

std::string historyPrefix(std::string_view leadId);
std::string historyKey(std::string_view leadId, Timestamp at, uint32_t seq);

std::string dedupKey(std::string_view e164, std::string_view produit, std::string_view client);

// An idempotency key belongs to (entity, caller, key): `caller` identifies the token that sent
// it (Grant::caller), so one caller can neither claim nor read another's keys.
std::string idempotencyKey(Entity e, std::string_view caller, std::string_view key);
// The idempotency record `recordKey` written at `at`, in time order.
std::string idempotencyExpiryKey(Timestamp at, std::string_view recordKey);
constexpr char IDEMPOTENCY_PREFIX[] = "K";  // the records, all entities and callers
constexpr char IDEMPOTENCY_EXPIRY_PREFIX[] = "E";
constexpr char LEGACY_IDEMPOTENCY_PREFIX[] = "I";  // before keys were per caller
std::string counterKey(std::string_view name);
std::string runKey(std::string_view date);
std::string userKey(std::string_view name);

}  // namespace rdz::keys
