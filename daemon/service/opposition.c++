#include "daemon/service/opposition.h"

#include <kj/debug.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "daemon/service/auth.h"
#include "daemon/service/files.h"

namespace rdz {

OppositionKey::OppositionKey(std::string secret) {
  KJ_REQUIRE(secret.size() >= 32, "the opposition secret is too short");
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  KJ_ASSERT(mac != nullptr, "HMAC is not available");
  keyed_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  KJ_ASSERT(keyed_ != nullptr, "HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  bool ok = EVP_MAC_init(keyed_, reinterpret_cast<const unsigned char*>(secret.data()),
                         secret.size(), params) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!ok) {
    EVP_MAC_CTX_free(keyed_);
    KJ_FAIL_ASSERT("HMAC-SHA-256 key setup failed");
  }
}

OppositionKey::~OppositionKey() { EVP_MAC_CTX_free(keyed_); }

std::string OppositionKey::hash(std::string_view e164) const {
  // A copy per call: the keyed context is only read, so threads may hash at once.
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed_);
  KJ_ASSERT(ctx != nullptr, "HMAC context copy");
  KJ_DEFER(EVP_MAC_CTX_free(ctx));
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t length = 0;
  KJ_ASSERT(
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(e164.data()), e164.size()) == 1 &&
          EVP_MAC_final(ctx, out, &length, sizeof(out)) == 1,
      "HMAC-SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string loadOrCreateOppositionSecret(const std::string& dataDir) {
  std::string path = dataDir + "/" + OPPOSITION_KEY_FILE;
  if (auto existing = readFileIfExists(path)) {
    std::string secret = *existing;
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    KJ_REQUIRE(secret.size() >= 32, "opposition key file is damaged (too short)", path);
    return secret;
  }
  std::string secret = newToken();  // 256 random bits, hex
  writeFileSecure(path, secret + "\n", 0600);
  return secret;
}

}  // namespace rdz
