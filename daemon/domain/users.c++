#include "daemon/domain/users.h"

#include <kj/debug.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

#include "daemon/domain/validation.h"

namespace rdz {

namespace {

constexpr size_t SALT_BYTES = 16;
constexpr size_t HASH_BYTES = 32;
// Memory scrypt may use: 128 × N × r × p bytes plus headroom; refuses stored parameters beyond.
constexpr uint64_t SCRYPT_MAX_MEM = uint64_t(256) << 20;

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  KJ_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) == 1,
            "no randomness");
  return out;
}

std::optional<std::string> scrypt(std::string_view password, const std::string& salt, uint64_t n,
                                  uint32_t r, uint32_t p) {
  std::string out(HASH_BYTES, '\0');
  int ok = EVP_PBE_scrypt(password.data(), password.size(),
                          reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r,
                          p, SCRYPT_MAX_MEM, reinterpret_cast<unsigned char*>(out.data()),
                          out.size());
  if (ok != 1) return std::nullopt;
  return out;
}

}  // namespace

PasswordHash hashPassword(std::string_view password) {
  PasswordHash h;
  h.salt = randomBytes(SALT_BYTES);
  h.n = SCRYPT_N;
  h.r = SCRYPT_R;
  h.p = SCRYPT_P;
  auto hash = scrypt(password, h.salt, h.n, h.r, h.p);
  KJ_ASSERT(hash.has_value(), "scrypt failed");
  h.hash = kj::mv(*hash);
  return h;
}

bool verifyPassword(std::string_view password, const PasswordHash& stored) {
  if (stored.hash.size() != HASH_BYTES || stored.salt.empty()) return false;
  auto hash = scrypt(password, stored.salt, stored.n, stored.r, stored.p);
  if (!hash) return false;
  return CRYPTO_memcmp(hash->data(), stored.hash.data(), HASH_BYTES) == 0;
}

void burnPasswordTime(std::string_view password) {
  (void)scrypt(password, std::string(SALT_BYTES, '\0'), SCRYPT_N, SCRYPT_R, SCRYPT_P);
}

std::string generatePassword() {
  static constexpr char ALPHABET[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lower
  std::string bytes = randomBytes(20);
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && i % 5 == 0) out += '-';
    out += ALPHABET[static_cast<unsigned char>(bytes[i]) % 32];  // 256 = 8 × 32: unbiased
  }
  return out;
}

std::optional<std::string> normalizeUserName(std::string_view text) {
  std::string name = trim(text);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  if (name.empty() || name.size() > 64) return std::nullopt;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '@' || c == '-';
    if (!ok) return std::nullopt;
  }
  return name;
}

Duration LoginThrottle::waitOf(const std::string& key, Timestamp now) const {
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.failures < FREE_FAILURES) return Duration::zero();
  uint32_t extra = std::min<uint32_t>(it->second.failures - FREE_FAILURES, 20);
  Duration delay = std::min<Duration>(BASE_DELAY * (int64_t(1) << extra), MAX_DELAY);
  Timestamp until = it->second.last + delay;
  return until > now ? until - now : Duration::zero();
}

Duration LoginThrottle::wait(const std::string& name, const std::string& address,
                             Timestamp now) const {
  return std::max(waitOf("n:" + name, now), waitOf("a:" + address, now));
}

void LoginThrottle::fail(const std::string& key, Timestamp now) {
  Entry& e = keys_[key];
  ++e.failures;
  e.last = now;
}

void LoginThrottle::failed(const std::string& name, const std::string& address, Timestamp now) {
  prune(now);
  fail("n:" + name, now);
  fail("a:" + address, now);
}

void LoginThrottle::succeeded(const std::string& name, const std::string& address) {
  keys_.erase("n:" + name);
  keys_.erase("a:" + address);
}

void LoginThrottle::prune(Timestamp now) {
  if (keys_.size() < MAX_KEYS / 2) return;
  std::erase_if(keys_, [&](const auto& kv) { return now - kv.second.last > MAX_DELAY; });
  while (keys_.size() >= MAX_KEYS) {
    auto oldest = std::min_element(keys_.begin(), keys_.end(), [](const auto& a, const auto& b) {
      return a.second.last < b.second.last;
    });
    keys_.erase(oldest);
  }
}

}  // namespace rdz
