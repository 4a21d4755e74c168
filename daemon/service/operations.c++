#include "daemon/service/operations.h"

#include <kj/debug.h>

#include <fmt/format.h>

#include <algorithm>

#include "daemon/domain/history.h"
#include "daemon/domain/validation.h"
#include "daemon/service/auth.h"
#include "daemon/service/metrics.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"

namespace rdz {

std::vector<std::string> catalogueCodes(Reader& r, Entity e) {
  std::vector<std::string> codes;
  for (auto& p : listProduits(r, e)) codes.push_back(p.code);
  return codes;
}

namespace {

// An idempotency answer as stored in the system family.
struct IdempotencyHit {
  std::string bodyHash;
  SubmitAnswer answer;
  Timestamp at{};
};

Timestamp idempotencyRecordTime(std::string_view bytes) {
  StoredMessage message(bytes);
  return Timestamp(Duration(message.get<schema::IdempotencyRecord>().getAt()));
}

// The record of the request's key, expired or not.
kj::Maybe<IdempotencyHit> findIdempotency(Reader& r, const IngestRequest& request) {
  KJ_IF_MAYBE(bytes, r.getSystem(keys::idempotencyKey(request.entity, request.caller,
                                                       request.idempotencyKey))) {
    StoredMessage message(*bytes);
    auto record = message.get<schema::IdempotencyRecord>();
    auto result = record.getResult();
    IdempotencyHit hit;
    hit.at = Timestamp(Duration(record.getAt()));
    auto hash = record.getBodyHash();
    hit.bodyHash.assign(reinterpret_cast<const char*>(hash.begin()), hash.size());
    hit.answer.id = result.getId().cStr();
    hit.answer.statut = fromCapnp(result.getStatut());
    for (auto p : result.getProblemes()) hit.answer.problemes.emplace_back(p.cStr());
    return kj::mv(hit);
  }
  return nullptr;
}

// Writes the record and its expiry entry; `expired` is the record it replaces, if any.
void putIdempotency(Txn& txn, const IngestRequest& request, std::string_view bodyHash,
                    const SubmitAnswer& answer, kj::Maybe<IdempotencyHit&> expired) {
  std::string key =
      keys::idempotencyKey(request.entity, request.caller, request.idempotencyKey);
  KJ_IF_MAYBE(old, expired) {
    txn.delSystem(keys::idempotencyExpiryKey(old->at, key));
  } else {
    countIdempotencyRecords(txn, 1);
  }
  txn.putSystem(keys::idempotencyExpiryKey(request.receivedAt, key), "");
  capnp::MallocMessageBuilder message(128);  // a record is about 40 words
  auto record = message.initRoot<schema::IdempotencyRecord>();
  record.setBodyHash(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bodyHash.data()),
                                  bodyHash.size()));
  auto result = record.initResult();
  result.setId(answer.id);
  result.setStatut(toCapnp(answer.statut));
  auto problemes = result.initProblemes(answer.problemes.size());
  for (size_t i = 0; i < answer.problemes.size(); ++i) problemes.set(i, answer.problemes[i]);
  record.setAt(request.receivedAt.time_since_epoch().count());
  txn.putSystem(key, encodeMessage(message));
}

}  // namespace

PreparedIngest prepareIngest(const IngestRequest& request,
                             const std::vector<std::string>& catalogue) {
  PreparedIngest prepared;
  if (!request.idempotencyKey.empty()) {
    if (request.idempotencyKey.size() > MAX_IDEMPOTENCY_KEY_BYTES) {
      prepared.keyRefusal = "idempotency key longer than 128 bytes";
      return prepared;
    }
    if (!isValidUtf8(request.idempotencyKey)) {
      prepared.keyRefusal = "idempotency key is not UTF-8";
      return prepared;
    }
    prepared.bodyHash = sha256Hex(canonicalSubmission(request.fields));
  }
  if (auto reason = refusalOf(request.fields)) {
    prepared.refusal = kj::mv(*reason);
    return prepared;
  }
  if (request.request) {
    if (auto reason = requestRefusal(*request.request)) {
      prepared.refusal = kj::mv(*reason);
      return prepared;
    }
  }
  const Timestamp at = request.receivedAt;
  // recu_le: when rdzd receives the lead, or when the gateway accepted it (a spooled lead keeps
  // the time its person submitted it), if rdzd believes that time.
  Timestamp recuLe = at;
  // What the history says of a gateway's time: that it was used (when the lead waited), or why
  // not.
  if (request.acceptedAt) {
    const Timestamp accepted = *request.acceptedAt;
    AcceptedTime verdict = checkAcceptedTime(accepted, at, request.spoolMaxAge);
    if (!request.trustAcceptedAt) {
      prepared.forwarded =
          history::forwarded(at, accepted, GatewayTime::NOT_A_GATEWAY, request.spooled);
    } else if (verdict == AcceptedTime::IN_FUTURE) {
      prepared.forwarded = history::forwarded(at, accepted, GatewayTime::IN_FUTURE, request.spooled);
    } else if (verdict == AcceptedTime::TOO_OLD) {
      prepared.forwarded = history::forwarded(at, accepted, GatewayTime::TOO_OLD, request.spooled);
    } else {
      recuLe = accepted;
      if (request.spooled || at - recuLe >= std::chrono::seconds(1)) {
        prepared.forwarded = history::forwarded(at, accepted, GatewayTime::USED, request.spooled);
      }
    }
  }
  prepared.recuLe = recuLe;

  ValidationContext context;
  context.entity = request.entity;
  context.catalogue = catalogue;
  context.receivedAt = recuLe;
  context.allowRecuLe = request.allowRecuLe;
  prepared.lead = validateSubmission(request.fields, context);
  prepared.produitUnknown =
      std::find(prepared.lead.problemes.begin(), prepared.lead.problemes.end(),
                "produit.unknown") != prepared.lead.problemes.end();
  if (request.request) prepared.form = applyRequestProof(prepared.lead, *request.request);
  if (request.opposition != nullptr && !prepared.lead.telephoneE164.empty()) {
    prepared.oppositionHash = request.opposition->hash(prepared.lead.telephoneE164);
  }
  return prepared;
}

