#include "daemon/service/auth.h"

#include <kj/debug.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sstream>

#include "daemon/domain/validation.h"

namespace rdz {

namespace {

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  KJ_ASSERT(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

std::string hex(const unsigned char* data, size_t size) {
  static const char DIGITS[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += DIGITS[data[i] >> 4];
    out += DIGITS[data[i] & 15];
  }
  return out;
}

std::optional<std::array<unsigned char, 32>> unhex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::array<unsigned char, 32> out{};
  for (size_t i = 0; i < 64; ++i) {
    char c = text[i];
    int v = c >= '0' && c <= '9' ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) return std::nullopt;
    out[i / 2] = static_cast<unsigned char>((out[i / 2] << 4) | v);
  }
  return out;
}

std::string_view roleName(Role r) {
  switch (r) {
    case Role::INGEST: return "ingest";
    case Role::ADMIN: return "admin";
    case Role::VIEWER: return "viewer";
  }
  return "?";
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  auto h = sha256(data);
  return hex(h.data(), h.size());
}

std::string newToken() {
  unsigned char bytes[32];
  KJ_ASSERT(RAND_bytes(bytes, sizeof(bytes)) == 1, "no randomness for a token");
  return hex(bytes, sizeof(bytes));
}

std::string grantLine(const Grant& grant, std::string_view hashHex) {
  std::string line(roleName(grant.role));
  line += ' ';
  line += grant.entity ? std::string(entitySlug(*grant.entity)) : "*";
  line += ' ';
  line += hashHex;
  if (!grant.label.empty()) line += " " + grant.label;
  return line;
}

Auth Auth::parse(std::string_view text) {
  Auth auth;
  std::istringstream in{std::string(text)};
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string role, entity, hash, label;
    words >> role >> entity >> hash;
    std::getline(words, label);
    Grant grant;
    grant.label = trim(label);
    if (role == "admin") {
      grant.role = Role::ADMIN;
    } else if (role == "viewer") {
      grant.role = Role::VIEWER;
    } else if (role == "ingest") {
      grant.role = Role::INGEST;
    } else {
      KJ_FAIL_REQUIRE("tokens file: unknown role (admin, viewer, ingest)", number);
    }
    if (entity != "*") {
      auto e = parseEntity(entity);
      KJ_REQUIRE(e.has_value(), "tokens file: entity must be zr7, mdl or *", number);
      grant.entity = *e;
    }
    KJ_REQUIRE(grant.role != Role::INGEST || grant.entity.has_value(),
               "tokens file: an ingest token must be bound to one entity", number);
    auth.add(kj::mv(grant), hash);
  }
  return auth;
}

void Auth::add(Grant grant, std::string hashHex) {
  auto hash = unhex(hashHex);
  KJ_REQUIRE(hash.has_value(), "token hash must be 64 hex digits (SHA-256)");
  grant.caller = grant.label.empty() ? "sha256:" + hex(hash->data(), hash->size())
                                     : "label:" + grant.label;
  entries_.push_back({kj::mv(grant), *hash});
}

kj::Maybe<Grant> Auth::check(std::string_view token) const {
  auto presented = sha256(token);
  const Entry* match = nullptr;
  for (auto& entry : entries_) {
    // CRYPTO_memcmp takes the same time whatever the bytes; no early exit over entries either.
    bool equal = CRYPTO_memcmp(entry.hash.data(), presented.data(), presented.size()) == 0;
    if (equal && match == nullptr) match = &entry;
  }
  if (match == nullptr) return nullptr;
  return match->grant;
}

}  // namespace rdz
