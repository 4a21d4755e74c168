#include "tools/store-check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "daemon/domain/time.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"

namespace rdz {

namespace {

// Key layouts of ARCHITECTURE.md ("Keys"): S statut(1) recu_le(8) id; P e164 \0 produit \0
// recu_le(8) id; D id; L lead-id delivery-id (ids are 13 characters).
constexpr size_t ID_LENGTH = 13;

std::string leadRef(Entity e, std::string_view id) {
  return fmt::format("{}:{}", entitySlug(e), id);
}

}  // namespace

StoreCheckReport checkStore(Store& store, int dedupDays) {
  StoreCheckReport report;
  auto violation = [&](std::string what) { report.violations.push_back(std::move(what)); };
  const auto window = std::chrono::hours(24) * dedupDays;

  std::map<std::string, Lead> leads;  // leadRef -> lead
  for (Entity e : ALL_ENTITIES) {
    store.scan(e, Family::LEADS, "", [&](std::string_view key, std::string_view value) {
      Lead lead = decodeLead(value);
      if (lead.id != key || lead.entity != e) {
        violation(fmt::format("lead record {} holds id {} of entity {}", leadRef(e, key), lead.id,
                              entitySlug(lead.entity)));
      }
      leads.emplace(leadRef(e, key), std::move(lead));
      ++report.leads;
      return true;
    });

    // Status pools: one entry per lead, of its statut.
    std::map<std::string, int> poolEntries;
    store.scan(e, Family::INDEX, "S", [&](std::string_view key, std::string_view) {
      if (key.size() != 1 + 1 + 8 + ID_LENGTH) {
        violation(fmt::format("{}: malformed status index key of {} bytes", entitySlug(e),
                              key.size()));
        return true;
      }
      auto statut = static_cast<Statut>(static_cast<uint8_t>(key[1]));
      std::string ref = leadRef(e, key.substr(10));
      ++poolEntries[ref];
      auto it = leads.find(ref);
      if (it == leads.end()) {
        violation(fmt::format("status index ({}) names a missing lead {}", statutName(statut), ref));
      } else if (it->second.statut != statut) {
        violation(fmt::format("lead {} is {} but sits in the {} pool", ref,
                              statutName(it->second.statut), statutName(statut)));
      } else if (keys::readTime(key.substr(2, 8)) != it->second.recuLe) {
        violation(fmt::format("lead {}: status index entry with another recu_le", ref));
      }
      return true;
    });
    for (auto& [ref, lead] : leads) {
      if (lead.entity != e) continue;
      int n = poolEntries.count(ref) ? poolEntries[ref] : 0;
      if (n != 1) violation(fmt::format("lead {} has {} status index entries", ref, n));
      if (!lead.telephoneE164.empty() &&
          store.get(e, Family::INDEX,
                    keys::phoneKey(lead.telephoneE164, lead.produit, lead.recuLe, lead.id)) ==
              nullptr) {
        violation(fmt::format("lead {} has no phone index entry", ref));
      }
    }
  }

  // Deliveries, in the receiving entity.
  std::map<std::pair<std::string, std::string>, int> perLeadAndRun;  // (leadRef, run)
  // (client entity, client, e164, produit) -> delivery times
  std::map<std::tuple<Entity, std::string, std::string, std::string>,
           std::vector<std::pair<Timestamp, std::string>>>
      perPerson;
  std::map<std::string, Batch> batches;  // entity:id -> batch
  for (Entity e : ALL_ENTITIES) {
    store.scan(e, Family::BATCHES, "B", [&](std::string_view key, std::string_view value) {
      batches.emplace(leadRef(e, key.substr(1)), decodeBatch(value));
      ++report.batches;
      return true;
    });
  }
  for (Entity e : ALL_ENTITIES) {
    std::vector<Delivery> deliveries;
    store.scan(e, Family::DELIVERIES, "D", [&](std::string_view, std::string_view value) {
      deliveries.push_back(decodeDelivery(value));
      return true;
    });
    for (auto& d : deliveries) {
      ++report.deliveries;
      std::string where = fmt::format("delivery {}:{} (lead {}, run {}, client {})",
                                      entitySlug(e), d.id, leadRef(d.leadEntity, d.lead), d.run,
                                      d.client);
      if (d.entity != e) violation(where + ": stored in the other entity");
      if (store.get(e, Family::DELIVERIES, "L" + d.lead + d.id) == nullptr) {
        violation(where + ": no lead-to-delivery entry");
      }
      auto b = batches.find(leadRef(e, d.batch));
      if (b == batches.end()) {
        violation(where + ": its batch " + d.batch + " is missing");
      } else if (std::find(b->second.deliveries.begin(), b->second.deliveries.end(), d.id) ==
                 b->second.deliveries.end()) {
        violation(where + ": its batch " + d.batch + " does not list it");
      }
      if (++perLeadAndRun[{leadRef(d.leadEntity, d.lead), d.run}] == 2) {
        violation(fmt::format("lead {} delivered twice in run {}", leadRef(d.leadEntity, d.lead),
                              d.run));
      }
      auto l = leads.find(leadRef(d.leadEntity, d.lead));
      if (l == leads.end()) {
        violation(where + ": its lead is missing");
        continue;
      }
      const Lead& lead = l->second;
      if (lead.statut != Statut::DELIVERED && lead.statut != Statut::LB &&
          lead.statut != Statut::REJECTED) {
        violation(where + ": its lead is " + std::string(statutName(lead.statut)));
      }
      auto last = lastDeliveryTo(store, e, lead.telephoneE164, lead.produit, d.client);
      if (!last) {
        violation(where + ": no duplicate-index entry");
      } else if (*last < d.at) {
        violation(fmt::format("{}: duplicate-index entry at {} is older than the delivery at {}",
                              where, formatIso(*last), formatIso(d.at)));
      }
      perPerson[{e, d.client, lead.telephoneE164, lead.produit}].push_back(
          {d.at, leadRef(d.leadEntity, d.lead) + " in run " + d.run});
    }
  }
  for (auto& [person, times] : perPerson) {
    std::sort(times.begin(), times.end());
    for (size_t i = 1; i < times.size(); ++i) {
      if (times[i].first - times[i - 1].first < window) {
        violation(fmt::format("client {} received one (phone, produit {}) twice within {} days: "
                              "{} and {}",
                              std::get<1>(person), std::get<3>(person), dedupDays,
                              times[i - 1].second, times[i].second));
      }
    }
  }
  for (auto& [ref, batch] : batches) {
    for (auto& id : batch.deliveries) {
      KJ_IF_MAYBE(d, getDelivery(store, batch.entity, id)) {
        if (d->batch != batch.id) violation("batch " + ref + " lists delivery " + id + " of another batch");
      } else {
        violation("batch " + ref + " lists a missing delivery " + id);
      }
    }
  }
  // The stats counters were written in the same atomic writes as the changes they count.
  if (store.getSystem(keys::STATS_BUILT_KEY) != nullptr) {
    for (auto& m : compareStats(storedStats(store), recountStats(store))) {
      violation(fmt::format("stats counters of {} {} differ from a recount: {}",
                            entityName(m.entity), m.key, m.detail));
    }
  }
  return report;
}

}  // namespace rdz
