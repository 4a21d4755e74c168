// Every enum value the schema can put in a record has a French label (daemon/domain/labels.h)
// under the JSON name of the field that holds it: what the console shows instead of the code, so
// a page never shows a bare code such as "unknown".
#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "daemon/domain/labels.h"
#include "schema/rdz.capnp.h"

namespace rdz {
namespace {

constexpr uint64_t JSON_NAME_ANNOTATION = 0xfa5b1fd61c2e7c3dull;  // $Json.name

template <typename Proto>
std::string jsonName(Proto proto) {
  for (auto a : proto.getAnnotations()) {
    if (a.getId() == JSON_NAME_ANNOTATION) return a.getValue().getText().cStr();
  }
  return proto.getName().cStr();
}

// Every (field, code) pair of the enum fields reachable from `schema`.
void collect(capnp::StructSchema schema, std::set<uint64_t>& seen,
             std::set<std::pair<std::string, std::string>>& out) {
  if (!seen.insert(schema.getProto().getId()).second) return;
  for (auto field : schema.getFields()) {
    auto type = field.getType();
    while (type.isList()) type = type.asList().getElementType();
    if (type.isStruct()) {
      // An EntityFilter is shown under its parent's name (a union: "ZR7", "MDL" or "all").
      if (type.asStruct() == capnp::Schema::from<schema::EntityFilter>()) {
        out.insert({jsonName(field.getProto()), "all"});
        for (auto e : capnp::Schema::from<schema::Entity>().getEnumerants()) {
          out.insert({jsonName(field.getProto()), jsonName(e.getProto())});
        }
        continue;
      }
      collect(type.asStruct(), seen, out);
    } else if (type.isEnum()) {
      for (auto e : type.asEnum().getEnumerants()) {
        out.insert({jsonName(field.getProto()), jsonName(e.getProto())});
      }
    }
  }
}

TEST(Labels, EveryEnumValueOfTheSchemasRecordsHasAFrenchLabel) {
  std::set<uint64_t> seen;
  std::set<std::pair<std::string, std::string>> codes;
  for (auto root :
       {capnp::Schema::from<schema::Lead>(), capnp::Schema::from<schema::HistoryEvent>(),
        capnp::Schema::from<schema::Client>(), capnp::Schema::from<schema::Commande>(),
        capnp::Schema::from<schema::Produit>(), capnp::Schema::from<schema::Delivery>(),
        capnp::Schema::from<schema::Batch>(), capnp::Schema::from<schema::RunSummary>(),
        capnp::Schema::from<schema::RunTrace>(), capnp::Schema::from<schema::Explanation>(),
        capnp::Schema::from<schema::Session>(), capnp::Schema::from<schema::User>(),
        capnp::Schema::from<schema::Rejection>(), capnp::Schema::from<schema::StatsReport>()}) {
    collect(root, seen, codes);
  }
  // The walk reached the enums the console shows.
  for (auto [field, code] : std::initializer_list<std::pair<std::string, std::string>>{
           {"statut", "delivered"}, {"proprietaire", "unknown"}, {"type_logement", "unknown"},
           {"pass", "fresh_fallback"}, {"status", "failed"}, {"methode", "api"},
           {"raison", "hors_run"}, {"resultat", "non_livre"}, {"role", "viewer"},
           {"entity", "all"}}) {
    EXPECT_TRUE(codes.count({field, code})) << field << " " << code;
  }
  for (auto& [field, code] : codes) {
    auto label = frenchLabel(field, code);
    EXPECT_TRUE(label.has_value()) << "no French label for " << field << " = " << code;
    if (label) {
      EXPECT_EQ(label->find("unknown"), std::string_view::npos) << field;
    }
  }
}

}  // namespace
}  // namespace rdz
