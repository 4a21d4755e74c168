#include "daemon/service/auth.h"

#include <kj/debug.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sstream>

#include "daemon/domain/digest.h"
#include "daemon/domain/validation.h"

namespace rdz {

namespace {

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
    case Role::GATEWAY: return "gateway";
  }
  return "?";
}

}  // namespace

std::string newToken() {
  unsigned char bytes[32];
  KJ_ASSERT(RAND_bytes(bytes, sizeof(bytes)) == 1, "no randomness for a token");
  return toHex(bytes, sizeof(bytes));
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
    } else if (role == "gateway") {
      grant.role = Role::GATEWAY;
    } else {
      KJ_FAIL_REQUIRE("tokens file: unknown role (admin, viewer, ingest, gateway)", number);
    }
    if (entity != "*") {
      auto e = parseEntity(entity);
      KJ_REQUIRE(e.has_value(), "tokens file: entity must be zr7, mdl or *", number);
      grant.entity = *e;
    }
    KJ_REQUIRE((grant.role != Role::INGEST && grant.role != Role::GATEWAY) ||
                   grant.entity.has_value(),
               "tokens file: an ingest or gateway token must be bound to one entity", number);
    auth.add(kj::mv(grant), hash);
  }
  return auth;
}

void Auth::add(Grant grant, std::string hashHex) {
  auto hash = unhex(hashHex);
  KJ_REQUIRE(hash.has_value(), "token hash must be 64 hex digits (SHA-256)");
  grant.caller = grant.label.empty() ? "sha256:" + toHex(hash->data(), hash->size())
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
