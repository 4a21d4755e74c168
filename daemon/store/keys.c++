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

}  // namespace rdz::keys
