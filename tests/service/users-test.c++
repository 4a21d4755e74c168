// The console's users over real RPC in-process (a two-way pipe): Admin.addUser / listUsers /
// setUser, Bootstrap.login with its slowing of failures, and sessions that end when their user
// changes.
#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/service/auth.h"
#include "daemon/service/server.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

constexpr char ADMIN[] = "admin-token";
constexpr char ADMIN_MDL[] = "admin-mdl-token";

struct Env {
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  ManualClock clock{Timestamp(std::chrono::seconds(1795000000))};
  IdGenerator ids;
  Auth auth;
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);
  ServiceContext context{*store, *writes, ids, clock, auth, RunSettings{}};
  kj::TwoWayPipe pipe = kj::newTwoWayPipe();
  capnp::TwoPartyServer server{newBootstrap(context)};
  capnp::TwoPartyClient client{*pipe.ends[0]};
  Env() {
    auth.add({Role::ADMIN, std::nullopt, "admin"}, sha256Hex(ADMIN));
    auth.add({Role::ADMIN, Entity::MDL, "admin-mdl"}, sha256Hex(ADMIN_MDL));
    server.accept(kj::mv(pipe.ends[1]));
  }
};

class UsersTest : public testing::Test {
 protected:
  std::unique_ptr<Env> env = std::make_unique<Env>();
  kj::WaitScope& ws = env->io.waitScope;

  schema::Bootstrap::Client bootstrap() {
    return env->client.bootstrap().castAs<schema::Bootstrap>();
  }
  schema::Admin::Client admin(const char* token = ADMIN) {
    auto req = bootstrap().authenticateRequest();
    req.setToken(token);
    return req.send().wait(ws).getSession().getAdmin();
  }
  std::string addUser(const std::string& name, schema::Role role,
                      std::optional<schema::Entity> entity = std::nullopt) {
    auto req = admin().addUserRequest();
    req.getUser().setName(name);
    req.getUser().setRole(role);
    if (entity) {
      req.getUser().initEntity().setOne(*entity);
    } else {
      req.getUser().initEntity().setAll();
    }
    return req.send().wait(ws).getPassword().cStr();
  }
  capnp::Response<schema::Bootstrap::LoginResults> login(const std::string& name,
                                                         const std::string& password,
                                                         const std::string& address = "ip:1") {
    auto req = bootstrap().loginRequest();
    req.setName(name);
    req.setPassword(password);
    req.setAddress(address);
    return req.send().wait(ws);
  }
  std::string loginError(const std::string& name, const std::string& password,
                         const std::string& address = "ip:1") {
    auto req = bootstrap().loginRequest();
    req.setName(name);
    req.setPassword(password);
    req.setAddress(address);
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { req.send().wait(ws); })) {
      return e->getDescription().cStr();
    }
    return "";
  }
};

TEST_F(UsersTest, LoginGivesTheUsersRoleAndEntity) {
  std::string password = addUser("Marie", schema::Role::VIEWER, schema::Entity::ZR7);
  EXPECT_EQ(password.size(), 23u);
  auto response = login("marie", password);
  auto session = response.getSession();
  EXPECT_EQ(session.getRole(), schema::Role::VIEWER);
  ASSERT_TRUE(session.getEntity().isOne());
  EXPECT_EQ(session.getEntity().getOne(), schema::Entity::ZR7);
  // A viewer: reads, and no admin capability.
  auto list = session.getViewer().listClientsRequest();
  list.initEntity().setAll();
  EXPECT_EQ(list.send().wait(ws).getClients().size(), 0u);
  auto adminReq = session.getAdmin().addClientRequest();
  EXPECT_ANY_THROW(adminReq.send().wait(ws));
  // Only the hash is stored, and the listing shows no secret.
  KJ_IF_MAYBE(stored, getUser(*env->store, "marie")) {
    EXPECT_EQ(stored->password.hash.size(), 32u);
    EXPECT_TRUE(verifyPassword(password, stored->password));
  } else {
    ADD_FAILURE() << "user not stored";
  }
  auto listed = admin().listUsersRequest().send().wait(ws);
  auto users = listed.getUsers();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].getName(), "marie");
  EXPECT_NE(users[0].getCreeLe(), 0);
}

