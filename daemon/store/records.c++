#include "daemon/store/records.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <span>

#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/lead-state.h"

namespace rdz {

namespace {

template <typename T, typename Decode>
kj::Maybe<T> getRecord(Reader& r, Entity e, Family f, std::string_view key, Decode decode) {
  KJ_IF_MAYBE (bytes, r.get(e, f, key)) {
    return decode(*bytes);
  }
  return nullptr;
}

template <typename T, typename Decode>
std::vector<T> listRecords(Reader& r, Entity e, Family f, Decode decode) {
  std::vector<T> out;
  r.scan(e, f, "", [&](std::string_view, std::string_view value) {
    out.push_back(decode(value));
    return true;
  });
  return out;
}

// Up to `limit` records under `prefix` (the key is prefix + id) with an id after `after` that
// `keep` accepts. `scan(prefix, from, visit)` is the family's Reader::scanAfter.
template <typename T, typename Scan, typename Decode>
std::vector<T> pageOf(Scan scan, std::string_view prefix, std::string_view after, size_t limit,
                      Decode decode, kj::Function<bool(const T&)>& keep) {
  std::vector<T> out;
  if (limit == 0) return out;
  std::string from = after.empty() ? std::string() : std::string(prefix) + std::string(after);
  scan(prefix, from, [&](std::string_view, std::string_view value) {
    T record = decode(value);
    if (keep(record)) out.push_back(kj::mv(record));
    return out.size() < limit;
  });
  return out;
}

// The scan of an entity's family, for pageOf.
auto familyScan(Reader& r, Entity e, Family f) {
  return [&r, e, f](std::string_view prefix, std::string_view from, auto&& visit) {
    r.scanAfter(e, f, prefix, from, visit);
  };
}

}  // namespace

kj::Maybe<Lead> getLead(Reader& r, Entity e, std::string_view id) {
  return getRecord<Lead>(r, e, Family::LEADS, id, decodeLead);
}

kj::Maybe<PoolLead> getPoolLead(Reader& r, Entity e, std::string_view id) {
  return getRecord<PoolLead>(r, e, Family::LEADS, id, decodePoolLead);
}

PoolLead poolView(const Lead& lead) {
  PoolLead pool;
  pool.id = lead.id;
  pool.entity = lead.entity;
  pool.produit = lead.produit;
  pool.departement = lead.departement;
  pool.telephoneE164 = lead.telephoneE164;
  pool.recuLe = lead.recuLe;
  pool.statut = lead.statut;
  pool.derniereLivraison = lead.derniereLivraison;
  return pool;
}

namespace {

// The entries of a lead that its status decides: its status entry, and its last-delivery entry
// while it is `delivered`. (Its phone entry depends only on fields a run never changes.)
struct StateEntries {
  std::array<IndexEntry, 2> entries;
  size_t count = 0;
  std::span<const IndexEntry> view() const { return {entries.data(), count}; }
};

StateEntries stateEntries(const PoolLead& lead) {
  const bool inPool = lead.statut == Statut::NEW || lead.statut == Statut::LB;
  const bool reenters = lead.statut == Statut::DELIVERED && lead.derniereLivraison.has_value();
  std::string pool = inPool || reenters ? encodePoolEntry(lead) : std::string();
  StateEntries out;
  out.entries[out.count++] = {keys::statusKey(lead.statut, lead.recuLe, lead.id),
                              inPool ? pool : std::string()};
  if (reenters) {
    out.entries[out.count++] = {keys::agingKey(*lead.derniereLivraison, lead.id), kj::mv(pool)};
  }
  return out;
}

}  // namespace

std::vector<IndexEntry> leadIndexEntries(const PoolLead& lead) {
  StateEntries state = stateEntries(lead);
  std::vector<IndexEntry> out;
  out.push_back(kj::mv(state.entries[0]));
  if (!lead.telephoneE164.empty()) {
    out.push_back({keys::phoneKey(lead.telephoneE164, lead.produit, lead.recuLe, lead.id), ""});
  }
  if (state.count > 1) out.push_back(kj::mv(state.entries[1]));
  return out;
}

std::vector<IndexEntry> leadIndexEntries(const Lead& lead) {
  return leadIndexEntries(poolView(lead));
}

namespace {

// Deletes the entries of `before` whose key `after` has not, puts those of `after` that
// `before` has not as they are (the entries `before` had are there already: the audit checks
// it).
void moveEntries(Txn& txn, Entity e, std::span<const IndexEntry> before,
                 std::span<const IndexEntry> after) {
  auto hasKey = [](std::span<const IndexEntry> entries, const std::string& key) {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const IndexEntry& entry) { return entry.key == key; });
  };
  for (auto& entry : before) {
    if (!hasKey(after, entry.key)) txn.del(e, Family::INDEX, entry.key);
  }
  for (auto& entry : after) {
    if (std::find(before.begin(), before.end(), entry) == before.end()) {
      txn.put(e, Family::INDEX, entry.key, entry.value);
    }
  }
}

}  // namespace

