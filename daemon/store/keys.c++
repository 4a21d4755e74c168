#include "daemon/store/keys.h"

#include "daemon/domain/types.h"

namespace rdz::keys {

void appendTime(std::string& key, Timestamp t) {
  uint64_t v = static_cast<uint64_t>(t.time_since_epoch().count()) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) key += static_cast<char>((v >> shift) & 0xff);
}

Timestamp readTime(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return Timestamp(Duration(static_cast<int64_t>(v ^ (uint64_t{1} << 63))));
}

void appendU32(std::string& key, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) key += static_cast<char>((v >> shift) & 0xff);
}

std::string statusPrefix(Statut s) {
  std::string key = "S";
  key += static_cast<char>(s);
  return key;
}

std::string statusKey(Statut s, Timestamp recuLe, std::string_view id) {
  std::string key = statusPrefix(s);
  appendTime(key, recuLe);
  key += id;
  return key;
}

std::string phonePrefix(std::string_view e164) {
  std::string key = "P";
  key += e164;
  key += '\0';
  return key;
}

std::string phoneProduitPrefix(std::string_view e164, std::string_view produit) {
  std::string key = phonePrefix(e164);
  key += produit;
  key += '\0';
  return key;
}

std::string phoneKey(std::string_view e164, std::string_view produit, Timestamp recuLe,
                     std::string_view id) {
  std::string key = phoneProduitPrefix(e164, produit);
  appendTime(key, recuLe);
  key += id;
  return key;
}

std::string_view idOfIndexKey(std::string_view key, size_t idLength) {
  return key.size() >= idLength ? key.substr(key.size() - idLength) : std::string_view();
}

std::string historyPrefix(std::string_view leadId) { return std::string(leadId); }

std::string historyKey(std::string_view leadId, Timestamp at, uint32_t seq) {
  std::string key(leadId);
  appendTime(key, at);
  appendU32(key, seq);
  return key;
}

std::string dedupKey(std::string_view e164, std::string_view produit, std::string_view client) {
  std::string key(e164);
  key += '\0';
  key += produit;
  key += '\0';
  key += client;
  return key;
}

std::string deliveryKey(std::string_view id) { return "D" + std::string(id); }

std::string deliveryByLeadKey(std::string_view leadId, std::string_view deliveryId) {
  return "L" + std::string(leadId) + std::string(deliveryId);
}

std::string batchKey(std::string_view id) { return "B" + std::string(id); }

std::string outboxKey(Timestamp due, std::string_view id) {
  std::string key = "O";
  appendTime(key, due);
  key += id;
  return key;
}

std::string weekKey(std::string_view commande, std::string_view week) {
  return std::string(commande) + '\0' + "W" + std::string(week);
}

std::string dayKey(std::string_view commande, std::string_view date) {
  return std::string(commande) + '\0' + "D" + std::string(date);
}

std::string owedKey(std::string_view commande) { return std::string(commande) + '\0' + "R"; }

std::optional<QuotaKey> parseQuotaKey(std::string_view key) {
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos || nul == 0 || nul + 1 >= key.size()) return std::nullopt;
  QuotaKey out{std::string(key.substr(0, nul)), key[nul + 1], std::string(key.substr(nul + 2))};
  bool periodOk = out.kind == 'R' ? out.period.empty() : !out.period.empty();
  if ((out.kind != 'W' && out.kind != 'D' && out.kind != 'R') || !periodOk) return std::nullopt;
  return out;
}

std::optional<StatusIndexKey> parseStatusKey(std::string_view key) {
  if (key.size() < 1 + 1 + 8 + 1 || key[0] != 'S') return std::nullopt;
  return StatusIndexKey{static_cast<uint8_t>(key[1]), readTime(key.substr(2, 8)),
                        std::string(key.substr(10))};
}

std::string agingKey(Timestamp derniereLivraison, std::string_view id) {
  std::string key = AGING_PREFIX;
  appendTime(key, derniereLivraison);
  key += id;
  return key;
}

std::optional<AgingIndexKey> parseAgingKey(std::string_view key) {
  if (key.size() < 1 + 8 + 1 || key[0] != AGING_PREFIX[0]) return std::nullopt;
  return AgingIndexKey{readTime(key.substr(1, 8)), std::string(key.substr(9))};
}

std::optional<PhoneIndexKey> parsePhoneKey(std::string_view key, size_t idLength) {
  if (key.empty() || key[0] != 'P') return std::nullopt;
  size_t e164End = key.find('\0', 1);
  if (e164End == std::string_view::npos) return std::nullopt;
  size_t produitEnd = key.find('\0', e164End + 1);
  if (produitEnd == std::string_view::npos || key.size() != produitEnd + 1 + 8 + idLength) {
    return std::nullopt;
  }
  return PhoneIndexKey{std::string(key.substr(1, e164End - 1)),
                       std::string(key.substr(e164End + 1, produitEnd - e164End - 1)),
                       readTime(key.substr(produitEnd + 1, 8)),
                       std::string(key.substr(produitEnd + 9))};
}

std::string idempotencyKey(Entity e, std::string_view caller, std::string_view key) {
  std::string out = IDEMPOTENCY_PREFIX;
  out += entitySlug(e);
  out += '\0';
  // Length-prefixed: no caller text, whatever its bytes, can run into the key.
  appendU32(out, static_cast<uint32_t>(caller.size()));
  out += caller;
  out += key;
  return out;
}

std::string idempotencyExpiryKey(Timestamp at, std::string_view recordKey) {
  std::string out = IDEMPOTENCY_EXPIRY_PREFIX;
  appendTime(out, at);
  out += recordKey;
  return out;
}

std::string counterKey(std::string_view name) { return "Q" + std::string(name); }

std::string runKey(std::string_view date) { return "R" + std::string(date); }

std::string userKey(std::string_view name) { return "U" + std::string(name); }

std::string statsDayKey(std::string_view date) { return STATS_DAY_PREFIX + std::string(date); }

std::string statsProduitPrefix(std::string_view produit) {
  std::string key = "P";
  key += produit;
  key += '\0';
  return key;
}

std::string statsProduitKey(std::string_view produit, std::string_view date) {
  return statsProduitPrefix(produit) + std::string(date);
}

std::string statsClientPrefix(std::string_view client) {
  std::string key = "C";
  key += client;
  key += '\0';
  return key;
}

std::string statsClientKey(std::string_view client, std::string_view date,
                           std::string_view produit) {
  return statsClientPrefix(client) + std::string(date) + std::string(produit);
}

std::string runStatsKey(std::string_view runId) { return "r" + std::string(runId); }

std::string runTraceKey(std::string_view runId) { return RUN_TRACE_PREFIX + std::string(runId); }

}  // namespace rdz::keys
