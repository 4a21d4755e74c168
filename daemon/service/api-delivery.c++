#include "daemon/service/api-delivery.h"

#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <fmt/format.h>
#include <kj/debug.h>

#include <algorithm>
#include <map>

#include "daemon/domain/consent.h"
#include "daemon/domain/delivery-format.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

// Text::Reader over a std::string: its data() is NUL-terminated, as capnp wants.
capnp::Text::Reader text(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

void setMember(capnp::JsonValue::Field::Builder field, const char* name, const std::string& value) {
  field.setName(name);
  field.initValue().setString(text(value));
}

}  // namespace

std::vector<BatchPart> batchParts(Reader& store, Entity entity, const Batch& batch) {
  std::vector<BatchPart> parts;
  std::map<std::pair<std::string, bool>, size_t> partOf;
  for (auto& deliveryId : batch.deliveries) {
    KJ_IF_MAYBE (d, getDelivery(store, entity, deliveryId)) {
      KJ_IF_MAYBE (lead, getLead(store, d->leadEntity, d->lead)) {
        bool lb = d->pass == PassKind::LB || d->pass == PassKind::LB_FALLBACK;
        auto key = std::make_pair(d->commande, lb);
        auto it = partOf.find(key);
        if (it == partOf.end()) {
          it = partOf.emplace(key, parts.size()).first;
          parts.push_back({d->commande, lead->produit, lb, {}});
        }
        parts[it->second].leads.push_back(kj::mv(*lead));
      } else {
        KJ_FAIL_ASSERT("a delivered lead is missing", d->lead);
      }
    } else {
      KJ_FAIL_ASSERT("a batch's delivery is missing", deliveryId);
    }
  }
  return parts;
}

std::string apiBody(Entity receiving, const std::string& client, const std::string& date,
                    const BatchPart& part, bool consent) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<capnp::JsonValue>();
  auto members = root.initObject(7);
  setMember(members[0], "entite", std::string(entityName(receiving)));
  setMember(members[1], "client", client);
  setMember(members[2], "commande", part.commande);
  setMember(members[3], "produit", part.produit);
  setMember(members[4], "date", date);
  setMember(members[5], "type", part.lb ? "lb" : "fresh");
  members[6].setName("leads");
  auto leads = members[6].initValue().initArray(part.leads.size());
  for (size_t i = 0; i < part.leads.size(); ++i) {
    auto columns = csvColumns(receiving, part.leads[i]);
    auto fields = leads[i].initObject(columns.size() + 1 + (consent ? 1 : 0));
    setMember(fields[0], "id", part.leads[i].id);
    for (size_t c = 0; c < columns.size(); ++c) {
      setMember(fields[c + 1], columns[c].first.c_str(), columns[c].second);
    }
    if (consent) {
      auto proof = consentProof(part.leads[i]);
      auto member = fields[columns.size() + 1];
      member.setName("consentement");
      auto values = member.initValue().initObject(proof.size());
      for (size_t p = 0; p < proof.size(); ++p) {
        setMember(values[p], proof[p].first.c_str(), proof[p].second);
      }
    }
  }
  capnp::JsonCodec codec;
  auto json = codec.encodeRaw(root.asReader());
  return std::string(json.cStr(), json.size());
}

ApiOutcome sendByApi(Reader& store, Entity entity, const Batch& batch, const Client& client,
                     const std::string& date, const PostFn& post) {
  KJ_REQUIRE(!client.apiUrl.empty(), "methode api: the client has no api_url", client.id);
  std::vector<BatchPart> parts = batchParts(store, entity, batch);
  // Every body is built before the first POST: a part that cannot be built fails the attempt
  // before anything reached the client.
  std::vector<std::string> bodies;
  for (auto& part : parts) {
    bodies.push_back(apiBody(entity, client.id, date, part, client.apiConsent));
  }

  ApiOutcome outcome;
  outcome.result.ok = true;
  std::string detail;
  size_t posted = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    uint32_t number = static_cast<uint32_t>(i + 1);
    if (std::find(batch.partsAccepted.begin(), batch.partsAccepted.end(), number) !=
        batch.partsAccepted.end()) {
      continue;  // acknowledged by an earlier attempt
    }
    std::vector<std::string> headers = {fmt::format("Idempotency-Key: {}/{}", batch.id, number)};
    if (!client.apiHeader.empty()) headers.push_back(client.apiHeader);
    PostResult answer = post(client.apiUrl, headers, bodies[i]);
    ++posted;
    detail += fmt::format("{}part {}/{}: {}", detail.empty() ? "" : "; ", number, parts.size(),
                          answer.detail);
    outcome.result.code = answer.code;
    if (!answer.ok) {
      outcome.result.ok = false;
      break;  // the rest waits for the retry; the server is likely to refuse them too
    }
    outcome.accepted.push_back(number);
  }
  outcome.result.detail = posted == 0
                              ? fmt::format("api: all {} part(s) already accepted", parts.size())
                              : "api " + detail;
  return outcome;
}

}  // namespace rdz