void changeLeadState(Txn& txn, const PoolLead& before, bool aged,
                     std::optional<Timestamp> delivered) {
  PoolLead after = before;
  if (aged) after.statut = Statut::LB;
  if (delivered) {
    KJ_ASSERT(after.statut == Statut::NEW || after.statut == Statut::LB,
              "a planned lead is not deliverable", after.id);
    after.statut = Statut::DELIVERED;
    after.derniereLivraison = *delivered;
  }
  txn.merge(after.entity, Family::LEADS, after.id, leadStateChange(aged, delivered));
  // Only the entries the status decides move: the phone entry stays as it is.
  moveEntries(txn, after.entity, stateEntries(before).view(), stateEntries(after).view());
}

void putLead(Txn& txn, const Lead& lead, const Lead* previous) {
  std::vector<IndexEntry> before;
  if (previous != nullptr) {
    KJ_ASSERT(previous->id == lead.id && previous->entity == lead.entity);
    before = leadIndexEntries(*previous);
  }
  txn.put(lead.entity, Family::LEADS, lead.id, encode(lead));
  moveEntries(txn, lead.entity, before, leadIndexEntries(lead));
}

void addHistory(Txn& txn, Entity e, std::string_view leadId, const HistoryEvent& event) {
  // A process-wide sequence: two events of one lead at the same microsecond (a manual clock,
  // or ingestion and a run in one instant) never share a key.
  static std::atomic<uint32_t> sequence{0};
  txn.put(e, Family::HISTORY, keys::historyKey(leadId, event.at, sequence.fetch_add(1)),
          encode(event));
}

std::vector<HistoryEvent> getHistory(Reader& r, Entity e, std::string_view leadId) {
  std::vector<HistoryEvent> out;
  r.scan(e, Family::HISTORY, keys::historyPrefix(leadId), [&](auto, std::string_view value) {
    out.push_back(decodeHistoryEvent(value));
    return true;
  });
  return out;
}

std::vector<Lead> leadsByPhone(Reader& r, Entity e, std::string_view e164) {
  std::vector<std::string> ids;
  r.scan(e, Family::INDEX, keys::phonePrefix(e164), [&](std::string_view key, auto) {
    ids.emplace_back(keys::idOfIndexKey(key));
    return true;
  });
  std::sort(ids.begin(), ids.end());  // ids are time-ordered: oldest first across produits
  std::vector<Lead> out;
  for (auto& id : ids) {
    KJ_IF_MAYBE (lead, getLead(r, e, id)) {
      out.push_back(kj::mv(*lead));
    }
  }
  return out;
}

kj::Maybe<std::string> firstSubmissionSince(Reader& r, Entity e, std::string_view e164,
                                            std::string_view produit, Timestamp since,
                                            Timestamp until) {
  std::string prefix = keys::phoneProduitPrefix(e164, produit);
  kj::Maybe<std::string> first;
  r.scan(e, Family::INDEX, prefix, [&](std::string_view key, auto) {
    Timestamp t = keys::readTime(key.substr(prefix.size()));
    if (t > until) return false;
    if (t >= since) {
      first = std::string(keys::idOfIndexKey(key));
      return false;
    }
    return true;
  });
  return first;
}

