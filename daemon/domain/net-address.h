// TCP addresses as rdzd's `listen` and rdzctl's `--connect` take them (SPEC §8.1): "host:port",
// "[ipv6]:port". Pure: no resolution, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rdz {

struct HostPort {
  std::string host;  // a name or an IP literal, without brackets
  uint16_t port = 0;

  // Back to "host:port" ("[host]:port" for an IPv6 literal), as kj::Network::parseAddress takes.
  std::string toString() const;
};

// nullopt when `text` is not host:port with a non-empty host and a port in 1..65535.
std::optional<HostPort> parseHostPort(std::string_view text);

// Whether `host` can only mean this machine: "localhost", an address of 127.0.0.0/8, or ::1.
// Any other name is not loopback, whatever it resolves to.
bool isLoopbackHost(std::string_view host);

}  // namespace rdz
