#include "client/json.h"

#include <kj/debug.h>

#include <cmath>
#include <vector>

#include "daemon/domain/time.h"

namespace rdz {

namespace {

class TimeHandler final : public capnp::JsonCodec::Handler<int64_t> {
 public:
  void encode(const capnp::JsonCodec&, int64_t input,
              capnp::JsonValue::Builder output) const override {
    if (input == 0) {
      output.setNull();
    } else {
      output.setString(formatIso(Timestamp(Duration(input))));
    }
  }
  int64_t decode(const capnp::JsonCodec&, capnp::JsonValue::Reader input) const override {
    if (input.isNull()) return 0;
    KJ_REQUIRE(input.isString(), "time must be an ISO 8601 string");
    auto t = parseIso(input.getString().cStr());
    KJ_REQUIRE(t.has_value(), "not an ISO 8601 time", input.getString());
    return t->time_since_epoch().count();
  }
};

// A count that may have no value ($nullable): negative is none, shown as null.
class NullableHandler final : public capnp::JsonCodec::Handler<int64_t> {
 public:
  void encode(const capnp::JsonCodec&, int64_t input, capnp::JsonValue::Builder output) const
      override {
    if (input < 0) {
      output.setNull();
    } else {
      output.setNumber(static_cast<double>(input));
    }
  }
  int64_t decode(const capnp::JsonCodec&, capnp::JsonValue::Reader input) const override {
    if (input.isNull()) return -1;
    KJ_REQUIRE(input.isNumber(), "a count must be a number or null");
    return static_cast<int64_t>(input.getNumber());
  }
};

// SPEC §7.3's `invalides`: one object, problem code -> count, not a list of pairs.
class ProblemCountsHandler final
    : public capnp::JsonCodec::Handler<capnp::List<schema::ProblemCount>> {
 public:
  void encode(const capnp::JsonCodec&, capnp::List<schema::ProblemCount>::Reader input,
              capnp::JsonValue::Builder output) const override {
    auto members = output.initObject(input.size());
    for (uint32_t i = 0; i < input.size(); ++i) {
      members[i].setName(input[i].getCode());
      members[i].initValue().setNumber(input[i].getCount());
    }
  }
  capnp::Orphan<capnp::List<schema::ProblemCount>> decode(
      const capnp::JsonCodec&, capnp::JsonValue::Reader input,
      capnp::Orphanage orphanage) const override {
    KJ_REQUIRE(input.isObject(), "invalides must be an object");
    auto members = input.getObject();
    auto out = orphanage.newOrphan<capnp::List<schema::ProblemCount>>(members.size());
    for (uint32_t i = 0; i < members.size(); ++i) {
      KJ_REQUIRE(members[i].getValue().isNumber(), "a count must be a number");
      out.get()[i].setCode(members[i].getName());
      out.get()[i].setCount(static_cast<uint32_t>(members[i].getValue().getNumber()));
    }
    return out;
  }
};

constexpr uint64_t TIME_ANNOTATION = 0xd3a1b6c0f3e2a901ull;      // $time in schema/rdz.capnp
constexpr uint64_t NULLABLE_ANNOTATION = 0xad5113fac98c0d2eull;  // $nullable

// Registers the time and nullable handlers on every field so annotated reachable from `schema`.
void addFieldHandlers(capnp::JsonCodec& codec, TimeHandler& time, NullableHandler& nullable,
                      capnp::StructSchema schema, std::vector<uint64_t>& seen) {
  for (auto id : seen) {
    if (id == schema.getProto().getId()) return;
  }
  seen.push_back(schema.getProto().getId());
  for (auto field : schema.getFields()) {
    for (auto annotation : field.getProto().getAnnotations()) {
      if (annotation.getId() == TIME_ANNOTATION) codec.addFieldHandler(field, time);
      if (annotation.getId() == NULLABLE_ANNOTATION) codec.addFieldHandler(field, nullable);
    }
    auto type = field.getType();
    if (type.isStruct()) {
      addFieldHandlers(codec, time, nullable, type.asStruct(), seen);
    } else if (type.isList() && type.asList().getElementType().isStruct()) {
      addFieldHandlers(codec, time, nullable, type.asList().getElementType().asStruct(), seen);
    }
  }
}

struct Codec {
  capnp::JsonCodec codec;
  TimeHandler time;
  NullableHandler nullable;
  ProblemCountsHandler problemCounts;
  Codec() {
    std::vector<uint64_t> seen;
    for (auto schema :
         {capnp::Schema::from<schema::Lead>(), capnp::Schema::from<schema::Client>(),
          capnp::Schema::from<schema::Commande>(), capnp::Schema::from<schema::Produit>(),
          capnp::Schema::from<schema::HistoryEvent>(), capnp::Schema::from<schema::SubmitResult>(),
          capnp::Schema::from<schema::ImportRow>(), capnp::Schema::from<schema::Delivery>(),
          capnp::Schema::from<schema::Batch>(), capnp::Schema::from<schema::RunSummary>(),
          capnp::Schema::from<schema::StatsReport>(), capnp::Schema::from<schema::AuditReport>(),
          capnp::Schema::from<schema::User>(), capnp::Schema::from<schema::Explanation>()}) {
      codec.handleByAnnotation(schema);
      addFieldHandlers(codec, time, nullable, schema, seen);
    }
    codec.addFieldHandler(
        capnp::Schema::from<schema::StatsDay>().getFieldByName("invalides"), problemCounts);
  }
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of the 4 hex digits at `text[at]`, or -1.
int32_t hexUnit(std::string_view text, size_t at) {
  if (text.size() - at < 4) return -1;
  int32_t unit = 0;
  for (size_t i = at; i < at + 4; ++i) {
    int v = hexValue(text[i]);
    if (v < 0) return -1;
    unit = unit * 16 + v;
  }
  return unit;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Cap'n Proto 0.9.2's JSON parser (Debian 12's) decodes `\uXXXX` wrongly: hex digits a-f count 10
// less ("\u00e9" becomes "I", "\u00c9" becomes ")"), and surrogate pairs are not combined
// (capnproto/capnproto#1552, fixed upstream after 0.9.2). PHP's json_encode and Python's
// json.dumps escape every non-ASCII letter so, by default. Until the library is fixed, the escapes
// are decoded here first: each `\uXXXX` in a string becomes its UTF-8 bytes (a surrogate pair one
// code point), except '"', '\\' and NUL, which stay escaped. Other bytes are copied unchanged.
std::string decodeUnicodeEscapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!inString || c != '\\' || i + 1 == text.size()) {
      if (c == '"') inString = !inString;
      out += c;
      continue;
    }
    if (text[i + 1] != 'u') {  // a short escape: capnp decodes those right
      out += c;
      out += text[++i];
      continue;
    }
    int32_t unit = hexUnit(text, i + 2);
    KJ_REQUIRE(unit >= 0, "a \\u escape needs 4 hex digits");
    i += 5;
    uint32_t cp = static_cast<uint32_t>(unit);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      int32_t low = text.substr(i + 1, 2) == "\\u" ? hexUnit(text, i + 3) : -1;
      KJ_REQUIRE(low >= 0xDC00 && low <= 0xDFFF, "unpaired surrogate in a \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + static_cast<uint32_t>(low - 0xDC00);
      i += 6;
    } else {
      KJ_REQUIRE(unit < 0xDC00 || unit > 0xDFFF, "unpaired surrogate in a \\u escape");
    }
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == 0) {
      out += "\\u0000";  // capnp decodes this one right; a raw NUL would end its input
    } else {
      appendUtf8(out, cp);
    }
  }
  return out;
}

}  // namespace

