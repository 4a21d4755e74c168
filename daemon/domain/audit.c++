#include "daemon/domain/audit.h"

#include <cstdio>
#include <cstring>
#include <utility>

#include "daemon/domain/after-delivery.h"

namespace rdz {

void AuditReport::add(std::string_view invariant, std::string key, std::string detail) {
  ++violationsTotal;
  if (violations.size() < MAX_AUDIT_VIOLATIONS) {
    violations.push_back({std::string(invariant), std::move(key), std::move(detail)});
  }
}

std::string printableKey(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    }
  }
  return out;
}

std::string auditKey(Entity e, std::string_view family, std::string_view key) {
  return std::string(entitySlug(e)) + "." + std::string(family) + "/" + printableKey(key);
}

bool creditedAsReplacement(const Delivery& d) {
  return !d.rejet.empty() && d.rejeteLe && creditFor(d, *d.rejeteLe) == Credit::REPLACEMENT;
}

bool countsInQuota(const Delivery& d) { return d.rejet.empty() || creditedAsReplacement(d); }

std::optional<std::string> statutAgainstDeliveries(Statut statut, uint32_t deliveries,
                                                   bool rejectedByClient) {
  switch (statut) {
    case Statut::NEW:
    case Statut::INVALID:
      if (deliveries > 0) {
        return "a " + std::string(statutName(statut)) + " lead has " + std::to_string(deliveries) +
               " deliveries";
      }
      return std::nullopt;
    case Statut::DELIVERED:
      if (deliveries == 0) return std::string("a delivered lead has no delivery");
      return std::nullopt;
    case Statut::REJECTED:
      if (deliveries == 0) return std::string("a rejected lead has no delivery");
      if (!rejectedByClient) return std::string("a rejected lead has no rejected delivery");
      return std::nullopt;
    case Statut::LB:
      return std::nullopt;  // aged from new (none) or from delivered (some)
  }
  return std::nullopt;
}

uint64_t hashBytes(std::string_view bytes, uint64_t seed) {
  // MurmurHash64A (Austin Appleby, public domain).
  constexpr uint64_t M = 0xc6a4a7935bd1e995ull;
  constexpr int R = 47;
  uint64_t h = seed ^ (bytes.size() * M);
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= M;
    k ^= k >> R;
    k *= M;
    h ^= k;
    h *= M;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t k = 0;
    std::memcpy(&k, p, n);
    h ^= k;
    h *= M;
  }
  h ^= h >> R;
  h *= M;
  h ^= h >> R;
  return h;
}

void KeySetFingerprint::add(std::string_view key, std::string_view value) {
  low_ += hashBytes(value, hashBytes(key, 0x9e3779b97f4a7c15ull));
  high_ += hashBytes(value, hashBytes(key, 0xd1b54a32d192ed03ull));
  ++count_;
}

}  // namespace rdz
