// The people who log in to the console (SPEC §8.4): users, their password hashes, and the slowing
// of repeated failed logins. Pure apart from OpenSSL (scrypt, random bytes); time is passed in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz {

// scrypt (RFC 7914) through OpenSSL's EVP_PBE_scrypt, never a hash of our own. The parameters
// are stored with each hash, so raising them later leaves older hashes checkable.
struct PasswordHash {
  std::string salt;  // 16 random bytes
  uint64_t n = 0;
  uint32_t r = 0;
  uint32_t p = 0;
  std::string hash;  // 32 bytes
  bool operator==(const PasswordHash&) const = default;
};

// Today's parameters: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s on one core).
constexpr uint64_t SCRYPT_N = uint64_t(1) << 15;
constexpr uint32_t SCRYPT_R = 8;
constexpr uint32_t SCRYPT_P = 1;

// Hashes `password` with a fresh random salt and today's parameters. Slow by design: call it off
// the event loop.
PasswordHash hashPassword(std::string_view password);
// Hashes `password` with `stored`'s salt and parameters and compares in constant time
// (CRYPTO_memcmp). Slow by design. False for a malformed hash.
bool verifyPassword(std::string_view password, const PasswordHash& stored);
// Spends the time of a verification without a user (an unknown name must not answer faster).
void burnPasswordTime(std::string_view password);
// 20 random characters of Crockford's base32 in 4 groups ("k3vq-…"), 100 bits.
std::string generatePassword();

struct User {
  std::string name;  // normalizeUserName's form
  Role role = Role::VIEWER;  // ADMIN or VIEWER
  std::optional<Entity> entity;  // nullopt: all entities
  bool actif = true;
  std::optional<Timestamp> creeLe;
  PasswordHash password;
};

// Trimmed and lower-cased; nullopt unless it is 1..64 characters of [a-z0-9._@-].
std::optional<std::string> normalizeUserName(std::string_view text);

// Failed logins slowed per name and per address: after FREE_FAILURES failures in a row, each
// further attempt for that key is refused until BASE_DELAY × 2^(failures − FREE_FAILURES) after
// the last failure (capped at MAX_DELAY), whatever the password. A success clears the name's and
// the address's counts. Keys untouched for MAX_DELAY are forgotten; at most MAX_KEYS are kept
// (past it the oldest go). Memory only: a restart of rdzd forgets them. Not thread-safe.
class LoginThrottle {
 public:
  static constexpr uint32_t FREE_FAILURES = 3;
  static constexpr Duration BASE_DELAY = std::chrono::seconds(1);
  static constexpr Duration MAX_DELAY = std::chrono::minutes(15);
  static constexpr size_t MAX_KEYS = 100000;

  // How long `name` and `address` must still wait at `now` (0: may try now).
  Duration wait(const std::string& name, const std::string& address, Timestamp now) const;
  void failed(const std::string& name, const std::string& address, Timestamp now);
  void succeeded(const std::string& name, const std::string& address);
  size_t size() const { return keys_.size(); }

 private:
  struct Entry {
    uint32_t failures = 0;
    Timestamp last{};
  };
  Duration waitOf(const std::string& key, Timestamp now) const;
  void fail(const std::string& key, Timestamp now);
  void prune(Timestamp now);
  std::map<std::string, Entry> keys_;  // "n:" + name, "a:" + address
};

}  // namespace rdz