const capnp::JsonCodec& rdzJson() {
  static const Codec* codec = new Codec();  // built once, never destroyed (used at exit)
  return codec->codec;
}

Submission submissionFromJson(std::string_view text) {
  capnp::MallocMessageBuilder message;
  auto value = message.initRoot<capnp::JsonValue>();
  std::string decoded = decodeUnicodeEscapes(text);
  rdzJson().decodeRaw(kj::arrayPtr(decoded.data(), decoded.size()), value);
  KJ_REQUIRE(value.isObject(), "a lead must be a JSON object");
  Submission fields;
  for (auto member : value.getObject()) {
    auto v = member.getValue();
    auto rawName = member.getName();
    std::string name(rawName.begin(), rawName.size());  // a "\u0000" is kept, not an end
    switch (v.which()) {
      case capnp::JsonValue::NULL_:
        break;
      case capnp::JsonValue::BOOLEAN:
        fields.push_back({name, v.getBoolean() ? "true" : "false"});
        break;
      case capnp::JsonValue::NUMBER: {
        double d = v.getNumber();
        // Integers (postal codes sent as numbers, booleans as 0/1) keep their digits. The range
        // is tested first: converting a double outside int64 (2e22, inf) is undefined behaviour.
        bool integral = std::abs(d) < 9.2e18 && d == std::trunc(d);
        fields.push_back({name, integral ? std::to_string(static_cast<int64_t>(d))
                                         : std::string(kj::str(d).cStr())});
        break;
      }
      case capnp::JsonValue::STRING:
        fields.push_back({name, std::string(v.getString().begin(), v.getString().size())});
        break;
      default:
        KJ_FAIL_REQUIRE("a field must be a string, number, boolean or null", name);
    }
  }
  return fields;
}

