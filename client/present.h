// How RDZ's records are shown as text, in one place: rdzctl's plain output (plainText) and the
// console's pages (cellsOf) both take the names and values of the JSON encoding (client/json.h:
// the codec's snake_case names, enum names, times), so a field is called and written the same way
// in `rdzctl --json`, `rdzctl` and the console.
#pragma once

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>

#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace rdz {

struct Cell {
  enum class Kind { NONE, TEXT, NUMBER, BOOL, TIME, LIST, OBJECT };
  std::string name;      // the JSON name: "quota_semaine"
  Kind kind = Kind::NONE;
  // As rdzctl prints it: "" for null, oui/non, the ISO 8601 time, items joined by ",", a union's
  // member ("ZR7", or "all"), other objects as JSON.
  std::string text;
  double number = 0;                // NUMBER
  bool flag = false;                // BOOL
  int64_t time = 0;                 // TIME ($time fields): µs since the epoch; 0 = unset
  std::vector<std::string> items;   // LIST: each item's text
};
using Cells = std::vector<Cell>;

// A struct's fields in schema order, named and valued as the JSON codec writes them.
Cells cellsOf(capnp::DynamicStruct::Reader record);
template <typename Reader>
Cells cellsOf(Reader record) {
  return cellsOf(capnp::DynamicStruct::Reader(capnp::toDynamic(record)));
}

// The cell named `name`, or an empty one.
const Cell& cellAt(const Cells& cells, std::string_view name);

// A JSON value as rdzctl writes it in text: strings bare, booleans oui/non, arrays comma-joined,
// null "", a union's member, other objects as JSON. Used by rdzctl's printRecord/printLine
// (client/command.h) and by cellsOf.
std::string plainText(capnp::JsonValue::Reader value);

}  // namespace rdz