TEST_F(UsersTest, WrongPasswordUnknownNameAndInactiveUserAreRefusedAlike) {
  std::string password = addUser("paul", schema::Role::ADMIN);
  std::string wrong = loginError("paul", password + "x", "ip:1");
  EXPECT_NE(wrong.find("not authenticated: wrong name or password"), std::string::npos) << wrong;
  EXPECT_EQ(loginError("personne", password, "ip:2"), wrong);
  auto set = admin().setUserRequest();
  set.getUser().setName("paul");
  set.getUser().setRole(schema::Role::ADMIN);
  set.getUser().initEntity().setAll();
  set.getUser().setActif(false);
  set.send().wait(ws);
  EXPECT_EQ(loginError("paul", password, "ip:3"), wrong);
}

TEST_F(UsersTest, RepeatedFailuresAreSlowedThenAllowedAgain) {
  std::string password = addUser("lea", schema::Role::VIEWER);
  for (uint32_t i = 0; i < LoginThrottle::FREE_FAILURES; ++i) {
    EXPECT_NE(loginError("lea", "bad", "ip:9"), "");
  }
  // Even the right password waits now, from another address too (per name) …
  std::string slowed = loginError("lea", password, "ip:10");
  EXPECT_NE(slowed.find("too many failed logins; try again in 1 s"), std::string::npos) << slowed;
  // … and the address is slowed for another name.
  addUser("max", schema::Role::VIEWER);
  EXPECT_NE(loginError("max", "bad", "ip:9").find("too many failed logins"), std::string::npos);
  env->clock.advance(1s);
  EXPECT_EQ(login("lea", password, "ip:10").getSession().getRole(), schema::Role::VIEWER);
}

TEST_F(UsersTest, ASessionEndsWhenItsUserIsDeactivatedOrChanged) {
  std::string password = addUser("zoe", schema::Role::ADMIN);
  auto response = login("zoe", password);
  auto session = response.getSession();
  auto viewer = session.getViewer();
  auto listRuns = [&]() { return viewer.listRunsRequest().send().wait(ws).getRuns().size(); };
  EXPECT_EQ(listRuns(), 0u);
  auto set = admin().setUserRequest();
  set.getUser().setName("zoe");
  set.getUser().setRole(schema::Role::VIEWER);  // demoted: the admin session must end
  set.getUser().initEntity().setAll();
  set.send().wait(ws);
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { listRuns(); })) {
    EXPECT_NE(std::string(e->getDescription().cStr()).find("session ended"), std::string::npos);
  } else {
    ADD_FAILURE() << "the session of a changed user still works";
  }
}

TEST_F(UsersTest, NewPasswordReplacesTheOld) {
  std::string first = addUser("ines", schema::Role::VIEWER);
  auto set = admin().setUserRequest();
  set.getUser().setName("ines");
  set.getUser().setRole(schema::Role::VIEWER);
  set.getUser().initEntity().setAll();
  set.setNewPassword(true);
  std::string second = set.send().wait(ws).getPassword().cStr();
  EXPECT_NE(second, first);
  EXPECT_NE(loginError("ines", first), "");
  EXPECT_EQ(login("ines", second).getSession().getRole(), schema::Role::VIEWER);
}

TEST_F(UsersTest, OnlyAnAdminOfEveryEntityManagesUsers) {
  auto req = admin(ADMIN_MDL).addUserRequest();
  req.getUser().setName("x");
  req.getUser().setRole(schema::Role::VIEWER);
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { req.send().wait(ws); })) {
    EXPECT_NE(std::string(e->getDescription().cStr()).find("admin of every entity"),
              std::string::npos);
  } else {
    ADD_FAILURE() << "an entity-bound admin added a user";
  }
  auto bad = admin().addUserRequest();
  bad.getUser().setName("bad name");
  bad.getUser().setRole(schema::Role::VIEWER);
  EXPECT_ANY_THROW(bad.send().wait(ws));
  auto ingest = admin().addUserRequest();
  ingest.getUser().setName("robot");
  ingest.getUser().setRole(schema::Role::INGEST);
  EXPECT_ANY_THROW(ingest.send().wait(ws));
  addUser("dup", schema::Role::VIEWER);
  EXPECT_ANY_THROW(addUser("DUP", schema::Role::VIEWER));
}

}  // namespace
}  // namespace rdz