std::vector<std::string> leadIdsByStatus(Reader& r, Entity e, Statut s, bool newestFirst) {
  std::vector<std::string> ids;
  r.scan(
      e, Family::INDEX, keys::statusPrefix(s),
      [&](std::string_view key, auto) {
        ids.emplace_back(keys::idOfIndexKey(key));
        return true;
      },
      newestFirst);
  return ids;
}

namespace {

// The lead of a pool entry: its id, statut and time from the key (recu_le of a status entry,
// derniere_livraison of a last-delivery entry), its entity from the family, the rest from the
// value. An entry whose value cannot say it (empty: a database not filled yet; damaged; not of
// the key) is read from the lead's record instead, and passed over when the record is not in
// that pool (an orphan or extra entry, which the audit reports): one bad entry never stops a run.
std::optional<PoolLead> pooled(Reader& r, Entity e, std::string id, Statut statut,
                               std::optional<Timestamp> recuLe,
                               std::optional<Timestamp> derniereLivraison,
                               std::string_view value) {
  PoolLead lead;
  lead.id = kj::mv(id);
  lead.entity = e;
  lead.statut = statut;
  bool decoded = !value.empty() && kj::runCatchingExceptions([&]() {
                                     decodePoolEntry(value, lead);
                                   }) == nullptr;
  auto ofKey = [&](const PoolLead& l) {
    return l.statut == statut && (!recuLe || l.recuLe == *recuLe) &&
           (!derniereLivraison || l.derniereLivraison == derniereLivraison);
  };
  if (decoded && ofKey(lead)) return lead;
  KJ_IF_MAYBE (stored, getPoolLead(r, e, lead.id)) {
    if (ofKey(*stored)) return kj::mv(*stored);
  }
  return std::nullopt;
}

}  // namespace

std::vector<PoolLead> poolLeadsUntil(Reader& r, Entity e, Statut s, Timestamp until) {
  KJ_REQUIRE(s == Statut::NEW || s == Statut::LB, "not a pool", std::string(statutName(s)));
  std::vector<PoolLead> leads;
  r.scan(e, Family::INDEX, keys::statusPrefix(s),
         [&](std::string_view key, std::string_view value) {
           auto parsed = keys::parseStatusKey(key);
           if (!parsed || parsed->recuLe > until) return false;
           auto lead = pooled(r, e, kj::mv(parsed->id), s, parsed->recuLe, std::nullopt, value);
           if (lead) leads.push_back(kj::mv(*lead));
           return true;
         });
  return leads;
}

std::vector<PoolLead> deliveredLeadsUntil(Reader& r, Entity e, Timestamp until) {
  std::vector<PoolLead> leads;
  r.scan(e, Family::INDEX, keys::AGING_PREFIX, [&](std::string_view key, std::string_view value) {
    auto parsed = keys::parseAgingKey(key);
    if (!parsed || parsed->derniereLivraison > until) return false;
    auto lead = pooled(r, e, kj::mv(parsed->id), Statut::DELIVERED, std::nullopt,
                       parsed->derniereLivraison, value);
    if (lead) leads.push_back(kj::mv(*lead));
    return true;
  });
  return leads;
}

namespace {

// Calls `fill(txn, e, key)` for every entry of the index under `prefixes` that holds nothing
// yet, committing as it goes (a big database has millions), then writes the system key `done`.
void fillIndexOnce(Store& store, const char* done, std::initializer_list<std::string> prefixes,
                   kj::FunctionParam<void(Txn&, Entity, std::string_view)> fill) {
  auto txn = store.begin();
  for (Entity e : ALL_ENTITIES) {
    for (auto& prefix : prefixes) {
      std::vector<std::string> empty;
      store.scan(e, Family::INDEX, prefix, [&](std::string_view key, std::string_view value) {
        if (value.empty()) empty.emplace_back(key);
        return true;
      });
      for (auto& key : empty) {
        fill(*txn, e, key);
        if (txn->size() > 100000) {
          store.commit(*txn);
          txn = store.begin();
        }
      }
    }
  }
  txn->putSystem(done, "");
  store.commit(*txn);
}

}  // namespace

