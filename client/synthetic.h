// Deterministic synthetic leads, for the benchmark and the tests: the same (seed, stream, n)
// always gives the same submission, so a client can re-send exactly what it sent before.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/domain/types.h"

namespace rdz {

// A valid lead (consent given, valid mobile phone unique per (seed, stream, n), a real
// departement, produit among PV/PAC/ITE) of about 500 bytes.
Submission syntheticLead(uint64_t seed, uint32_t stream, uint32_t n);
// The idempotency key used with it.
std::string syntheticKey(uint64_t seed, uint32_t stream, uint32_t n);

}  // namespace rdz