std::string jsonString(std::string_view text) {
  capnp::MallocMessageBuilder message;
  auto value = message.initRoot<capnp::JsonValue>();
  std::string copy(text);  // Text::Reader needs a NUL-terminated buffer
  value.setString(capnp::Text::Reader(copy.data(), copy.size()));  // a NUL inside is kept
  auto out = rdzJson().encodeRaw(value.asReader());
  return std::string(out.cStr(), out.size());
}

capnp::JsonValue::Builder JsonObject::member(std::string_view name) {
  members_.emplace_back(std::string(name), message_.getOrphanage().newOrphan<capnp::JsonValue>());
  return members_.back().second.get();
}

JsonObject& JsonObject::addString(std::string_view name, std::string_view text) {
  std::string copy(text);  // Text::Reader needs a NUL-terminated buffer
  member(name).setString(capnp::Text::Reader(copy.data(), copy.size()));
  return *this;
}

JsonObject& JsonObject::addNumber(std::string_view name, double number) {
  member(name).setNumber(number);
  return *this;
}

JsonObject& JsonObject::addBool(std::string_view name, bool value) {
  member(name).setBoolean(value);
  return *this;
}

JsonObject& JsonObject::addValue(std::string_view name, capnp::JsonValue::Reader value) {
  members_.emplace_back(std::string(name), message_.getOrphanage().newOrphanCopy(value));
  return *this;
}

JsonObject& JsonObject::addMembersOf(capnp::JsonValue::Reader object) {
  KJ_REQUIRE(object.isObject(), "not a JSON object");
  for (auto field : object.getObject()) addValue(field.getName().cStr(), field.getValue());
  return *this;
}

std::string JsonObject::text() const {
  capnp::MallocMessageBuilder message;
  auto fields = message.initRoot<capnp::JsonValue>().initObject(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    auto& name = members_[i].first;
    fields[i].setName(capnp::Text::Reader(name.c_str(), name.size()));
    fields[i].setValue(members_[i].second.getReader());
  }
  auto out = rdzJson().encodeRaw(message.getRoot<capnp::JsonValue>().asReader());
  return std::string(out.cStr(), out.size());
}

}  // namespace rdz
