// The keyed hash of the opposition list (SPEC §7.2): HMAC-SHA-256 of the E.164 number with a
// per-install secret, so the list never holds a number, and a copy of the list without the
// secret cannot be tested against guessed numbers.
#pragma once

#include <string>
#include <string_view>

struct evp_mac_ctx_st;

namespace rdz {

class OppositionKey {
 public:
  explicit OppositionKey(std::string secret);
  ~OppositionKey();
  OppositionKey(const OppositionKey&) = delete;
  OppositionKey& operator=(const OppositionKey&) = delete;
  // 32 raw bytes. Thread-safe.
  std::string hash(std::string_view e164) const;

 private:
  // An HMAC-SHA-256 context with the secret set, copied for each hash: OpenSSL's one-shot HMAC()
  // fetches the algorithm and sets the key every call (a fifth of a run's planning, which hashes
  // every pool lead's phone).
  evp_mac_ctx_st* keyed_ = nullptr;
};

// The secret in DATA_DIR/opposition.key (64 hex digits), created on first start (mode 0600,
// synced). Backups copy it (`rdzctl backup`); without it a restored list cannot be checked.
std::string loadOrCreateOppositionSecret(const std::string& dataDir);
constexpr char OPPOSITION_KEY_FILE[] = "opposition.key";

}  // namespace rdz
