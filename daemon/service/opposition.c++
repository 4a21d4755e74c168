#include "daemon/service/opposition.h"

#include <kj/debug.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "daemon/service/auth.h"
#include "daemon/service/files.h"

namespace rdz {

OppositionKey::OppositionKey(std::string secret) : secret_(kj::mv(secret)) {
  KJ_REQUIRE(secret_.size() >= 32, "the opposition secret is too short");
}

std::string OppositionKey::hash(std::string_view e164) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  KJ_ASSERT(HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
                 reinterpret_cast<const unsigned char*>(e164.data()), e164.size(), out,
                 &length) != nullptr,
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
