// JSON of RDZ's records (rdzctl --json, lead import, the gateway): Cap'n Proto's JsonCodec driven
// by the schema's annotations, so names are SPEC's snake_case (`code_postal`, `recu_le`), enums
// their names, and $time fields ISO 8601 with offset (null when unset).
#pragma once

#include <capnp/capability.h>
#include <capnp/compat/json.h>

#include <string>

#include "daemon/domain/types.h"
#include "schema/rdz.capnp.h"

namespace rdz {

// The codec, configured once for every struct of the schema. Thread-safe once built.
const capnp::JsonCodec& rdzJson();

// Encodes any schema struct or list reader.
template <typename Reader>
std::string toJson(Reader reader) {
  auto text = rdzJson().encode(reader);
  return std::string(text.cStr(), text.size());
}

// An RPC response: its results struct.
template <typename T>
std::string toJson(const capnp::Response<T>& response) {
  return toJson(typename T::Reader(response));
}

// One JSON object's members as submission fields: strings as they are, numbers and booleans as
// their JSON text, null members skipped. Throws (KJ_REQUIRE) when `text` is not a JSON object or
// a member is an array or object.
Submission submissionFromJson(std::string_view text);

// A JSON string literal (quotes and escapes included).
std::string jsonString(std::string_view text);

}  // namespace rdz
