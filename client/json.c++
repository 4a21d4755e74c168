#include "client/json.h"

#include <kj/debug.h>

#include <vector>

#include "daemon/domain/time.h"

namespace rdz {

namespace {

class TimeHandler final : public capnp::JsonCodec::Handler<int64_t> {
 public:
  void encode(const capnp::JsonCodec&, int64_t input, capnp::JsonValue::Builder output) const
      override {
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

// Registers the time handler on every $time field reachable from `schema`.
void addTimeHandlers(capnp::JsonCodec& codec, TimeHandler& handler, capnp::StructSchema schema,
                     std::vector<uint64_t>& seen) {
  for (auto id : seen) {
    if (id == schema.getProto().getId()) return;
  }
  seen.push_back(schema.getProto().getId());
  for (auto field : schema.getFields()) {
    for (auto annotation : field.getProto().getAnnotations()) {
      if (annotation.getId() == 0xd3a1b6c0f3e2a901ull) {  // $time in schema/rdz.capnp
        codec.addFieldHandler(field, handler);
      }
    }
    auto type = field.getType();
    if (type.isStruct()) {
      addTimeHandlers(codec, handler, type.asStruct(), seen);
    } else if (type.isList() && type.asList().getElementType().isStruct()) {
      addTimeHandlers(codec, handler, type.asList().getElementType().asStruct(), seen);
    }
  }
}

struct Codec {
  capnp::JsonCodec codec;
  TimeHandler time;
  Codec() {
    std::vector<uint64_t> seen;
    for (auto schema : {capnp::Schema::from<schema::Lead>(), capnp::Schema::from<schema::Client>(),
                        capnp::Schema::from<schema::Commande>(),
                        capnp::Schema::from<schema::Produit>(),
                        capnp::Schema::from<schema::HistoryEvent>(),
                        capnp::Schema::from<schema::SubmitResult>(),
                        capnp::Schema::from<schema::ImportRow>(),
                        capnp::Schema::from<schema::Delivery>(),
                        capnp::Schema::from<schema::Batch>(),
                        capnp::Schema::from<schema::RunSummary>(),
                        capnp::Schema::from<schema::Rejection>(),
                        capnp::Schema::from<schema::OppositionCount>()}) {
      codec.handleByAnnotation(schema);
      addTimeHandlers(codec, time, schema, seen);
    }
  }
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at `at`, or -1.
int32_t readHex4(std::string_view text, size_t at) {
  if (at + 4 > text.size()) return -1;
  int32_t value = 0;
  for (size_t k = 0; k < 4; ++k) {
    int h = hexValue(text[at + k]);
    if (h < 0) return -1;
    value = value * 16 + h;
  }
  return value;
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

// Cap'n Proto 0.9.2's JSON parser decodes \uXXXX escapes wrongly: hex digits a-f count as 0-5
// and the code point is appended as one byte, not UTF-8 (fixed upstream after 0.9.2,
// capnproto/capnproto#1552), so "N\u00f6m" became "NVm" (docs/FAULTS.md). The escapes are
// turned into UTF-8 here first (surrogate pairs combined); the parser then sees raw UTF-8 and
// only the escapes it decodes right. `"` and `\` stay escaped, the other short escapes become
// theirs, the remaining control characters are passed raw (the parser takes them).
// TODO(cleanup): drop once the Cap'n Proto we build on has the fix.
std::string decodeUnicodeEscapes(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 >= in.size()) {
      out += c;
      continue;
    }
    if (in[i + 1] != 'u') {  // another escape (\\ included): kept as it is, both characters
      out += c;
      out += in[i + 1];
      ++i;
      continue;
    }
    int32_t cp = readHex4(in, i + 2);
    KJ_REQUIRE(cp >= 0, "invalid \\u escape in JSON");
    size_t length = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      int32_t low = i + 7 < in.size() && in[i + 6] == '\\' && in[i + 7] == 'u'
                        ? readHex4(in, i + 8)
                        : -1;
      KJ_REQUIRE(low >= 0xDC00 && low <= 0xDFFF, "unpaired surrogate in a JSON \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      length = 12;
    } else {
      KJ_REQUIRE(cp < 0xDC00 || cp > 0xDFFF, "unpaired surrogate in a JSON \\u escape");
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: appendUtf8(out, static_cast<uint32_t>(cp));
    }
    i += length - 1;
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
    std::string name = member.getName().cStr();
    switch (v.which()) {
      case capnp::JsonValue::NULL_:
        break;
      case capnp::JsonValue::BOOLEAN:
        fields.push_back({name, v.getBoolean() ? "true" : "false"});
        break;
      case capnp::JsonValue::NUMBER: {
        double d = v.getNumber();
        // Integers (postal codes sent as numbers, booleans as 0/1) keep their digits.
        fields.push_back({name, d == static_cast<double>(static_cast<int64_t>(d))
                                    ? std::to_string(static_cast<int64_t>(d))
                                    : std::string(kj::str(d).cStr())});
        break;
      }
      case capnp::JsonValue::STRING:
        fields.push_back({name, v.getString().cStr()});
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
  value.setString(copy.c_str());
  auto out = rdzJson().encodeRaw(value.asReader());
  return std::string(out.cStr(), out.size());
}

}  // namespace rdz
