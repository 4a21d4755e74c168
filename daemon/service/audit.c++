#include "daemon/service/audit.h"

#include <fmt/format.h>
#include <kj/debug.h>
#include <kj/thread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/time.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"

namespace rdz {

namespace {

namespace inv = invariant;

// Ids handed out by IdGenerator are 13 characters: held inline, without a heap string.
constexpr size_t ID_LENGTH = 13;
using ShortId = std::array<char, ID_LENGTH>;

std::optional<ShortId> shortId(std::string_view id) {
  if (id.size() != ID_LENGTH) return std::nullopt;
  ShortId out;
  std::memcpy(out.data(), id.data(), ID_LENGTH);
  return out;
}
std::string_view view(const ShortId& id) { return std::string_view(id.data(), id.size()); }

int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }
std::string iso(int64_t us) { return formatIso(Timestamp(Duration(us))); }
std::string iso(std::optional<Timestamp> t) { return t ? formatIso(*t) : "none"; }

// One delivery of an audited lead, for the lead pass (sorted by lead, then time): its checks
// that need the lead (the duplicate index, the duplicate rule) are made there, the leads being
// read in id order, rather than by a random read of the lead per delivery.
struct LeadDelivery {
  ShortId lead;
  ShortId id;
  int64_t at;
  uint32_t client;  // Auditor::clients_
  Entity leadEntity;
  Entity entity;          // the receiving entity, where the delivery is stored
  bool rejectedByClient;  // rejected with a client's reason (not dropped by an erasure)
  bool countOnly;         // stored in an entity not audited: counted in nb_livraisons only
};

// One delivery of a known person, for the duplicate rule: `person` hashes (receiving entity,
// client, produit, phone); equal hashes are checked again on the records before a report.
struct PersonDelivery {
  uint64_t person;
  int64_t at;
  ShortId id;
  Entity entity;
};

// A batch's delivery ids, sorted, each marked once a delivery naming the batch is seen.
struct BatchState {
  BatchStatus status = BatchStatus::PENDING;
  std::optional<Timestamp> nextAttempt;
  uint32_t failures = 0;
  std::vector<std::pair<std::string, bool>> listed;
  bool inOutbox = false;
};

struct WeekRecount {
  uint32_t delivered = 0;
  uint32_t lb = 0;
};

// Per audited entity.
struct EntityState {
  std::unordered_map<std::string, BatchState> batches;
  std::map<std::string, WeekRecount> weeks;            // keys::weekKey -> recount
  std::map<std::string, uint32_t> days;                // keys::dayKey -> recount
  std::map<std::string, uint32_t> replacementCredits;  // commande -> rejections credited so
  KeySetFingerprint expectedIndex;
  KeySetFingerprint expectedLeadIndex;  // the 'L' entries the deliveries imply
};

class Auditor {
 public:
  Auditor(Reader& reader, const AuditOptions& options, const std::atomic<bool>& cancelled)
      : r_(reader), options_(options), cancelled_(cancelled) {
    for (Entity e : options_.entities) inScope_[static_cast<size_t>(e)] = true;
  }

  AuditReport run() {
    for (Entity e : ALL_ENTITIES) {
      if (inScope(e)) loadBatches(e);
    }
    for (Entity e : ALL_ENTITIES) {
      if (inScope(e)) {
        checkDeliveries(e);
        checkLeadIndexOfDeliveries(e);
      } else {
        countDeliveriesOfAuditedLeads(e);
      }
    }
    checkBatchLists();
    std::sort(byLead_.begin(), byLead_.end(), [](const LeadDelivery& a, const LeadDelivery& b) {
      return std::tie(a.leadEntity, a.lead, a.at) < std::tie(b.leadEntity, b.lead, b.at);
    });
    for (Entity e : ALL_ENTITIES) {
      if (!inScope(e)) continue;
      checkLeads(e);
      checkIndex(e);
      checkQuotas(e);
    }
    std::vector<LeadDelivery>().swap(byLead_);
    checkDuplicates();
    return kj::mv(report_);
  }

 private:
  bool inScope(Entity e) const { return inScope_[static_cast<size_t>(e)]; }
  EntityState& state(Entity e) { return states_[static_cast<size_t>(e)]; }

