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

}  // namespace

const capnp::JsonCodec& rdzJson() {
  static const Codec* codec = new Codec();  // built once, never destroyed (used at exit)
  return codec->codec;
}

Submission submissionFromJson(std::string_view text) {
  capnp::MallocMessageBuilder message;
  auto value = message.initRoot<capnp::JsonValue>();
  rdzJson().decodeRaw(kj::arrayPtr(text.data(), text.size()), value);
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
