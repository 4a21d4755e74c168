#include "tests/support/corrupt-store.h"

#include <kj/debug.h>

#include <algorithm>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"

namespace rdz::test {

namespace {

template <typename Fn>
void write(Store& store, Fn fn) {
  auto txn = store.begin();
  fn(*txn);
  store.commit(*txn);
}

Lead leadOf(Reader& r, Entity e, const std::string& id) {
  KJ_IF_MAYBE (lead, getLead(r, e, id)) {
    return kj::mv(*lead);
  }
  KJ_FAIL_REQUIRE("no such lead", id);
}

Delivery deliveryOf(Reader& r, Entity receiving, const std::string& id) {
  KJ_IF_MAYBE (d, getDelivery(r, receiving, id)) {
    return kj::mv(*d);
  }
  KJ_FAIL_REQUIRE("no such delivery", id);
}

Batch batchOf(Reader& r, Entity e, const std::string& id) {
  KJ_IF_MAYBE (b, getBatch(r, e, id)) {
    return kj::mv(*b);
  }
  KJ_FAIL_REQUIRE("no such batch", id);
}

// The lead record alone, its index entries left as they are.
void putLeadRecordOnly(Txn& txn, const Lead& lead) {
  txn.put(lead.entity, Family::LEADS, lead.id, encode(lead));
}

}  // namespace

std::string dropStatusEntry(Store& store, Entity e, const std::string& leadId) {
  Lead lead = leadOf(store, e, leadId);
  std::string key = keys::statusKey(lead.statut, lead.recuLe, lead.id);
  write(store, [&](Txn& txn) { txn.del(e, Family::INDEX, key); });
  return key;
}

std::string addOrphanStatusEntry(Store& store, Entity e, const std::string& leadId,
                                 Timestamp recuLe) {
  KJ_REQUIRE(getLead(store, e, leadId) == nullptr, "the lead exists", leadId);
  std::string key = keys::statusKey(Statut::NEW, recuLe, leadId);
  write(store, [&](Txn& txn) { txn.put(e, Family::INDEX, key, ""); });
  return key;
}

std::string addExtraStatusEntry(Store& store, Entity e, const std::string& leadId, Statut other) {
  Lead lead = leadOf(store, e, leadId);
  KJ_REQUIRE(lead.statut != other);
  std::string key = keys::statusKey(other, lead.recuLe, lead.id);
  write(store, [&](Txn& txn) { txn.put(e, Family::INDEX, key, ""); });
  return key;
}

std::string staleDepartementInPoolEntry(Store& store, Entity e, const std::string& leadId) {
  Lead lead = leadOf(store, e, leadId);
  Lead other = lead;
  other.departement = lead.departement == "99" ? "98" : "99";
  for (auto& entry : leadIndexEntries(other)) {
    if (entry.value.empty()) continue;
    write(store, [&](Txn& txn) { txn.put(e, Family::INDEX, entry.key, entry.value); });
    return entry.key;
  }
  KJ_FAIL_REQUIRE("the lead has no pool entry", leadId);
}

void setNbLivraisons(Store& store, Entity e, const std::string& leadId, uint32_t n) {
  Lead lead = leadOf(store, e, leadId);
  lead.nbLivraisons = n;
  write(store, [&](Txn& txn) { putLeadRecordOnly(txn, lead); });
}

void setDerniereLivraison(Store& store, Entity e, const std::string& leadId,
                          std::optional<Timestamp> at) {
  Lead before = leadOf(store, e, leadId);
  Lead after = before;
  after.derniereLivraison = at;
  // Its index entries move with it: only the record disagrees with the deliveries.
  write(store, [&](Txn& txn) { putLead(txn, after, &before); });
}

void setStatut(Store& store, Entity e, const std::string& leadId, Statut statut) {
  Lead before = leadOf(store, e, leadId);
  Lead after = before;
  after.statut = statut;
  write(store, [&](Txn& txn) { putLead(txn, after, &before); });
}

void restorePersonalField(Store& store, Entity e, const std::string& leadId) {
  Lead lead = leadOf(store, e, leadId);
  KJ_REQUIRE(lead.efface, "the lead is not erased", leadId);
  lead.nom = "Durand";
  write(store, [&](Txn& txn) { putLeadRecordOnly(txn, lead); });
}

void overwriteWithGarbage(Store& store, Entity e, Family f, const std::string& key) {
  KJ_REQUIRE(store.get(e, f, key) != nullptr, "no record at that key");
  // Seven bytes: not even a whole Cap'n Proto word.
  write(store, [&](Txn& txn) { txn.put(e, f, key, "garbage"); });
}

void deleteLeadKeepingDeliveries(Store& store, Entity e, const std::string& leadId) {
  Lead lead = leadOf(store, e, leadId);
  write(store, [&](Txn& txn) {
    txn.del(e, Family::LEADS, lead.id);
    for (auto& entry : leadIndexEntries(lead)) txn.del(e, Family::INDEX, entry.key);
  });
}

std::string dropLeadToDeliveryEntry(Store& store, Entity receiving, const std::string& deliveryId) {
  Delivery d = deliveryOf(store, receiving, deliveryId);
  write(store, [&](Txn& txn) {
    txn.del(receiving, Family::DELIVERIES, keys::deliveryByLeadKey(d.lead, d.id));
  });
  return keys::deliveryKey(d.id);
}

void unlistFromBatch(Store& store, Entity receiving, const std::string& deliveryId) {
  Delivery d = deliveryOf(store, receiving, deliveryId);
  Batch batch = batchOf(store, receiving, d.batch);
  Batch updated = batch;
  std::erase(updated.deliveries, d.id);
  write(store, [&](Txn& txn) { putBatch(txn, updated, &batch); });
}

void dropDedupEntry(Store& store, Entity receiving, const std::string& deliveryId) {
  Delivery d = deliveryOf(store, receiving, deliveryId);
  Lead lead = leadOf(store, d.leadEntity, d.lead);
  write(store, [&](Txn& txn) {
    txn.del(receiving, Family::DEDUP, keys::dedupKey(lead.telephoneE164, lead.produit, d.client));
  });
}

void listMissingDelivery(Store& store, Entity e, const std::string& batchId,
                         const std::string& deliveryId) {
  KJ_REQUIRE(getDelivery(store, e, deliveryId) == nullptr, "the delivery exists", deliveryId);
  Batch batch = batchOf(store, e, batchId);
  Batch updated = batch;
  updated.deliveries.push_back(deliveryId);
  write(store, [&](Txn& txn) { putBatch(txn, updated, &batch); });
}

void dropOutboxEntry(Store& store, Entity e, const std::string& batchId) {
  Batch batch = batchOf(store, e, batchId);
  KJ_REQUIRE(batch.nextAttempt.has_value(), "the batch is not in the outbox", batchId);
  write(store, [&](Txn& txn) {
    txn.del(e, Family::BATCHES, keys::outboxKey(*batch.nextAttempt, batch.id));
  });
}

void bumpWeekCounter(Store& store, Entity e, const std::string& commande, const std::string& week,
                     int32_t delta) {
  write(store, [&](Txn& txn) { addWeekCount(txn, e, commande, week, delta, 0); });
}

void bumpDayCount(Store& store, Entity e, const std::string& commande, const std::string& date,
                  int32_t delta) {
  write(store, [&](Txn& txn) { addDayCount(txn, e, commande, date, delta); });
}

void bumpReplacementsOwed(Store& store, Entity e, const std::string& commande, int32_t delta) {
  write(store, [&](Txn& txn) { addReplacementsOwed(txn, e, commande, delta); });
}

void bumpStatsRecus(Store& store, Entity e, const std::string& statsKey) {
  write(store, [&](Txn& txn) {
    DayCounters row;
    KJ_IF_MAYBE (bytes, txn.get(e, Family::STATS, statsKey)) {
      row = decodeDayCounters(*bytes);
    }
    row.recus += 1;
    txn.put(e, Family::STATS, statsKey, encode(row));
  });
}

void addDelivery(Store& store, const Delivery& d) {
  write(store, [&](Txn& txn) {
    Lead before = leadOf(txn, d.leadEntity, d.lead);
    Lead after = before;
    after.statut = Statut::DELIVERED;
    after.nbLivraisons += 1;
    after.derniereLivraison = std::max(after.derniereLivraison.value_or(d.at), d.at);
    putLead(txn, after, &before);
    putDelivery(txn, d);
    Batch batch = batchOf(txn, d.entity, d.batch);
    Batch listed = batch;
    listed.deliveries.push_back(d.id);
    putBatch(txn, listed, &batch);
    auto last = lastDeliveryTo(txn, d.entity, after.telephoneE164, after.produit, d.client);
    putLastDelivery(txn, d.entity, after.telephoneE164, after.produit, d.client,
                    std::max(last.value_or(d.at), d.at));
    bool lb = d.pass == PassKind::LB || d.pass == PassKind::LB_FALLBACK;
    std::string date = runDateOf(d);
    addWeekCount(txn, d.entity, d.commande, isoWeekOf(date), 1, lb ? 1 : 0);
    addDayCount(txn, d.entity, d.commande, date, 1);
  });
}

}  // namespace rdz::test
