// `rdzctl lead consent ID [--json]`: a lead's consent certificate (SPEC §3.1), the proof a broker
// sends to a client who asks. The same members as the API delivery's "consentement" object
// (daemon/domain/consent.h).
#pragma once

#include <string>

#include "schema/rdz.capnp.h"

namespace rdz {

// The certificate in French, one "label : value" line per element of the proof, for a lead as
// Viewer.getLead returns it.
std::string consentCertificate(schema::Lead::Reader lead);

// The proof as one JSON object (consentProof's names, every value a string), with a newline.
std::string consentJson(schema::Lead::Reader lead);

}  // namespace rdz
