// Deliberately inconsistent records, written through the store layer, so that tests can show
// the audit (SPEC §7.5) finds each class of violation: a checker that cannot fail checks nothing.
//
// Each function commits one transaction on `store`: an in-process Store, or the data directory
// of a stopped rdzd opened with Store::open(DATA_DIR + "/db"). Each breaks the invariant it
// names and, unless said otherwise, nothing else. None of them is ever called by rdzd: these
// are states no write job of rdzd leaves behind.
#pragma once

#include <optional>
#include <string>

#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"
#include "daemon/store/store.h"

namespace rdz::test {

// index.missing: deletes the lead's status index entry. Returns that entry's key.
std::string dropStatusEntry(Store& store, Entity e, const std::string& leadId);
// index.orphan: a status entry (statut new) of a lead id that has no record. Returns its key.
std::string addOrphanStatusEntry(Store& store, Entity e, const std::string& leadId,
                                 Timestamp recuLe);
// index.extra: a second status entry of an existing lead, under `other` statut. Returns its key.
std::string addExtraStatusEntry(Store& store, Entity e, const std::string& leadId, Statut other);
// index.value: the lead's pool entry (its status entry while new or lb, its last-delivery
// entry while delivered) holding another departement than the lead's. Returns its key.
std::string staleDepartementInPoolEntry(Store& store, Entity e, const std::string& leadId);

// lead.nb_livraisons: the lead's delivery count set to `n` (nothing else changes).
void setNbLivraisons(Store& store, Entity e, const std::string& leadId, uint32_t n);
// lead.derniere_livraison: the lead's last delivery time set to `at`.
void setDerniereLivraison(Store& store, Entity e, const std::string& leadId,
                          std::optional<Timestamp> at);
// lead.statut: the lead's statut changed (its index entries moved along, as putLead does)
// without the deliveries that statut implies.
void setStatut(Store& store, Entity e, const std::string& leadId, Statut statut);
// lead.efface: an erased lead given back a personal field (nom).
void restorePersonalField(Store& store, Entity e, const std::string& leadId);

// record.decode: bytes that are no record in place of the value at `key`.
void overwriteWithGarbage(Store& store, Entity e, Family f, const std::string& key);

// delivery.lead: deletes a lead's record and its index entries, not its deliveries.
void deleteLeadKeepingDeliveries(Store& store, Entity e, const std::string& leadId);
// delivery.index: deletes a delivery's lead-to-delivery entry. Returns the delivery's key.
std::string dropLeadToDeliveryEntry(Store& store, Entity receiving, const std::string& deliveryId);
// delivery.batch: takes the delivery out of its batch's list (the batch record only).
void unlistFromBatch(Store& store, Entity receiving, const std::string& deliveryId);
// delivery.dedup: deletes the duplicate-index entry (phone, produit, client) of a delivery.
void dropDedupEntry(Store& store, Entity receiving, const std::string& deliveryId);
// batch.delivery: the batch lists one more delivery id, of no delivery.
void listMissingDelivery(Store& store, Entity e, const std::string& batchId,
                         const std::string& deliveryId);
// batch.outbox: deletes a batch's outbox entry (its record still plans the attempt).
void dropOutboxEntry(Store& store, Entity e, const std::string& batchId);

// quota.week / quota.day / quota.replacements: a counter moved by `delta` with no delivery or
// rejection behind it.
void bumpWeekCounter(Store& store, Entity e, const std::string& commande, const std::string& week,
                     int32_t delta);
void bumpDayCount(Store& store, Entity e, const std::string& commande, const std::string& date,
                  int32_t delta);
void bumpReplacementsOwed(Store& store, Entity e, const std::string& commande, int32_t delta);

// stats.counter: the `recus` of a stats row (its key in the entity's stats family) moved by one
// with no lead behind it; the row is created when missing.
void bumpStatsRecus(Store& store, Entity e, const std::string& statsKey);

// A delivery written with every record a run writes with it: the lead delivered and counted,
// its lead-to-delivery entry, its batch's list, the duplicate index, the quota counters. It
// breaks only the rule it defies: two deliveries of one person to one client within 30 days
// (client.doublon), or one lead twice in one run (lead.run_twice). `d.batch` must exist.
void addDelivery(Store& store, const Delivery& d);

}  // namespace rdz::test