namespace {

// Whether `catalogue` has `produit` (codes match case-insensitively, as validation matches them).
bool knowsProduit(const std::vector<std::string>& catalogue, std::string_view produit) {
  std::string wanted = asciiLower(produit);
  return std::any_of(catalogue.begin(), catalogue.end(),
                     [&](const std::string& code) { return asciiLower(code) == wanted; });
}

}  // namespace

SubmitAnswer ingestLead(Txn& txn, IdGenerator& ids, const IngestRequest& request) {
  const Entity e = request.entity;
  // Without a prepared request (imports in tests, tools), or when the produit was unknown to the
  // caller's catalogue and the writer's knows it: decided here, against the writer's catalogue.
  std::optional<PreparedIngest> own;
  if (!request.prepared) {
    own = prepareIngest(request, catalogueCodes(txn, e));
  } else if (request.prepared->produitUnknown) {
    auto catalogue = catalogueCodes(txn, e);
    if (knowsProduit(catalogue, request.prepared->lead.produit)) {
      own = prepareIngest(request, catalogue);
    }
  }
  const PreparedIngest& prepared = own ? *own : *request.prepared;

  // Refusals are decided before anything is written.
  auto refused = [&txn, &request](std::string reason) {
    countSubmission(txn, request.entity, Metrics::Submission::REFUSED);
    SubmitAnswer answer;
    answer.refused = kj::mv(reason);
    return answer;
  };
  if (!prepared.keyRefusal.empty()) return refused(prepared.keyRefusal);
  kj::Maybe<IdempotencyHit> expired;
  if (!request.idempotencyKey.empty()) {
    KJ_ASSERT(!request.caller.empty(), "an idempotency key needs its caller");
    KJ_IF_MAYBE(hit, findIdempotency(txn, request)) {
      if (hit->at < request.receivedAt - IDEMPOTENCY_RETENTION) {
        // Past retention but not purged yet: a new key, as it would be after the purge.
        expired = kj::mv(*hit);
      } else {
        if (hit->bodyHash != prepared.bodyHash) {
          return refused("idempotency key already used with a different body");
        }
        countSubmission(txn, e, Metrics::Submission::REPLAYED);
        return hit->answer;  // the first answer; nothing new stored
      }
    }
  }
  if (!prepared.refusal.empty()) return refused(prepared.refusal);

  const Timestamp at = request.receivedAt;
  const Timestamp recuLe = prepared.recuLe;
  Lead lead = prepared.lead;
  lead.id = ids.next(request.receivedAt);

  addHistory(txn, e, lead.id, history::received(recuLe, request.via));
  if (prepared.forwarded) addHistory(txn, e, lead.id, *prepared.forwarded);
  if (prepared.form) {
    addHistory(txn, e, lead.id,
               history::requestProof(
                   at, *prepared.form, {lead.requeteIp, lead.requeteUserAgent, lead.requetePageUrl}));
  }

  if (!lead.telephoneE164.empty() && !lead.produit.empty()) {
    KJ_IF_MAYBE(firstId, firstSubmissionSince(txn, e, lead.telephoneE164, lead.produit,
                                              lead.recuLe - DOUBLE_SUBMISSION_WINDOW,
                                              lead.recuLe)) {
      std::string first = *firstId;
      KJ_IF_MAYBE(firstLead, getLead(txn, e, first)) {
        // Link to the first lead of the chain, not to another double.
        if (!firstLead->doublonDe.empty()) first = firstLead->doublonDe;
      }
      markDoubleSubmission(lead, first);
      addHistory(txn, e, lead.id, history::doubleSubmission(at, first));
    }
  }
  if (!prepared.oppositionHash.empty() && isOpposed(txn, e, prepared.oppositionHash)) {
    markOpposed(lead);
    addHistory(txn, e, lead.id, history::opposedAtReception(at, e));
  }
  if (!lead.problemes.empty()) {
    addHistory(txn, e, lead.id, history::problems(at, lead.problemes));
  }
  addHistory(txn, e, lead.id, history::status(at, lead.statut));
  putLead(txn, lead, nullptr);
  addStats(txn, statsOfReception(lead));  // written once per group commit

  countSubmission(txn, e, Metrics::Submission::STORED, lead.statut);
  SubmitAnswer answer{"", lead.id, lead.statut, lead.problemes};
  if (!request.idempotencyKey.empty()) {
    putIdempotency(txn, request, prepared.bodyHash, answer, expired);
  }
  return answer;
}

