// Ordered key encodings (SPEC §10). Every multi-part key is a concatenation of fixed-width or
// NUL-terminated parts, so related keys are contiguous and pools/indexes are prefix scans.
//
// Per-entity families ("zr7.<kind>", "mdl.<kind>"):
//   leads       id                                      -> Lead
//   index       'S' statut(1) recuLe(8) id              -> ""          pools by status + time
//                                                         (new, lb: the pool fields, below)
//               'P' e164 0 produit 0 recuLe(8) id       -> ""          phone + produit
//               'A' derniereLivraison(8) id              -> pool fields  delivered leads by last
//                                                                       delivery (LB re-entry)
//               pool fields: recu_le, derniere_livraison, produit, departement, telephone
//               (codec.h, encodePoolEntry): a run reads its pools from these entries alone
//   history     id at(8) seq(4)                         -> HistoryEvent
//   clients     id                                      -> Client
//   commandes   id                                      -> Commande
//   produits    code                                    -> Produit
//   deliveries  'D' id                                  -> Delivery
//               'L' lead-id delivery-id                 -> ""          a lead's deliveries
//   dedup       e164 0 produit 0 client                 -> last delivery time(8)
//   quotas      commande 0 'W' isoWeek("2026-W48")       -> delivered, lb, replacements served
//               commande 0 'D' date                     -> delivered that day
//               commande 0 'R'                          -> replacements owed (SPEC §7.1)
//   batches     'B' id                                  -> Batch
//               'O' next-attempt(8) id                  -> ""          the outbox queue
//   opposition  HMAC-SHA-256(secret, e164) (32 bytes)   -> added at(8)   (SPEC §7.2)
//   stats       'T' date                                -> StatsDay: the entity's day (§7.3)
//               'P' produit 0 date                      -> StatsDay: delivery side of a produit
//               'C' client 0 date produit               -> StatsDay: delivery side of a client
//               'r' run id                              -> RunStats: what the run counted
// System family "system":
//   'K' slug 0 len(4) caller key                         -> IdempotencyRecord
//   'I' slug 0 key                                      -> IdempotencyRecord of before keys were
//                                                          per caller: never read, purged (§10)
//   'E' at(8) K-key                                      -> ""  idempotency records by time, to
//                                                          purge them oldest first
//   'Q' name                                            -> counter(8) (commande ids, …)
//   'R' date                                            -> RunSummary
//   'T' run id                                          -> RunTrace: what `lead explain` needs
//                                                          of the run; purged 35 days after its
//                                                          date (run ids start with the date)
//   'U' name                                            -> StoredUser (console users, §8.4)
//   'Xstats'                                            -> "" the stats counters were built
//   'Xaging'                                            -> "" the 'A' index entries were built
//   'Xpool'                                             -> "" the pool entries hold their
//                                                          lead's pool fields
// Times are big-endian with the sign bit flipped, so byte order is time order.
#pragma once

#include <optional>
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

// deliveries: 'D' id -> Delivery; 'L' lead-id delivery-id -> "" (a lead's deliveries).
std::string deliveryKey(std::string_view id);
std::string deliveryByLeadKey(std::string_view leadId, std::string_view deliveryId);
// batches: 'B' id -> Batch; 'O' due(8) id -> "" (the outbox queue, by next attempt).
std::string batchKey(std::string_view id);
std::string outboxKey(Timestamp due, std::string_view id);
// quotas: commande 0 'W' iso-week / commande 0 'D' date / commande 0 'R'.
std::string weekKey(std::string_view commande, std::string_view week);
std::string dayKey(std::string_view commande, std::string_view date);
std::string owedKey(std::string_view commande);
struct QuotaKey {
  std::string commande;
  char kind = 0;       // 'W', 'D' or 'R'
  std::string period;  // the ISO week, the date, or "" for 'R'
};
// nullopt when `key` is not one of the three forms.
std::optional<QuotaKey> parseQuotaKey(std::string_view key);

// Delivered leads by last delivery time: a run reads only those that re-enter LB (SPEC §5.1).
constexpr char AGING_PREFIX[] = "A";
constexpr char AGING_BUILT_KEY[] = "Xaging";
constexpr char POOL_FILLED_KEY[] = "Xpool";
std::string agingKey(Timestamp derniereLivraison, std::string_view id);
struct AgingIndexKey {
  Timestamp derniereLivraison{};
  std::string id;
};
std::optional<AgingIndexKey> parseAgingKey(std::string_view key);

// The parts of a status index key ('S' statut(1) recu_le(8) id) or of a phone index key
// ('P' e164 0 produit 0 recu_le(8) id); nullopt when malformed.
struct StatusIndexKey {
  uint8_t statut = 0;
  Timestamp recuLe{};
  std::string id;
};
std::optional<StatusIndexKey> parseStatusKey(std::string_view key);
struct PhoneIndexKey {
  std::string e164;
  std::string produit;
  Timestamp recuLe{};
  std::string id;
};
std::optional<PhoneIndexKey> parsePhoneKey(std::string_view key, size_t idLength = 13);

// An idempotency key belongs to (entity, caller, key): `caller` identifies the token that sent
// it (Grant::caller), so one caller can neither claim nor read another's keys.
std::string idempotencyKey(Entity e, std::string_view caller, std::string_view key);
// The idempotency record `recordKey` written at `at`, in time order.
std::string idempotencyExpiryKey(Timestamp at, std::string_view recordKey);
constexpr char IDEMPOTENCY_PREFIX[] = "K";  // the records, all entities and callers
constexpr char IDEMPOTENCY_EXPIRY_PREFIX[] = "E";
constexpr char LEGACY_IDEMPOTENCY_PREFIX[] = "I";  // before keys were per caller
std::string counterKey(std::string_view name);

// The stats family (daemon/store/stats.h). Dates are "AAAA-MM-JJ" (10 bytes).
constexpr char STATS_DAY_PREFIX[] = "T";
constexpr char STATS_BUILT_KEY[] = "Xstats";
std::string statsDayKey(std::string_view date);
std::string statsProduitPrefix(std::string_view produit);
std::string statsProduitKey(std::string_view produit, std::string_view date);
std::string statsClientPrefix(std::string_view client);
std::string statsClientKey(std::string_view client, std::string_view date,
                           std::string_view produit);
std::string runStatsKey(std::string_view runId);
std::string runKey(std::string_view date);
std::string userKey(std::string_view name);
std::string runTraceKey(std::string_view runId);
constexpr char RUN_TRACE_PREFIX[] = "T";

}  // namespace rdz::keys
