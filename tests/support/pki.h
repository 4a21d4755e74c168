// Test certificates made with the openssl CLI (/usr/bin/openssl): a CA, and a server certificate
// it signs for 127.0.0.1 and localhost. EC P-256, valid two days. Failures throw
// std::runtime_error with openssl's output.
#pragma once

#include <string>

namespace rdz::test {

// DIR/NAME.pem (self-signed CA certificate) and DIR/NAME.key.
void makeCa(const std::string& dir, const std::string& name);
// DIR/server.pem and DIR/server.key, signed by DIR/CA.pem + DIR/CA.key, subjectAltName
// IP:127.0.0.1 and DNS:localhost, for serverAuth.
void makeServerCert(const std::string& dir, const std::string& ca);

}  // namespace rdz::test