  void tick() {
    if ((++visited_ & 1023) == 0 && cancelled_.load(std::memory_order_relaxed)) {
      kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "the audit was cancelled"));
    }
  }

  void report(std::string_view invariant, std::string key, std::string detail) {
    report_.add(invariant, kj::mv(key), kj::mv(detail));
  }

  // Decodes a stored value, or reports it (record.decode) and returns nullopt.
  template <typename T, typename Decode>
  std::optional<T> decoded(Entity e, Family f, std::string_view key, std::string_view value,
                           Decode decode) {
    std::optional<T> out;
    KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { out = decode(value); })) {
      report(inv::RECORD_DECODE, auditKey(e, familyName(f), key),
             fmt::format("the value cannot be read as a record ({} bytes)", value.size()));
      return std::nullopt;
    }
    return out;
  }

  // A lead by id, or nullopt when it is missing or unreadable (the lead pass reports the latter
  // as record.decode for audited entities; `unreadable` tells them apart).
  std::optional<Lead> leadAt(Entity e, std::string_view id, bool* unreadable = nullptr) {
    std::optional<Lead> out;
    KJ_IF_MAYBE (bytes, r_.get(e, Family::LEADS, id)) {
      KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { out = decodeLead(*bytes); })) {
        if (unreadable != nullptr) *unreadable = true;
        return std::nullopt;
      }
    }
    return out;
  }

  const std::string& weekOf(const std::string& date) {
    auto it = weekOfDate_.find(date);
    if (it == weekOfDate_.end()) it = weekOfDate_.emplace(date, isoWeekOf(date)).first;
    return it->second;
  }

  // ---- batches and the outbox queue ----------------------------------------------------------

  void loadBatches(Entity e) {
    auto& batches = state(e).batches;
    r_.scan(e, Family::BATCHES, "B", [&](std::string_view key, std::string_view value) {
      tick();
      ++report_.checked.batches;
      auto batch = decoded<Batch>(e, Family::BATCHES, key, value, decodeBatch);
      if (!batch) return true;
      std::string where = auditKey(e, "batches", key);
      if (batch->id != key.substr(1) || batch->entity != e) {
        report(
            inv::BATCH_RECORD, where,
            fmt::format("the record holds batch {} of {}", batch->id, entityName(batch->entity)));
      }
      BatchState s;
      s.status = batch->status;
      s.nextAttempt = batch->nextAttempt;
      s.failures = batch->failures;
      for (auto& id : batch->deliveries) s.listed.emplace_back(kj::mv(id), false);
      std::sort(s.listed.begin(), s.listed.end());
      for (size_t i = 1; i < s.listed.size(); ++i) {
        if (s.listed[i].first == s.listed[i - 1].first) {
          report(inv::BATCH_DELIVERY, where,
                 fmt::format("delivery {} is listed twice", s.listed[i].first));
        }
      }
      batches.emplace(std::string(key.substr(1)), kj::mv(s));
      return true;
    });

    r_.scan(e, Family::BATCHES, "O", [&](std::string_view key, std::string_view) {
      tick();
      std::string where = auditKey(e, "batches", key);
      if (key.size() < 1 + 8 + 1) {
        report(inv::BATCH_OUTBOX, where, "not an outbox key");
        return true;
      }
      Timestamp due = keys::readTime(key.substr(1, 8));
      std::string id(key.substr(9));
      auto it = batches.find(id);
      if (it == batches.end()) {
        report(inv::BATCH_OUTBOX, where, fmt::format("an outbox entry of no batch ({})", id));
      } else if (it->second.nextAttempt != due) {
        report(inv::BATCH_OUTBOX, where,
               fmt::format("an outbox entry due {} but batch {} plans its next attempt at {}",
                           formatIso(due), id, iso(it->second.nextAttempt)));
      } else {
        it->second.inOutbox = true;
      }
      return true;
    });

    for (auto& [id, s] : batches) {
      std::string where = auditKey(e, "batches", keys::batchKey(id));
      std::string_view status = batchStatusName(s.status);
      if (s.nextAttempt && !s.inOutbox) {
        report(inv::BATCH_OUTBOX, where,
               fmt::format("{} batch with a next attempt at {} is not in the outbox queue", status,
                           formatIso(*s.nextAttempt)));
      }
      // In the queue iff pending, or failed with retries left (SPEC §5.7; after three days of
      // retries a failed batch waits for `batch resend`).
      bool retriesLeft = retryDelay(s.failures).has_value();
      if (s.status == BatchStatus::PENDING && !s.nextAttempt) {
        report(inv::BATCH_OUTBOX, where, "a pending batch is not in the outbox queue");
      } else if (s.status == BatchStatus::FAILED && retriesLeft && !s.nextAttempt) {
        report(inv::BATCH_OUTBOX, where,
               fmt::format("a failed batch with retries left ({} failures) is not in the outbox "
                           "queue",
                           s.failures));
      } else if (s.status == BatchStatus::SENT && s.nextAttempt) {
        report(inv::BATCH_OUTBOX, where, "a sent batch is still in the outbox queue");
      }
    }
  }

  // Listed deliveries no delivery named the batch for.
  void checkBatchLists() {
    for (Entity e : ALL_ENTITIES) {
      if (!inScope(e)) continue;
      for (auto& [id, s] : state(e).batches) {
        for (auto& [delivery, seen] : s.listed) {
          if (!seen) {
            report(inv::BATCH_DELIVERY, auditKey(e, "batches", keys::batchKey(id)),
                   fmt::format("lists delivery {}, which is missing or names another batch",
                               delivery));
          }
        }
        std::vector<std::pair<std::string, bool>>().swap(s.listed);
      }
    }
  }

  // ---- deliveries ------------------------------------------------------------------------------

  void checkDeliveries(Entity e) {
    EntityState& st = state(e);
    r_.scan(e, Family::DELIVERIES, "D", [&](std::string_view key, std::string_view value) {
      tick();
      ++report_.checked.deliveries;
      auto d = decoded<Delivery>(e, Family::DELIVERIES, key, value, decodeDelivery);
      if (d) checkDelivery(e, st, key, *d);
      return true;
    });
  }

  void checkDelivery(Entity e, EntityState& st, std::string_view key, const Delivery& d) {
    std::string where = auditKey(e, "deliveries", key);
    if (d.id != key.substr(1) || d.entity != e) {
      report(inv::DELIVERY_RECORD, where,
             fmt::format("the record holds delivery {} to {}", d.id, entityName(d.entity)));
    }
    st.expectedLeadIndex.add(keys::deliveryByLeadKey(d.lead, d.id));
    bool erasedFromBatch = d.rejet == "efface";

    // Its batch lists it, unless an erasure dropped it from the unsent batch.
    auto batch = st.batches.find(d.batch);
    if (batch == st.batches.end()) {
      report(inv::DELIVERY_BATCH, where, fmt::format("its batch {} is missing", d.batch));
    } else {
      auto& listed = batch->second.listed;
      auto it = std::lower_bound(
          listed.begin(), listed.end(), d.id,
          [](const auto& entry, const std::string& id) { return entry.first < id; });
      bool isListed = it != listed.end() && it->first == d.id;
      if (isListed) it->second = true;
      if (!isListed && !erasedFromBatch) {
        report(inv::DELIVERY_BATCH, where, fmt::format("its batch {} does not list it", d.batch));
      } else if (isListed && erasedFromBatch) {
        report(inv::DELIVERY_BATCH, where,
               fmt::format("dropped by an erasure, yet still listed in batch {}", d.batch));
      }
    }

    // Quota recount (SPEC §7.1): what still counts, and what was credited as a replacement.
    std::string date = runDateOf(d);
    if (countsInQuota(d)) {
      bool lb = d.pass == PassKind::LB || d.pass == PassKind::LB_FALLBACK;
      WeekRecount& week = st.weeks[keys::weekKey(d.commande, weekOf(date))];
      week.delivered += 1;
      week.lb += lb ? 1 : 0;
      st.days[keys::dayKey(d.commande, date)] += 1;
    }
    if (creditedAsReplacement(d)) st.replacementCredits[d.commande] += 1;

    auto leadId = shortId(d.lead);
    auto id = shortId(d.id);
    if (!leadId || !id) {
      report(inv::DELIVERY_LEAD, where, fmt::format("its lead {} is not a lead id", d.lead));
      return;
    }
    bool rejectedByClient = !d.rejet.empty() && !erasedFromBatch;
    if (inScope(d.leadEntity)) {
      // Checked when the lead pass reaches its lead.
      byLead_.push_back({*leadId, *id, micros(d.at), clientIndex(d.client), d.leadEntity, e,
                         rejectedByClient, false});
      return;
    }
    // A fallback delivery of a lead of an entity not audited: its lead is read here.
    std::optional<Lead> lead = leadAt(d.leadEntity, d.lead);
    if (!lead) {
      report(inv::DELIVERY_LEAD, where,
             fmt::format("its lead {} of {} is missing", d.lead, entityName(d.leadEntity)));
      return;
    }
    checkAgainstLead(e, *id, micros(d.at), d.client, *lead);
  }

  uint32_t clientIndex(const std::string& client) {
    auto [it, added] = clientIndex_.emplace(client, static_cast<uint32_t>(clients_.size()));
    if (added) clients_.push_back(client);
    return it->second;
  }

  // The checks of a delivery that need its lead: the duplicate-index entry, at least as recent,
  // and the delivery's place in the duplicate rule. An erasure deletes the entries of its number
  // in the entities it erases, and puts the number on their opposition lists.
  void checkAgainstLead(Entity e, const ShortId& id, int64_t at, const std::string& client,
                        const Lead& lead) {
    if (lead.efface || lead.telephoneE164.empty()) return;  // no number left to check
    Timestamp when{Duration(at)};
    auto last = lastDeliveryTo(r_, e, lead.telephoneE164, lead.produit, client);
    if ((!last || *last < when) && !opposed(e, lead.telephoneE164)) {
      report(inv::DELIVERY_DEDUP, auditKey(e, "deliveries", keys::deliveryKey(view(id))),
             last ? fmt::format("the duplicate-index entry of client {} is at {}, before the "
                                "delivery at {}",
                                client, formatIso(*last), formatIso(when))
                  : fmt::format("no duplicate-index entry for client {} (lead {}, produit {})",
                                client, lead.id, lead.produit));
    }
    std::string person =
        fmt::format("{}\n{}\n{}\n{}", entitySlug(e), client, lead.produit, lead.telephoneE164);
    byPerson_.push_back({hashBytes(person, 0x243f6a8885a308d3ull), at, id, e});
  }

  bool opposed(Entity e, const std::string& e164) {
    return options_.opposition != nullptr && isOpposed(r_, e, options_.opposition->hash(e164));
  }

  // The other entity's deliveries of audited leads (fallback), counted for nb_livraisons only.
  void countDeliveriesOfAuditedLeads(Entity e) {
    r_.scan(e, Family::DELIVERIES, "D", [&](std::string_view, std::string_view value) {
      tick();
      std::optional<Delivery> d;
      KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { d = decodeDelivery(value); })) {
        return true;  // the other entity's damage: its own audit reports it
      }
      auto lead = shortId(d->lead);
      auto id = shortId(d->id);
      if (inScope(d->leadEntity) && lead && id) {
        byLead_.push_back({*lead, *id, micros(d->at), 0, d->leadEntity, e,
                           !d->rejet.empty() && d->rejet != "efface", true});
      }
      return true;
    });
  }

  // The 'L' entries (lead id, delivery id) are exactly those the deliveries imply.
  void checkLeadIndexOfDeliveries(Entity e) {
    KeySetFingerprint actual;
    r_.scan(e, Family::DELIVERIES, "L", [&](std::string_view key, std::string_view) {
      tick();
      actual.add(key);
      return true;
    });
    if (actual == state(e).expectedLeadIndex) return;
    // Name the entries at fault: each 'L' entry against its delivery, each delivery against
    // its entry.
    r_.scan(e, Family::DELIVERIES, "L", [&](std::string_view key, std::string_view) {
      tick();
      std::string_view lead = key.substr(1, std::min<size_t>(ID_LENGTH, key.size() - 1));
      std::string_view id = key.size() > 1 + ID_LENGTH ? key.substr(1 + ID_LENGTH) : "";
      std::optional<Delivery> d;
      KJ_IF_MAYBE (bytes, r_.get(e, Family::DELIVERIES, keys::deliveryKey(id))) {
        KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { d = decodeDelivery(*bytes); })) {
        }
      }
      if (!d || d->lead != lead) {
        report(inv::DELIVERY_INDEX, auditKey(e, "deliveries", key),
               fmt::format("a lead-to-delivery entry of no delivery {} of lead {}", id, lead));
      }
      return true;
    });
    r_.scan(e, Family::DELIVERIES, "D", [&](std::string_view key, std::string_view value) {
      tick();
      std::optional<Delivery> d;
      KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { d = decodeDelivery(value); })) {
        return true;  // reported as record.decode
      }
      if (r_.get(e, Family::DELIVERIES, keys::deliveryByLeadKey(d->lead, d->id)) == nullptr) {
        report(inv::DELIVERY_INDEX, auditKey(e, "deliveries", key),
               fmt::format("no lead-to-delivery entry (lead {})", d->lead));
      }
      return true;
    });
  }

  // ---- leads
  // -------------------------------------------------------------------------------------

  void checkLeads(Entity e) {
    EntityState& st = state(e);
    // This entity's part of byLead_, walked alongside the leads (both in id order).
    auto next = std::lower_bound(
        byLead_.begin(), byLead_.end(), e,
        [](const LeadDelivery& d, Entity entity) { return d.leadEntity < entity; });
    auto end = std::upper_bound(next, byLead_.end(), e, [](Entity entity, const LeadDelivery& d) {
      return entity < d.leadEntity;
    });
    // Deliveries of leads that sort before the one read have no lead.
    auto leadless = [&](auto until) {
      for (; next != end && until(*next); ++next) {
        if (next->countOnly) continue;
        report(inv::DELIVERY_LEAD,
               auditKey(next->entity, "deliveries", keys::deliveryKey(view(next->id))),
               fmt::format("its lead {} of {} is missing", view(next->lead),
                           entityName(next->leadEntity)));
      }
    };
    r_.scan(e, Family::LEADS, "", [&](std::string_view key, std::string_view value) {
      tick();
      ++report_.checked.leads;
      leadless([&](const LeadDelivery& d) { return view(d.lead) < key; });
      auto first = next;
      while (next != end && view(next->lead) == key) ++next;
      auto lead = decoded<Lead>(e, Family::LEADS, key, value, decodeLead);
      if (lead) checkLead(e, st, key, *lead, first, next);
      return true;
    });
    leadless([](const LeadDelivery&) { return true; });
  }

  void checkLead(Entity e, EntityState& st, std::string_view key, const Lead& lead,
                 std::vector<LeadDelivery>::const_iterator first,
                 std::vector<LeadDelivery>::const_iterator last) {
    std::string where = auditKey(e, "leads", key);
    if (lead.id != key || lead.entity != e) {
      report(inv::LEAD_RECORD, where,
             fmt::format("the record holds lead {} of {}", lead.id, entityName(lead.entity)));
    }
    for (auto& entry : leadIndexEntries(lead)) st.expectedIndex.add(entry.key, entry.value);

    uint32_t count = static_cast<uint32_t>(last - first);
    std::optional<Timestamp> latest;
    bool rejectedByClient = false;
    for (auto it = first; it != last; ++it) {
      latest = Timestamp(Duration(it->at));  // sorted by time: the last one is the latest
      rejectedByClient = rejectedByClient || it->rejectedByClient;
      if (it != first && it->at == (it - 1)->at) {
        report(inv::LEAD_RUN_TWICE, where,
               fmt::format("two deliveries in the run of {}", iso(it->at)));
      }
    }
    for (auto it = first; it != last; ++it) {
      if (!it->countOnly) checkAgainstLead(it->entity, it->id, it->at, clients_[it->client], lead);
    }
    if (lead.nbLivraisons != count) {
      report(
          inv::LEAD_NB_LIVRAISONS, where,
          fmt::format("nb_livraisons is {}, the lead has {} deliveries", lead.nbLivraisons, count));
    }
    if (lead.derniereLivraison != latest) {
      report(inv::LEAD_DERNIERE_LIVRAISON, where,
             fmt::format("derniere_livraison is {}, its latest delivery is {}",
                         iso(lead.derniereLivraison), iso(latest)));
    }
    if (auto wrong = statutAgainstDeliveries(lead.statut, count, rejectedByClient)) {
      report(inv::LEAD_STATUT, where, *wrong);
    }
    if (lead.efface) {
      auto held = personalFieldsHeld(lead);
      if (!held.empty()) {
        std::string names;
        for (auto name : held) names += (names.empty() ? "" : ", ") + std::string(name);
        report(inv::LEAD_EFFACE, where, "erased, yet holds " + names);
      }
    }
  }

  // ---- index entries ----------------------------------------------------------------------------

  void checkIndex(Entity e) {
    KeySetFingerprint actual;
    r_.scan(e, Family::INDEX, "", [&](std::string_view key, std::string_view value) {
      tick();
      actual.add(key, value);
      return true;
    });
    report_.checked.indexEntries += actual.count();
    if (actual == state(e).expectedIndex) return;
    locateIndexFaults(e);
  }

  // The index differs from what the leads imply: name each entry missing, extra or orphan.
  void locateIndexFaults(Entity e) {
    r_.scan(e, Family::LEADS, "", [&](std::string_view key, std::string_view value) {
      tick();
      std::optional<Lead> lead;
      KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { lead = decodeLead(value); })) {
        return true;  // reported as record.decode
      }
      std::string status = keys::statusKey(lead->statut, lead->recuLe, lead->id);
      if (r_.get(e, Family::INDEX, status) == nullptr) {
        report(
            inv::INDEX_MISSING, auditKey(e, "index", status),
            fmt::format("lead {} ({}) is not in its status pool", key, statutName(lead->statut)));
      }
      if (!lead->telephoneE164.empty()) {
        std::string phone =
            keys::phoneKey(lead->telephoneE164, lead->produit, lead->recuLe, lead->id);
        if (r_.get(e, Family::INDEX, phone) == nullptr) {
          report(inv::INDEX_MISSING, auditKey(e, "index", phone),
                 fmt::format("lead {} has no phone index entry", key));
        }
      }
      if (lead->statut == Statut::DELIVERED && lead->derniereLivraison) {
        std::string aging = keys::agingKey(*lead->derniereLivraison, lead->id);
        if (r_.get(e, Family::INDEX, aging) == nullptr) {
          report(inv::INDEX_MISSING, auditKey(e, "index", aging),
                 fmt::format("delivered lead {} has no last-delivery index entry", key));
        }
      }
      return true;
    });
    r_.scan(e, Family::INDEX, "", [&](std::string_view key, std::string_view value) {
      tick();
      std::string where = auditKey(e, "index", key);
      bool unreadable = false;  // the lead is there but reported as record.decode
      // An entry of its lead's state whose value is not the one the lead implies.
      auto checkValue = [&](const Lead& lead) {
        for (auto& entry : leadIndexEntries(lead)) {
          if (entry.key == key && entry.value != value) {
            report(inv::INDEX_VALUE, where,
                   fmt::format("the pool entry of lead {} does not hold its recu_le, "
                               "derniere_livraison, produit, departement and telephone",
                               lead.id));
          }
        }
      };
      if (auto s = keys::parseStatusKey(key)) {
        std::optional<Lead> lead = leadAt(e, s->id, &unreadable);
        if (unreadable) return true;
        if (!lead) {
          report(inv::INDEX_ORPHAN, where, fmt::format("a status entry of no lead {}", s->id));
        } else if (static_cast<uint8_t>(lead->statut) != s->statut || lead->recuLe != s->recuLe) {
          report(inv::INDEX_EXTRA, where,
                 fmt::format("a status entry of lead {} that is not its statut and recu_le "
                             "({}, {})",
                             s->id, statutName(lead->statut), formatIso(lead->recuLe)));
        } else {
          checkValue(*lead);
        }
      } else if (auto p = keys::parsePhoneKey(key)) {
        std::optional<Lead> lead = leadAt(e, p->id, &unreadable);
        if (unreadable) return true;
        if (!lead) {
          report(inv::INDEX_ORPHAN, where, fmt::format("a phone entry of no lead {}", p->id));
        } else if (lead->telephoneE164 != p->e164 || lead->produit != p->produit ||
                   lead->recuLe != p->recuLe) {
          report(inv::INDEX_EXTRA, where,
                 fmt::format("a phone entry of lead {} that is not its phone, produit and "
                             "recu_le",
                             p->id));
        }
      } else if (auto a = keys::parseAgingKey(key)) {
        std::optional<Lead> lead = leadAt(e, a->id, &unreadable);
        if (unreadable) return true;
        if (!lead) {
          report(inv::INDEX_ORPHAN, where,
                 fmt::format("a last-delivery entry of no lead {}", a->id));
        } else if (lead->statut != Statut::DELIVERED ||
                   lead->derniereLivraison != a->derniereLivraison) {
          report(inv::INDEX_EXTRA, where,
                 fmt::format("a last-delivery entry of lead {} that is not delivered then",
                             a->id));
        } else {
          checkValue(*lead);
        }
      } else {
        report(inv::INDEX_ORPHAN, where, "not an index key");
      }
      return true;
    });
  }

  // ---- quotas
  // ------------------------------------------------------------------------------------

  void checkQuotas(Entity e) {
    EntityState& st = state(e);
    std::map<std::string, uint32_t> owed, served;  // by commande
    r_.scan(e, Family::QUOTAS, "", [&](std::string_view key, std::string_view value) {
      tick();
      ++report_.checked.quotaCounters;
      std::string where = auditKey(e, "quotas", key);
      auto q = keys::parseQuotaKey(key);
      if (!q) {
        report(inv::RECORD_DECODE, where, "not a quota counter key");
        return true;
      }
      std::string k(key);
      if (q->kind == 'W') {
        WeekCount stored = decodeWeekCount(value);
        WeekRecount expected;
        if (auto it = st.weeks.find(k); it != st.weeks.end()) {
          expected = it->second;
          st.weeks.erase(it);
        }
        if (stored.delivered != expected.delivered || stored.lb != expected.lb) {
          report(inv::QUOTA_WEEK, where,
                 fmt::format("commande {} week {}: counters {} delivered, {} LB; the deliveries "
                             "count {} and {}",
                             q->commande, q->period, stored.delivered, stored.lb,
                             expected.delivered, expected.lb));
        }
        served[q->commande] += stored.replacements;
      } else if (q->kind == 'D') {
        uint32_t stored = decodeQuotaCount(value);
        uint32_t expected = 0;
        if (auto it = st.days.find(k); it != st.days.end()) {
          expected = it->second;
          st.days.erase(it);
        }
        if (stored != expected) {
          report(inv::QUOTA_DAY, where,
                 fmt::format("commande {} on {}: counter {}, the deliveries count {}", q->commande,
                             q->period, stored, expected));
        }
      } else {
        owed[q->commande] = decodeQuotaCount(value);
      }
      return true;
    });
    for (auto& [key, expected] : st.weeks) {
      auto q = keys::parseQuotaKey(key);
      report(
          inv::QUOTA_WEEK, auditKey(e, "quotas", key),
          fmt::format("commande {} week {}: no counter; the deliveries count {} delivered, "
                      "{} LB",
                      q ? q->commande : "?", q ? q->period : "?", expected.delivered, expected.lb));
    }
    for (auto& [key, expected] : st.days) {
      auto q = keys::parseQuotaKey(key);
      report(inv::QUOTA_DAY, auditKey(e, "quotas", key),
             fmt::format("commande {} on {}: no counter; the deliveries count {}",
                         q ? q->commande : "?", q ? q->period : "?", expected));
    }
    // Replacements owed + served = rejections credited as replacements (SPEC §7.1).
    std::map<std::string, std::array<uint32_t, 3>> replacements;  // owed, served, credited
    for (auto& [c, n] : owed) replacements[c][0] = n;
    for (auto& [c, n] : served) replacements[c][1] = n;
    for (auto& [c, n] : st.replacementCredits) replacements[c][2] = n;
    for (auto& [commande, n] : replacements) {
      if (n[0] + n[1] != n[2]) {
        report(inv::QUOTA_REPLACEMENTS, auditKey(e, "quotas", keys::owedKey(commande)),
               fmt::format("commande {}: {} replacements owed and {} served, but {} rejections "
                           "credited as replacements",
                           commande, n[0], n[1], n[2]));
      }
    }
    st.weeks.clear();
    st.days.clear();
  }

  // ---- the duplicate rule ---------------------------------------------------------------------

  struct Person {
    std::string client, produit, e164;
    bool operator<(const Person& o) const {
      return std::tie(client, produit, e164) < std::tie(o.client, o.produit, o.e164);
    }
  };

  // No client received one (phone, produit) twice within the window (SPEC §5.3; rejected
  // deliveries count). Sorted by person hash then time, a violation is two neighbours of one
  // hash closer than the window; the records are read again to compare the persons exactly.
  void checkDuplicates() {
    std::sort(byPerson_.begin(), byPerson_.end(),
              [](const PersonDelivery& a, const PersonDelivery& b) {
                return std::tie(a.person, a.at) < std::tie(b.person, b.at);
              });
    const int64_t window = options_.dedupWindow.count();
    for (size_t begin = 0; begin < byPerson_.size();) {
      size_t end = begin + 1;
      bool close = false;
      while (end < byPerson_.size() && byPerson_[end].person == byPerson_[begin].person) {
        close = close || byPerson_[end].at - byPerson_[end - 1].at < window;
        ++end;
      }
      if (close) checkPersonGroup(begin, end);
      begin = end;
    }
    std::vector<PersonDelivery>().swap(byPerson_);
  }

  void checkPersonGroup(size_t begin, size_t end) {
    // (entity, person) -> deliveries in time order
    std::map<std::pair<Entity, Person>, std::vector<std::pair<int64_t, Delivery>>> persons;
    for (size_t i = begin; i < end; ++i) {
      tick();
      const PersonDelivery& p = byPerson_[i];
      KJ_IF_MAYBE (d, getDelivery(r_, p.entity, view(p.id))) {
        std::optional<Lead> lead = leadAt(d->leadEntity, d->lead);
        if (!lead) continue;
        persons[{p.entity, {d->client, lead->produit, lead->telephoneE164}}].emplace_back(
            p.at, kj::mv(*d));
      }
    }
    for (auto& [person, deliveries] : persons) {
      for (size_t i = 1; i < deliveries.size(); ++i) {
        auto& [at0, d0] = deliveries[i - 1];
        auto& [at1, d1] = deliveries[i];
        if (at1 - at0 >= options_.dedupWindow.count()) continue;
        report(
            inv::CLIENT_DOUBLON, auditKey(person.first, "deliveries", keys::deliveryKey(d1.id)),
            fmt::format(
                "client {} received one person for produit {} twice within {} days: "
                "lead {} (delivery {}, run {}) and lead {} (delivery {}, run {})",
                d1.client, person.second.produit,
                std::chrono::duration_cast<std::chrono::hours>(options_.dedupWindow).count() / 24,
                d0.lead, d0.id, d0.run, d1.lead, d1.id, d1.run));
      }
    }
  }

  Reader& r_;
  const AuditOptions& options_;
  const std::atomic<bool>& cancelled_;
  std::array<bool, 2> inScope_{};
  std::array<EntityState, 2> states_;
  std::vector<LeadDelivery> byLead_;
  std::vector<PersonDelivery> byPerson_;
  std::unordered_map<std::string, std::string> weekOfDate_;
  std::vector<std::string> clients_;  // the clients deliveries name, interned
  std::unordered_map<std::string, uint32_t> clientIndex_;
  uint64_t visited_ = 0;
  AuditReport report_;
};

