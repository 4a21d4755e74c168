#include "daemon/service/after-delivery.h"

#include <kj/debug.h>

#include <fmt/format.h>

#include <algorithm>

#include "daemon/domain/calendar.h"
#include "daemon/domain/history.h"
#include "daemon/domain/time.h"
#include "daemon/service/metrics.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"

namespace rdz {

namespace {

std::string afterPrefix(std::string_view prefix) {
  // The last key of a prefix range, for an inclusive compaction range: the prefix followed by
  // bytes above any a key of ours holds.
  return std::string(prefix) + std::string(16, '\xff');
}

// Credits the commande of a delivery that no longer counts (rejected, or dropped by an erasure)
// at `at`, and says how (SPEC §7.1).
Credit creditCommande(Txn& txn, const Delivery& d, Timestamp at) {
  Credit credit = creditFor(d, at);
  if (credit == Credit::WEEK) {
    bool lb = d.pass == PassKind::LB || d.pass == PassKind::LB_FALLBACK;
    std::string date = runDateOf(d);
    addWeekCount(txn, d.entity, d.commande, isoWeekOf(date), -1, lb ? -1 : 0);
    if (dayCount(txn, d.entity, d.commande, date) > 0) addDayCount(txn, d.entity, d.commande, date, -1);
  } else {
    addReplacementsOwed(txn, d.entity, d.commande, 1);
  }
  return credit;
}

}  // namespace

RejectAnswer rejectLead(Txn& txn, std::optional<Entity> scope, const std::string& id,
                        const std::string& reason, Timestamp at, Timestamp now) {
  std::optional<Lead> found;
  for (Entity e : ALL_ENTITIES) {
    KJ_IF_MAYBE(lead, getLead(txn, e, id)) {
      KJ_REQUIRE(!scope || *scope == e, "this token is bound to another entity: lead of",
                 std::string(entityName(e)));
      found = kj::mv(*lead);
    }
  }
  KJ_REQUIRE(found.has_value(), "no such lead", id);
  const Lead& lead = *found;
  std::optional<Delivery> latest = latestDelivery(allDeliveriesOf(txn, id));
  if (auto refusal = rejectionRefusal(lead, latest, reason, at)) {
    // The refusal's text is the whole message (rdzctl prints it as is).
    kj::throwFatalException(
        kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::str(refusal->c_str())));
  }

  Delivery d = *latest;
  d.rejet = reason;
  d.rejeteLe = at;
  putDelivery(txn, d);
  Credit credit = creditCommande(txn, d, at);
  applyStats(txn, {statsOfRejection(d, lead.produit)});

  Lead rejected = lead;
  rejected.statut = Statut::REJECTED;
  putLead(txn, rejected, &lead);
  addHistory(txn, lead.entity, lead.id, history::rejected(now, d, creditName(credit)));
  addHistory(txn, lead.entity, lead.id, history::status(now, Statut::REJECTED));
  return {lead.id, Statut::REJECTED, d.commande, d.client, credit};
}

ErasureOutcome eraseLeads(Txn& txn, const std::vector<Entity>& entities, const std::string& e164,
                          const std::string& oppositionHash, Timestamp now) {
  KJ_REQUIRE(!e164.empty());
  ErasureOutcome outcome;
  for (Entity e : entities) {
    for (const Lead& lead : leadsByPhone(txn, e, e164)) {
      std::vector<std::string> values = personalValues(lead);
      // History details keep no personal value: rewritten in place, same keys.
      std::vector<std::pair<std::string, HistoryEvent>> rewrite;
      txn.scan(e, Family::HISTORY, keys::historyPrefix(lead.id),
               [&](std::string_view key, std::string_view value) {
                 HistoryEvent event = decodeHistoryEvent(value);
                 if (scrubHistory(event, values)) {
                   rewrite.emplace_back(std::string(key), kj::mv(event));
                 }
                 return true;
               });
      for (auto& [key, event] : rewrite) txn.put(e, Family::HISTORY, key, encode(event));

      // Unsent batches no longer carry the lead: its row is dropped, its commande credited.
      std::vector<HistoryEvent> dropped;
      for (Delivery d : allDeliveriesOf(txn, lead.id)) {
        if (!d.rejet.empty()) continue;
        KJ_IF_MAYBE(batch, getBatch(txn, d.entity, d.batch)) {
          if (batch->status == BatchStatus::SENT) continue;
          Batch updated = *batch;
          std::erase(updated.deliveries, d.id);
          if (updated.deliveries.empty()) {
            // Nothing left to send: the batch is done, without an email.
            updated.status = BatchStatus::SENT;
            updated.nextAttempt = std::nullopt;
            updated.responses.push_back(formatIso(now) +
                                        " nothing left to send: every lead was erased (RGPD)");
          }
          putBatch(txn, updated, &*batch);
          countBatch(txn, &*batch, updated);
          d.rejet = std::string(REJET_EFFACE);
          d.rejeteLe = now;
          putDelivery(txn, d);
          Credit credit = creditCommande(txn, d, now);
          applyStats(txn, statsOfDelivery(d, lead.produit, -1));  // never reached the client
          dropped.push_back(history::droppedFromBatch(now, d, creditName(credit)));
        }
      }

      putLead(txn, erased(lead), &lead);
      applyStats(txn, {statsOfErasure(e, now)});
      addHistory(txn, e, lead.id, history::erased(now));
      for (auto& event : dropped) addHistory(txn, e, lead.id, event);
      ++outcome.leads;
      outcome.ranges.push_back({e, Family::LEADS, lead.id, lead.id});
      // Its pool entries held its phone too: the ones it has, and those it had before (the
      // status entries of its new and lb days, the last-delivery entry of each delivery), whose
      // deleted versions may still sit in older files.
      for (Statut pool : {Statut::NEW, Statut::LB}) {
        std::string key = keys::statusKey(pool, lead.recuLe, lead.id);
        outcome.ranges.push_back({e, Family::INDEX, key, key});
      }
      for (const Delivery& d : allDeliveriesOf(txn, lead.id)) {
        std::string key = keys::agingKey(d.at, lead.id);
        outcome.ranges.push_back({e, Family::INDEX, key, key});
      }
      outcome.ranges.push_back(
          {e, Family::HISTORY, keys::historyPrefix(lead.id), afterPrefix(lead.id)});
    }
    deleteDuplicatesOfPhone(txn, e, e164);
    putOpposition(txn, e, oppositionHash, now);
    std::string phone = keys::phonePrefix(e164);
    outcome.ranges.push_back({e, Family::INDEX, phone, afterPrefix(phone)});
    std::string dedup = e164 + '\0';
    outcome.ranges.push_back({e, Family::DEDUP, dedup, afterPrefix(dedup)});
  }
  return outcome;
}

}  // namespace rdz