bool ensureAgingIndexBuilt(Store& store) {
  if (store.getSystem(keys::AGING_BUILT_KEY) != nullptr) return false;
  // From the status entries of the delivered leads (which hold nothing).
  fillIndexOnce(store, keys::AGING_BUILT_KEY, {keys::statusPrefix(Statut::DELIVERED)},
                [&](Txn& txn, Entity e, std::string_view key) {
                  auto parsed = keys::parseStatusKey(key);
                  if (!parsed) return;
                  KJ_IF_MAYBE (lead, getLead(store, e, parsed->id)) {
                    for (auto& entry : leadIndexEntries(*lead)) {
                      if (entry.key[0] == keys::AGING_PREFIX[0]) {
                        txn.put(e, Family::INDEX, entry.key, entry.value);
                      }
                    }
                  }
                });
  return true;
}

bool ensurePoolEntriesFilled(Store& store) {
  if (store.getSystem(keys::POOL_FILLED_KEY) != nullptr) return false;
  fillIndexOnce(
      store, keys::POOL_FILLED_KEY,
      {keys::statusPrefix(Statut::NEW), keys::statusPrefix(Statut::LB), keys::AGING_PREFIX},
      [&](Txn& txn, Entity e, std::string_view key) {
        std::string id;
        if (auto s = keys::parseStatusKey(key)) id = kj::mv(s->id);
        if (auto a = keys::parseAgingKey(key)) id = kj::mv(a->id);
        KJ_IF_MAYBE (lead, getLead(store, e, id)) {
          for (auto& entry : leadIndexEntries(*lead)) {
            if (entry.key == key) txn.put(e, Family::INDEX, entry.key, entry.value);
          }
        }
      });
  return true;
}

std::string lastLeadId(Reader& r, Entity e) {
  std::string last;
  r.scan(
      e, Family::LEADS, "",
      [&](std::string_view key, auto) {
        last = std::string(key);
        return false;
      },
      true);
  return last;
}

std::string lastGeneratedId(Reader& r, Entity e) {
  std::string last = lastLeadId(r, e);
  auto lastWithPrefix = [&](Family f, std::string_view prefix) {
    r.scan(
        e, f, prefix,
        [&](std::string_view key, auto) {
          last = std::max(last, std::string(key.substr(prefix.size())));
          return false;
        },
        true);
  };
  lastWithPrefix(Family::DELIVERIES, "D");
  lastWithPrefix(Family::BATCHES, "B");
  return last;
}

kj::Maybe<Client> getClient(Reader& r, Entity e, std::string_view id) {
  return getRecord<Client>(r, e, Family::CLIENTS, id, decodeClient);
}
void putClient(Txn& txn, const Client& client) {
  txn.put(client.entity, Family::CLIENTS, client.id, encode(client));
}
std::vector<Client> listClients(Reader& r, Entity e) {
  return listRecords<Client>(r, e, Family::CLIENTS, decodeClient);
}
std::vector<Client> listClients(Reader& r, Entity e, std::string_view after, size_t limit) {
  kj::Function<bool(const Client&)> all = [](const Client&) { return true; };
  return pageOf<Client>(familyScan(r, e, Family::CLIENTS), "", after, limit, decodeClient, all);
}

kj::Maybe<Commande> getCommande(Reader& r, Entity e, std::string_view id) {
  return getRecord<Commande>(r, e, Family::COMMANDES, id, decodeCommande);
}
void putCommande(Txn& txn, const Commande& commande) {
  txn.put(commande.entity, Family::COMMANDES, commande.id, encode(commande));
}
std::vector<Commande> listCommandes(Reader& r, Entity e) {
  return listRecords<Commande>(r, e, Family::COMMANDES, decodeCommande);
}
std::vector<Commande> listCommandes(Reader& r, Entity e, std::string_view after, size_t limit,
                                    kj::Function<bool(const Commande&)> keep) {
  return pageOf<Commande>(familyScan(r, e, Family::COMMANDES), "", after, limit, decodeCommande,
                          keep);
}

