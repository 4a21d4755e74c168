// The client side of rdzd's TCP transport with TLS (SPEC §8.1), on OpenSSL directly: kj-tls 0.9.2
// checks a server only against a DNS name, so a certificate for an IP address (rdzd reached as
// 127.0.0.1 or 10.0.0.5) could never be verified with it.
//
// The server's certificate must chain to the CA of `caFile` (only that CA is trusted), or to the
// system's trust store when `caFile` is empty, and must name `host`: its DNS names for a host
// name, its IP addresses for an IP literal. Nothing is sent before the handshake verified that.
#pragma once

#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <string>

namespace rdz {

// Wraps `tcp`, a connected TCP stream of this thread's event loop (`port`), in TLS. The
// promise breaks with a message naming the reason when the handshake or the verification fails.
// The stream owns its own duplicate of the socket; `tcp` may be dropped.
kj::Promise<kj::Own<kj::AsyncIoStream>> connectTls(kj::UnixEventPort& port,
                                                   kj::Own<kj::AsyncIoStream> tcp,
                                                   const std::string& host,
                                                   const std::string& caFile);

}  // namespace rdz