size_t purgeIdempotencyKeys(Txn& txn, Timestamp now, size_t limit) {
  const Timestamp cutoff = now - IDEMPOTENCY_RETENTION;
  const std::string_view prefix = keys::IDEMPOTENCY_EXPIRY_PREFIX;
  struct Expired {
    std::string entry;
    std::string record;
    Timestamp at;
  };
  std::vector<Expired> expired;
  txn.scanSystem(prefix, [&](std::string_view key, auto) {
    if (expired.size() >= limit) return false;
    Timestamp at = keys::readTime(key.substr(prefix.size(), 8));
    if (at >= cutoff) return false;  // time order: the rest is younger
    expired.push_back({std::string(key), std::string(key.substr(prefix.size() + 8)), at});
    return true;
  });
  int64_t deleted = 0;
  for (auto& e : expired) {
    txn.delSystem(e.entry);
    // The record is deleted only if it is the one this entry indexes (a record rewritten since
    // has its own, younger entry).
    KJ_IF_MAYBE(bytes, txn.getSystem(e.record)) {
      if (idempotencyRecordTime(*bytes) == e.at) {
        txn.delSystem(e.record);
        ++deleted;
      }
    }
  }
  size_t purged = expired.size();

  // Records written before keys were per caller have no time index: they are visited from the
  // start of their range, up to what is left of `limit`. All of them are older than the upgrade,
  // so once it is past retention every visit deletes, and the range empties.
  std::vector<std::string> legacy;
  size_t visited = 0;
  txn.scanSystem(keys::LEGACY_IDEMPOTENCY_PREFIX, [&](std::string_view key, std::string_view value) {
    if (purged + visited >= limit) return false;
    ++visited;
    if (idempotencyRecordTime(value) < cutoff) legacy.emplace_back(key);
    return true;
  });
  for (auto& key : legacy) txn.delSystem(key);
  countIdempotencyRecords(txn, -(deleted + static_cast<int64_t>(legacy.size())));
  return purged + legacy.size();
}

std::string addClient(Txn& txn, Client client, Timestamp now) {
  checkClient(client);
  // Ids are unique across entities: `client show ID` needs no entity.
  for (Entity other : ALL_ENTITIES) {
    if (getClient(txn, other, client.id) != nullptr) refuseTakenClientId(client.id);
  }
  client.creeLe = now;
  putClient(txn, client);
  return client.id;
}

void setClient(Txn& txn, Client client) {
  KJ_IF_MAYBE(old, getClient(txn, client.entity, client.id)) {
    checkClient(client);
    client.creeLe = old->creeLe;
    putClient(txn, client);
  } else {
    refuseUnknownClient(client.id);
  }
}

std::string addCommande(Txn& txn, Commande commande, Timestamp now) {
  // A commande is always its client's entity, whatever the request said.
  bool found = false;
  for (Entity e : ALL_ENTITIES) {
    if (getClient(txn, e, commande.client) != nullptr) {
      commande.entity = e;
      found = true;
    }
  }
  if (!found) refuseUnknownClient(commande.client);
  checkCommande(commande, catalogueCodes(txn, commande.entity));
  // Zero-padded so that id order is creation order ("the oldest commande id", SPEC §5).
  commande.id = fmt::format("C{:06}", nextCounter(txn, "commande"));
  commande.creeLe = now;
  putCommande(txn, commande);
  return commande.id;
}

void setCommande(Txn& txn, Commande commande) {
  KJ_IF_MAYBE(old, getCommande(txn, commande.entity, commande.id)) {
    if (commande.client != old->client) refuseClientChange();
    checkCommande(commande, catalogueCodes(txn, commande.entity));
    commande.creeLe = old->creeLe;
    putCommande(txn, commande);
  } else {
    refuseUnknownCommande(commande.id);
  }
}

void addProduit(Txn& txn, Produit produit) {
  checkProduit(produit);
  putProduit(txn, produit);
}

uint64_t lastUsedIdValue(Reader& reader) {
  uint64_t last = 0;
  for (Entity e : ALL_ENTITIES) {
    if (auto value = decodeId(lastGeneratedId(reader, e))) last = std::max(last, *value);
  }
  return last;
}

}  // namespace rdz
