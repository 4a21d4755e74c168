// JSON of RDZ's records (rdzctl --json, lead import, the gateway): Cap'n Proto's JsonCodec driven
// by the schema's annotations, so names are SPEC's snake_case (`code_postal`, `recu_le`), enums
// their names, and $time fields ISO 8601 with offset (null when unset).
#pragma once

#include <capnp/capability.h>
#include <capnp/compat/json.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// A JSON object built member by member, in order, for answers made of several parts (a count
// and a record, a lead and its history): encoded by the same codec as every record, so rdzctl
// --json and the web console print the same bytes. Not thread-safe.
class JsonObject {
 public:
  JsonObject() = default;
  JsonObject(const JsonObject&) = delete;

  JsonObject& addString(std::string_view name, std::string_view text);
  JsonObject& addNumber(std::string_view name, double number);
  JsonObject& addBool(std::string_view name, bool value);
  JsonObject& addValue(std::string_view name, capnp::JsonValue::Reader value);
  // A schema struct or list, as toJson() encodes it.
  template <typename Reader>
  JsonObject& addRecord(std::string_view name, Reader reader) {
    rdzJson().encode(reader, member(name));
    return *this;
  }
  // Every member of a schema struct, at this object's top level.
  template <typename Reader>
  JsonObject& addMembersOf(Reader reader) {
    auto orphan = message_.getOrphanage().newOrphan<capnp::JsonValue>();
    rdzJson().encode(reader, orphan.get());
    return addMembersOf(orphan.getReader());
  }
  JsonObject& addMembersOf(capnp::JsonValue::Reader object);
  // A new member whose value the caller fills in (valid while this object lives).
  capnp::JsonValue::Builder member(std::string_view name);

  // The object, compact, on one line.
  std::string text() const;

 private:
  capnp::MallocMessageBuilder message_;
  std::vector<std::pair<std::string, capnp::Orphan<capnp::JsonValue>>> members_;
};

// One JSON object's members as submission fields: strings as they are, numbers and booleans as
// their JSON text, null members skipped. Throws (KJ_REQUIRE) when `text` is not a JSON object or
// a member is an array or object.
Submission submissionFromJson(std::string_view text);

// A JSON string literal (quotes and escapes included).
std::string jsonString(std::string_view text);

}  // namespace rdz
