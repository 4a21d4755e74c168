// Token authentication (SPEC §8.1). Tokens are never stored or logged: the tokens file holds
// SHA-256 hashes, and a presented token is hashed and compared in constant time against every
// entry.
//
// Tokens file, one grant per line ('#' comments allowed):
//   <role> <entity> <sha256-hex> [label]
// role: admin | viewer | ingest | gateway; entity: zr7 | mdl | * (ingest and gateway require one
// entity). A gateway token is an ingest token whose caller is believed when it says when it
// accepted a lead (HttpRequest.acceptedAt, within bounds): rdz-gateway's, and only it.
#pragma once

#include <kj/common.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/digest.h"
#include "daemon/domain/types.h"

namespace rdz {

struct Grant {
  Role role = Role::VIEWER;
  std::optional<Entity> entity;  // nullopt: all entities
  std::string label;             // for logs; never the token
  // Who the caller is, for what belongs to one caller (idempotency keys): "label:" + label when
  // the grant has a label (a rotated token given the same label stays the same caller), else
  // "sha256:" + the token's hash. Set by Auth::add.
  std::string caller = {};
};

// 32 random bytes (OpenSSL RAND_bytes), hex: 64 characters.
std::string newToken();

class Auth {
 public:
  // Parses a tokens file's text. Throws (KJ_REQUIRE) naming the bad line.
  static Auth parse(std::string_view text);
  void add(Grant grant, std::string hashHex);
  // Constant time in the token's content: every entry is compared, without early exit.
  kj::Maybe<Grant> check(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Grant grant;
    std::array<unsigned char, 32> hash;
  };
  std::vector<Entry> entries_;
};

// Formats one tokens-file line.
std::string grantLine(const Grant& grant, std::string_view hashHex);

}  // namespace rdz