kj::Maybe<Produit> getProduit(Reader& r, Entity e, std::string_view code) {
  for (auto& p : listProduits(r, e)) {
    if (p.code == code) return p;
  }
  return nullptr;
}
void putProduit(Txn& txn, const Produit& produit) {
  txn.put(produit.entity, Family::PRODUITS, produit.code, encode(produit));
}
std::vector<Produit> listProduits(Reader& r, Entity e) {
  // The default catalogue is always there; a stored produit of the same code overrides it.
  std::vector<Produit> out = defaultCatalogue(e);
  for (auto& p : listRecords<Produit>(r, e, Family::PRODUITS, decodeProduit)) {
    auto same = std::find_if(out.begin(), out.end(), [&](auto& d) { return d.code == p.code; });
    if (same != out.end()) {
      *same = kj::mv(p);
    } else {
      out.push_back(kj::mv(p));
    }
  }
  return out;
}

namespace {

using keys::batchKey;
using keys::dayKey;
using keys::deliveryByLeadKey;
using keys::deliveryKey;
using keys::outboxKey;
using keys::owedKey;
using keys::weekKey;

void putU32s(std::string& out, std::initializer_list<uint32_t> values) {
  for (uint32_t v : values) keys::appendU32(out, v);
}
uint32_t readU32(std::string_view bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = at; i < at + 4 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return v;
}
uint32_t applyDelta(uint32_t value, int32_t delta) {
  int64_t next = static_cast<int64_t>(value) + delta;
  KJ_ASSERT(next >= 0, "quota counter would go negative");
  return static_cast<uint32_t>(next);
}

}  // namespace

kj::Maybe<Delivery> getDelivery(Reader& r, Entity receiving, std::string_view id) {
  return getRecord<Delivery>(r, receiving, Family::DELIVERIES, deliveryKey(id), decodeDelivery);
}

void putDelivery(Txn& txn, const Delivery& d) {
  txn.put(d.entity, Family::DELIVERIES, deliveryKey(d.id), encode(d));
  txn.put(d.entity, Family::DELIVERIES, deliveryByLeadKey(d.lead, d.id), "");
}

std::vector<Delivery> deliveriesOfLead(Reader& r, Entity receiving, std::string_view leadId) {
  std::vector<std::string> ids;
  std::string prefix = deliveryByLeadKey(leadId, "");
  r.scan(receiving, Family::DELIVERIES, prefix, [&](std::string_view key, auto) {
    ids.emplace_back(key.substr(prefix.size()));
    return true;
  });
  std::vector<Delivery> out;
  for (auto& id : ids) {
    KJ_IF_MAYBE (d, getDelivery(r, receiving, id)) {
      out.push_back(kj::mv(*d));
    }
  }
  return out;
}