constexpr int AUDIT_NICE = 10;

// One audit at a time in this process (rdzd has one store): a second would double the memory
// and the reads for the same answer.
std::atomic<bool> auditRunning{false};

}  // namespace

AuditReport auditStore(Reader& snapshot, const AuditOptions& options,
                       const std::atomic<bool>& cancelled) {
  AuditReport report = Auditor(snapshot, options, cancelled).run();
  // SPEC §7.5: the stats counters match a recount from the records. The recount covers both
  // entities (a fallback delivery moves counters of both); only the audited ones are reported.
  // The recount reads every lead and delivery: with a record that cannot be read (already
  // reported as record.decode) it has nothing to compare, and is left out.
  if (cancelled.load()) kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "audit cancelled"));
  bool unreadable = std::any_of(report.violations.begin(), report.violations.end(), [](auto& v) {
    return v.invariant == invariant::RECORD_DECODE;
  });
  if (unreadable) return report;
  for (const StatsMismatch& m : compareStats(storedStats(snapshot), recountStats(snapshot))) {
    if (std::find(options.entities.begin(), options.entities.end(), m.entity) ==
        options.entities.end()) {
      continue;
    }
    report.add(invariant::STATS_COUNTER, fmt::format("{}.stats/{}", entitySlug(m.entity), m.key),
               m.detail);
  }
  return report;
}

