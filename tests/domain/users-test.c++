// Users of the console: password hashes (OpenSSL scrypt), generated passwords, names, and the
// slowing of failed logins (time passed in).
#include <gtest/gtest.h>

#include <set>

#include "daemon/domain/users.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

TEST(Users, PasswordHashVerifiesOnlyItsPassword) {
  PasswordHash h = hashPassword("k3vq-7hxa-01mz");
  EXPECT_EQ(h.salt.size(), 16u);
  EXPECT_EQ(h.hash.size(), 32u);
  EXPECT_EQ(h.n, SCRYPT_N);
  EXPECT_TRUE(verifyPassword("k3vq-7hxa-01mz", h));
  EXPECT_FALSE(verifyPassword("k3vq-7hxa-01mZ", h));
  EXPECT_FALSE(verifyPassword("", h));
  // A fresh salt each time: the same password never gives the same hash.
  PasswordHash again = hashPassword("k3vq-7hxa-01mz");
  EXPECT_NE(again.salt, h.salt);
  EXPECT_NE(again.hash, h.hash);
  // The stored parameters are the ones used: other parameters still verify.
  PasswordHash truncated = h;
  truncated.hash.pop_back();
  EXPECT_FALSE(verifyPassword("k3vq-7hxa-01mz", truncated));
}

TEST(Users, GeneratedPasswordsAreLongAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string p = generatePassword();
    EXPECT_EQ(p.size(), 23u) << p;  // 4 groups of 5 and 3 dashes
    EXPECT_EQ(p[5], '-');
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Users, NamesAreNormalised) {
  EXPECT_EQ(normalizeUserName("  Marie.Dupont@zr7 "), "marie.dupont@zr7");
  EXPECT_EQ(normalizeUserName("a"), "a");
  EXPECT_FALSE(normalizeUserName(""));
  EXPECT_FALSE(normalizeUserName("marie dupont"));
  EXPECT_FALSE(normalizeUserName("<script>"));
  EXPECT_FALSE(normalizeUserName(std::string(65, 'a')));
}

TEST(Users, FailedLoginsAreSlowedPerNameAndAddress) {
  LoginThrottle t;
  Timestamp now(std::chrono::seconds(1795000000));
  // The first failures are free (typing mistakes).
  for (uint32_t i = 0; i < LoginThrottle::FREE_FAILURES; ++i) {
    EXPECT_EQ(t.wait("marie", "ip:1", now), Duration::zero());
    t.failed("marie", "ip:1", now);
  }
  // Then 1 s, 2 s, 4 s … after the last failure, for the name from any address …
  EXPECT_EQ(t.wait("marie", "ip:2", now), Duration(1s));
  // … and for the address with any name.
  EXPECT_EQ(t.wait("paul", "ip:1", now), Duration(1s));
  EXPECT_EQ(t.wait("paul", "ip:2", now), Duration::zero());
  now += 1s;
  EXPECT_EQ(t.wait("marie", "ip:1", now), Duration::zero());
  t.failed("marie", "ip:1", now);
  EXPECT_EQ(t.wait("marie", "ip:1", now), Duration(2s));
  for (int i = 0; i < 30; ++i) t.failed("marie", "ip:1", now);
  EXPECT_EQ(t.wait("marie", "ip:1", now), LoginThrottle::MAX_DELAY);  // capped
  // A success clears both.
  t.succeeded("marie", "ip:1");
  EXPECT_EQ(t.wait("marie", "ip:1", now), Duration::zero());
}

}  // namespace
}  // namespace rdz