std::vector<Delivery> allDeliveriesOf(Reader& r, std::string_view leadId) {
  std::vector<Delivery> out;
  for (Entity receiving : ALL_ENTITIES) {
    auto some = deliveriesOfLead(r, receiving, leadId);
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

kj::Maybe<Batch> getBatch(Reader& r, Entity e, std::string_view id) {
  return getRecord<Batch>(r, e, Family::BATCHES, batchKey(id), decodeBatch);
}

void putBatch(Txn& txn, const Batch& batch, const Batch* previous) {
  if (previous != nullptr && previous->nextAttempt) {
    txn.del(batch.entity, Family::BATCHES, outboxKey(*previous->nextAttempt, previous->id));
  }
  txn.put(batch.entity, Family::BATCHES, batchKey(batch.id), encode(batch));
  if (batch.nextAttempt) {
    txn.put(batch.entity, Family::BATCHES, outboxKey(*batch.nextAttempt, batch.id), "");
  }
}

std::vector<Batch> listBatches(Reader& r, Entity e) {
  std::vector<Batch> out;
  r.scan(e, Family::BATCHES, "B", [&](auto, std::string_view value) {
    out.push_back(decodeBatch(value));
    return true;
  });
  return out;
}

std::vector<Batch> listBatches(Reader& r, Entity e, std::string_view after, size_t limit,
                               kj::Function<bool(const Batch&)> keep) {
  return pageOf<Batch>(familyScan(r, e, Family::BATCHES), "B", after, limit, decodeBatch, keep);
}

std::vector<DueBatch> dueBatches(Reader& r, Entity e, Timestamp now) {
  std::vector<DueBatch> out;
  r.scan(e, Family::BATCHES, "O", [&](std::string_view key, auto) {
    Timestamp due = keys::readTime(key.substr(1, 8));
    if (due > now) return false;
    out.push_back({e, std::string(key.substr(9)), due});
    return true;
  });
  return out;
}

std::optional<Timestamp> nextDue(Reader& r, Entity e) {
  std::optional<Timestamp> next;
  r.scan(e, Family::BATCHES, "O", [&](std::string_view key, auto) {
    next = keys::readTime(key.substr(1, 8));
    return false;
  });
  return next;
}

kj::Maybe<RunRecord> getRun(Reader& r, std::string_view id) {
  KJ_IF_MAYBE (bytes, r.getSystem(keys::runKey(id))) {
    return decodeRun(*bytes);
  }
  return nullptr;
}

void putRun(Txn& txn, const RunRecord& run) { txn.putSystem(keys::runKey(run.id), encode(run)); }

void putRunTrace(Txn& txn, const RunTrace& trace) {
  txn.putSystem(keys::runTraceKey(trace.run), encode(trace));
}

kj::Maybe<RunTrace> getRunTrace(Reader& r, std::string_view runId) {
  KJ_IF_MAYBE (bytes, r.getSystem(keys::runTraceKey(runId))) {
    return decodeRunTrace(*bytes);
  }
  return nullptr;
}

size_t purgeRunTraces(Txn& txn, std::string_view date) {
  const std::string_view prefix = keys::RUN_TRACE_PREFIX;
  std::vector<std::string> expired;
  txn.scanSystem(prefix, [&](std::string_view key, std::string_view) {
    // Run ids begin with their date: keys are in date order.
    if (key.substr(prefix.size(), date.size()) >= date) return false;
    expired.emplace_back(key);
    return true;
  });
  for (auto& key : expired) txn.delSystem(key);
  return expired.size();
}

std::vector<RunRecord> listRuns(Reader& r) {
  std::vector<RunRecord> out;
  r.scanSystem(keys::runKey(""), [&](auto, std::string_view value) {
    out.push_back(decodeRun(value));
    return true;
  });
  return out;
}

std::vector<RunRecord> listRuns(Reader& r, std::string_view after, size_t limit,
                                kj::Function<bool(const RunRecord&)> keep) {
  return pageOf<RunRecord>([&r](std::string_view prefix, std::string_view from,
                                auto&& visit) { r.scanSystemAfter(prefix, from, visit); },
                           keys::runKey(""), after, limit, decodeRun, keep);
}

std::optional<Timestamp> lastDeliveryTo(Reader& r, Entity clientEntity, std::string_view e164,
                                        std::string_view produit, std::string_view client) {
  KJ_IF_MAYBE (bytes, r.get(clientEntity, Family::DEDUP, keys::dedupKey(e164, produit, client))) {
    return keys::readTime(*bytes);
  }
  return std::nullopt;
}

void putLastDelivery(Txn& txn, Entity clientEntity, std::string_view e164, std::string_view produit,
                     std::string_view client, Timestamp at) {
  std::string value;
  keys::appendTime(value, at);
  txn.put(clientEntity, Family::DEDUP, keys::dedupKey(e164, produit, client), value);
}

WeekCount decodeWeekCount(std::string_view value) {
  // Counters written before replacements were kept have two values: the third reads 0.
  return {readU32(value, 0), readU32(value, 4), readU32(value, 8)};
}

uint32_t decodeQuotaCount(std::string_view value) { return readU32(value, 0); }

WeekCount weekCount(Reader& r, Entity e, std::string_view commande, std::string_view week) {
  KJ_IF_MAYBE (bytes, r.get(e, Family::QUOTAS, weekKey(commande, week))) {
    return decodeWeekCount(*bytes);
  }
  return {};
}

void addWeekCount(Txn& txn, Entity e, std::string_view commande, std::string_view week,
                  int32_t delivered, int32_t lb) {
  WeekCount c = weekCount(txn, e, commande, week);
  std::string value;
  putU32s(value, {applyDelta(c.delivered, delivered), applyDelta(c.lb, lb), c.replacements});
  txn.put(e, Family::QUOTAS, weekKey(commande, week), value);
}

void addWeekReplacements(Txn& txn, Entity e, std::string_view commande, std::string_view week,
                         int32_t served) {
  WeekCount c = weekCount(txn, e, commande, week);
  std::string value;
  putU32s(value, {c.delivered, c.lb, applyDelta(c.replacements, served)});
  txn.put(e, Family::QUOTAS, weekKey(commande, week), value);
}

uint32_t replacementsOwed(Reader& r, Entity e, std::string_view commande) {
  KJ_IF_MAYBE (bytes, r.get(e, Family::QUOTAS, owedKey(commande))) {
    return readU32(*bytes, 0);
  }
  return 0;
}

void addReplacementsOwed(Txn& txn, Entity e, std::string_view commande, int32_t delta) {
  std::string value;
  putU32s(value, {applyDelta(replacementsOwed(txn, e, commande), delta)});
  txn.put(e, Family::QUOTAS, owedKey(commande), value);
}

uint32_t dayCount(Reader& r, Entity e, std::string_view commande, std::string_view date) {
  KJ_IF_MAYBE (bytes, r.get(e, Family::QUOTAS, dayKey(commande, date))) {
    return readU32(*bytes, 0);
  }
  return 0;
}

void addDayCount(Txn& txn, Entity e, std::string_view commande, std::string_view date,
                 int32_t delivered) {
  std::string value;
  putU32s(value, {applyDelta(dayCount(txn, e, commande, date), delivered)});
  txn.put(e, Family::QUOTAS, dayKey(commande, date), value);
}

void deleteDuplicatesOfPhone(Txn& txn, Entity clientEntity, std::string_view e164) {
  std::string prefix = std::string(e164) + '\0';
  std::vector<std::string> found;
  txn.scan(clientEntity, Family::DEDUP, prefix, [&](std::string_view key, auto) {
    found.emplace_back(key);
    return true;
  });
  for (auto& key : found) txn.del(clientEntity, Family::DEDUP, key);
}

bool isOpposed(Reader& r, Entity e, std::string_view hash) {
  return r.get(e, Family::OPPOSITION, hash) != nullptr;
}

bool hasOpposition(Reader& r, Entity e) {
  bool any = false;
  r.scan(e, Family::OPPOSITION, "", [&](auto, auto) {
    any = true;
    return false;
  });
  return any;
}

void putOpposition(Txn& txn, Entity e, std::string_view hash, Timestamp at) {
  std::string value;
  keys::appendTime(value, at);
  txn.put(e, Family::OPPOSITION, hash, value);
}

void deleteOpposition(Txn& txn, Entity e, std::string_view hash) {
  txn.del(e, Family::OPPOSITION, hash);
}

uint32_t countOpposition(Reader& r, Entity e) {
  // TODO(perf): a scan; 1,000,000 hashes take a fraction of a second. A counter kept in step
  // would make it a point read.
  uint32_t n = 0;
  r.scan(e, Family::OPPOSITION, "", [&](auto, auto) {
    ++n;
    return true;
  });
  return n;
}

uint64_t nextCounter(Txn& txn, std::string_view name) {
  std::string key = keys::counterKey(name);
  uint64_t value = 0;
  KJ_IF_MAYBE (bytes, txn.getSystem(key)) {
    KJ_ASSERT(bytes->size() == 8, "corrupt counter", std::string(name));
    for (unsigned char c : *bytes) value = (value << 8) | c;
  }
  ++value;
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
  txn.putSystem(key, out);
  return value;
}

kj::Maybe<User> getUser(Reader& r, std::string_view name) {
  KJ_IF_MAYBE (bytes, r.getSystem(keys::userKey(name))) {
    return decodeUser(*bytes);
  }
  return nullptr;
}

void putUser(Txn& txn, const User& user) { txn.putSystem(keys::userKey(user.name), encode(user)); }

std::vector<User> listUsers(Reader& r, std::string_view after, size_t limit) {
  kj::Function<bool(const User&)> all = [](const User&) { return true; };
  return pageOf<User>([&r](std::string_view prefix, std::string_view from,
                           auto&& visit) { r.scanSystemAfter(prefix, from, visit); },
                      keys::userKey(""), after, limit, decodeUser, all);
}

}  // namespace rdz
