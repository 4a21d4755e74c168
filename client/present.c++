#include "client/present.h"

#include <capnp/compat/json.h>
#include <capnp/message.h>

#include <map>

#include "client/json.h"

namespace rdz {

namespace {

constexpr uint64_t TIME_ANNOTATION = 0xd3a1b6c0f3e2a901ull;  // $time in schema/rdz.capnp
constexpr uint64_t JSON_NAME_ANNOTATION = 0xfa5b1fd61c2e7c3dull;  // $Json.name

}  // namespace

std::string plainText(capnp::JsonValue::Reader v) {
  switch (v.which()) {
    case capnp::JsonValue::NULL_: return "";
    case capnp::JsonValue::BOOLEAN: return v.getBoolean() ? "oui" : "non";
    case capnp::JsonValue::STRING: return v.getString().cStr();
    case capnp::JsonValue::ARRAY: {
      std::string out;
      for (auto item : v.getArray()) out += (out.empty() ? "" : ",") + plainText(item);
      return out;
    }
    case capnp::JsonValue::OBJECT: {
      auto members = v.getObject();
      // A union (EntityFilter): its one member's value, or its name when that is null.
      if (members.size() == 1) {
        auto only = members[0];
        std::string value = plainText(only.getValue());
        return value.empty() ? std::string(only.getName().cStr()) : value;
      }
      break;
    }
    default:
      break;
  }
  auto text = rdzJson().encodeRaw(v);
  return text.cStr();
}

namespace {

std::string jsonName(capnp::StructSchema::Field field) {
  for (auto a : field.getProto().getAnnotations()) {
    if (a.getId() == JSON_NAME_ANNOTATION) return a.getValue().getText().cStr();
  }
  return field.getProto().getName().cStr();
}

bool isTime(capnp::StructSchema::Field field) {
  for (auto a : field.getProto().getAnnotations()) {
    if (a.getId() == TIME_ANNOTATION) return true;
  }
  return false;
}

}  // namespace

Cells cellsOf(capnp::DynamicStruct::Reader record) {
  capnp::MallocMessageBuilder message;
  auto value = message.initRoot<capnp::JsonValue>();
  rdzJson().encode(capnp::DynamicValue::Reader(record), record.getSchema(), value);
  std::map<std::string, capnp::StructSchema::Field> fields;
  for (auto f : record.getSchema().getFields()) fields.emplace(jsonName(f), f);
  Cells cells;
  for (auto member : value.getObject()) {
    Cell cell;
    cell.name = member.getName().cStr();
    auto v = member.getValue();
    cell.text = plainText(v);
    auto field = fields.find(cell.name);
    if (field != fields.end() && isTime(field->second)) {
      cell.kind = Cell::Kind::TIME;
      cell.time = record.get(field->second).as<int64_t>();
    } else {
      switch (v.which()) {
        case capnp::JsonValue::NULL_: cell.kind = Cell::Kind::NONE; break;
        case capnp::JsonValue::BOOLEAN:
          cell.kind = Cell::Kind::BOOL;
          cell.flag = v.getBoolean();
          break;
        case capnp::JsonValue::NUMBER:
          cell.kind = Cell::Kind::NUMBER;
          cell.number = v.getNumber();
          break;
        case capnp::JsonValue::STRING: cell.kind = Cell::Kind::TEXT; break;
        case capnp::JsonValue::ARRAY:
          cell.kind = Cell::Kind::LIST;
          for (auto item : v.getArray()) cell.items.push_back(plainText(item));
          break;
        default: cell.kind = Cell::Kind::OBJECT; break;
      }
    }
    cells.push_back(kj::mv(cell));
  }
  return cells;
}

const Cell& cellAt(const Cells& cells, std::string_view name) {
  for (auto& c : cells) {
    if (c.name == name) return c;
  }
  static const Cell EMPTY;
  return EMPTY;
}

}  // namespace rdz
