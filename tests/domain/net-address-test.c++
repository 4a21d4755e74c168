// host:port parsing and the loopback rule that decides whether rdzd's TCP listener needs TLS.
#include "daemon/domain/net-address.h"

#include <gtest/gtest.h>

namespace rdz {
namespace {

TEST(NetAddressTest, ParsesHostPortAndBracketedIpv6) {
  auto a = parseHostPort("127.0.0.1:7000");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->toString(), "127.0.0.1:7000");
  auto b = parseHostPort("[::1]:65535");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 65535);
  EXPECT_EQ(b->toString(), "[::1]:65535");
  auto c = parseHostPort("rdz.example.fr:443");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->host, "rdz.example.fr");

  for (auto bad : {"", "7000", ":7000", "host:", "host:0", "host:65536", "host:70x", "::1:7000",
                   "[::1]7000", "[nothost]:7000", "host:123456"}) {
    EXPECT_FALSE(parseHostPort(bad).has_value()) << bad;
  }
}

TEST(NetAddressTest, LoopbackIsLocalhost127Slash8AndColonColonOneOnly) {
  for (auto yes : {"localhost", "127.0.0.1", "127.1.2.3", "127.255.255.254", "::1"}) {
    EXPECT_TRUE(isLoopbackHost(yes)) << yes;
  }
  for (auto no : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "192.168.1.10", "rdz.example.fr",
                  "localhost.example.fr", "::2", "::ffff:10.0.0.1", "127.1"}) {
    EXPECT_FALSE(isLoopbackHost(no)) << no;
  }
}

}  // namespace
}  // namespace rdz