kj::Promise<kj::Own<AuditReport>> auditOnWorkerThread(Store& store, AuditOptions options) {
  bool idle = false;
  KJ_REQUIRE(auditRunning.compare_exchange_strong(idle, true),
             "an audit is already running; run it again once it is done");
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto paf = kj::newPromiseAndCrossThreadFulfiller<kj::Own<AuditReport>>();
  auto thread = kj::heap<kj::Thread>(
      [&store, options = kj::mv(options), cancelled, fulfiller = kj::mv(paf.fulfiller)]() mutable {
        // Below the writer and the event loop when the cores are busy: ingestion and runs first,
        // the audit takes what is left (Linux: a thread's own nice value).
        if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), AUDIT_NICE) != 0) {
          // Not fatal: the audit then competes as an equal.
          KJ_LOG(WARNING, "audit: cannot lower the thread's priority", strerror(errno));
        }
        kj::Own<AuditReport> report;
        auto error = kj::runCatchingExceptions([&]() {
          auto snapshot = store.snapshot();  // may wait for an erasure's purge (Store::snapshot)
          report = kj::heap(auditStore(*snapshot, options, *cancelled));
        });  // the snapshot is released here
        auditRunning = false;
        KJ_IF_MAYBE (e, error) {
          fulfiller->reject(kj::mv(*e));
        } else {
          fulfiller->fulfill(kj::mv(report));
        }
      });
  // Dropped before the audit ends (the caller went away, rdzd stops): cancel it, then join.
  struct Worker {
    std::shared_ptr<std::atomic<bool>> cancelled;
    kj::Own<kj::Thread> thread;
    ~Worker() noexcept(false) {
      cancelled->store(true);
      thread = nullptr;
    }
  };
  auto worker = kj::heap<Worker>();
  worker->cancelled = kj::mv(cancelled);
  worker->thread = kj::mv(thread);
  return paf.promise.attach(kj::mv(worker));
}

}  // namespace rdz
