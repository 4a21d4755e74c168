#include "daemon/service/users.h"

#include <kj/debug.h>

#include "daemon/service/worker-thread.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

// One password check: filled on the event loop, hashed on a worker thread.
struct LoginCheck {
  std::optional<User> user;
  std::string password;
  bool matches = false;
};

// Counts a password check in flight for as long as it lives.
struct InFlight {
  explicit InFlight(uint32_t& count) : count_(count) { ++count_; }
  ~InFlight() { --count_; }
  KJ_DISALLOW_COPY(InFlight);

 private:
  uint32_t& count_;
};

void requireUserFields(const User& user) {
  KJ_REQUIRE(user.role == Role::ADMIN || user.role == Role::VIEWER,
             "a user's role is admin or viewer");
}

}  // namespace

kj::Promise<User> checkLogin(ServiceContext& ctx, std::string rawName, std::string password,
                             std::string address) {
  auto name = normalizeUserName(rawName);
  // A malformed name is throttled under its own text, bounded, without being a user.
  std::string key = name ? *name : "?" + rawName.substr(0, 64);
  Duration wait = ctx.loginThrottle.wait(key, address, ctx.clock.now());
  if (wait > Duration::zero()) {
    auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    return KJ_EXCEPTION(FAILED, kj::str("not authenticated: too many failed logins; try again in ",
                                        seconds, " s"));
  }
  if (ctx.loginsInFlight >= MAX_LOGINS_IN_FLIGHT) {
    return KJ_EXCEPTION(OVERLOADED, "too many logins at once; try again");
  }
  auto check = kj::heap<LoginCheck>();
  if (name) {
    KJ_IF_MAYBE(user, getUser(ctx.store, *name)) {
      check->user = kj::mv(*user);
    }
  }
  check->password = kj::mv(password);
  LoginCheck* c = check.get();
  auto inFlight = kj::heap<InFlight>(ctx.loginsInFlight);
  return onWorkerThread([c]() {
           if (c->user) {
             c->matches = verifyPassword(c->password, c->user->password);
           } else {
             burnPasswordTime(c->password);  // an unknown name takes as long as a known one
           }
         })
      .then([&ctx, c, key, address]() -> User {
        if (c->matches && c->user->actif) {
          ctx.loginThrottle.succeeded(key, address);
          return kj::mv(*c->user);
        }
        ctx.loginThrottle.failed(key, address, ctx.clock.now());
        kj::throwFatalException(
            KJ_EXCEPTION(FAILED, "not authenticated: wrong name or password"));
      })
      .attach(kj::mv(check), kj::mv(inFlight));
}

kj::Promise<std::string> addUser(ServiceContext& ctx, User user) {
  auto name = normalizeUserName(user.name);
  KJ_REQUIRE(name.has_value(), "a user name is 1 to 64 characters among a-z 0-9 . _ @ -");
  user.name = *name;
  requireUserFields(user);
  KJ_REQUIRE(getUser(ctx.store, user.name) == nullptr, "this user already exists", user.name);
  auto held = kj::heap<User>(kj::mv(user));
  User* u = held.get();
  auto password = kj::heap<std::string>(generatePassword());
  std::string* p = password.get();
  return onWorkerThread([u, p]() { u->password = hashPassword(*p); })
      .then([&ctx, u]() {
        return ctx.writes.run<void>([user = *u, now = ctx.clock.now()](Txn& txn) mutable {
          KJ_REQUIRE(getUser(txn, user.name) == nullptr, "this user already exists", user.name);
          user.creeLe = now;
          putUser(txn, user);
        });
      })
      .then([p]() { return kj::mv(*p); })
      .attach(kj::mv(held), kj::mv(password));
}

kj::Promise<std::string> setUser(ServiceContext& ctx, User user, bool newPassword) {
  auto name = normalizeUserName(user.name);
  KJ_REQUIRE(name.has_value() && getUser(ctx.store, *name) != nullptr, "no such user", user.name);
  user.name = *name;
  requireUserFields(user);
  auto held = kj::heap<User>(kj::mv(user));
  User* u = held.get();
  auto password = kj::heap<std::string>(newPassword ? generatePassword() : "");
  std::string* p = password.get();
  kj::Promise<void> hashed = kj::READY_NOW;
  if (newPassword) hashed = onWorkerThread([u, p]() { u->password = hashPassword(*p); });
  return hashed
      .then([&ctx, u, newPassword]() {
        return ctx.writes.run<void>([user = *u, newPassword](Txn& txn) mutable {
          KJ_IF_MAYBE(current, getUser(txn, user.name)) {
            user.creeLe = current->creeLe;
            if (!newPassword) user.password = current->password;
            putUser(txn, user);
            return;
          }
          KJ_FAIL_REQUIRE("no such user", user.name);
        });
      })
      .then([p]() { return kj::mv(*p); })
      .attach(kj::mv(held), kj::mv(password));
}

void requireLiveUser(Reader& store, const std::string& name, Role role,
                     std::optional<Entity> entity) {
  KJ_IF_MAYBE(user, getUser(store, name)) {
    if (user->actif && user->role == role && user->entity == entity) return;
  }
  kj::throwFatalException(KJ_EXCEPTION(
      FAILED, "not authenticated: session ended (the user was changed or deactivated)"));
}

}  // namespace rdz
