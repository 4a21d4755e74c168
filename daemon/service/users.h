// The console's users on the RPC side (SPEC §8.4): checking a login, and the admin's user
// methods. Password hashing (scrypt, ~0.1 s) runs on worker threads, never on the event loop or
// the writer; each change is one write job.
#pragma once

#include <kj/async.h>

#include <string>
#include <vector>

#include "daemon/domain/users.h"
#include "daemon/service/server.h"

namespace rdz {

// At most this many password checks at once; a login past it is refused (OVERLOADED).
constexpr uint32_t MAX_LOGINS_IN_FLIGHT = 4;

// Checks `name` and `password`. Resolves with the user when the user exists, is actif and the
// password matches; rejects with "not authenticated: …" otherwise, the same message whatever the
// cause, or when `name` or `address` had too many failures lately (LoginThrottle; the wait is
// said). `address`: the RPC peer followed by what the caller vouches for (the browser's address).
// Neither the password nor the name is logged.
kj::Promise<User> checkLogin(ServiceContext& ctx, std::string name, std::string password,
                             std::string address);

// Creates a user with a generated password, returned (only its hash is stored). Refused: a bad
// name, a role other than admin or viewer, an existing name.
kj::Promise<std::string> addUser(ServiceContext& ctx, User user);
// Updates role, entity and actif of an existing user; with `newPassword`, a generated password
// replaces the old one and is returned (else "").
kj::Promise<std::string> setUser(ServiceContext& ctx, User user, bool newPassword);

// Throws "not authenticated: session ended" unless user `name` still exists, is actif, and has
// `role` and `entity`: a session given at login ends when its user is changed or deactivated.
void requireLiveUser(Reader& store, const std::string& name, Role role,
                     std::optional<Entity> entity);

}  // namespace rdz
