// The audit (SPEC §7.5): what it reports, the names of the invariants it checks, and the pure
// rules a record is held to. Pure: the service reads the records (daemon/service/audit.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"

namespace rdz {

// The invariants, by the stable name a violation carries (scripts match on them).
namespace invariant {
// Leads and their index entries (SPEC §3.3, §10).
constexpr char RECORD_DECODE[] = "record.decode";  // a value that is not its record
constexpr char LEAD_RECORD[] = "lead.record";      // key, id and entity disagree
constexpr char INDEX_MISSING[] = "index.missing";  // a lead without its status/phone entry
constexpr char INDEX_EXTRA[] = "index.extra";      // an entry not of its lead's state
constexpr char INDEX_ORPHAN[] = "index.orphan";    // an entry of no lead
constexpr char INDEX_VALUE[] = "index.value";      // a pool entry not holding its lead's fields
constexpr char LEAD_STATUT[] = "lead.statut";      // statut against the deliveries
constexpr char LEAD_NB_LIVRAISONS[] = "lead.nb_livraisons";
constexpr char LEAD_DERNIERE_LIVRAISON[] = "lead.derniere_livraison";
constexpr char LEAD_EFFACE[] = "lead.efface";        // erased, yet a personal field is held
constexpr char LEAD_RUN_TWICE[] = "lead.run_twice";  // two deliveries of one lead in one run
// Deliveries (SPEC §5.7).
constexpr char DELIVERY_RECORD[] = "delivery.record";
constexpr char DELIVERY_LEAD[] = "delivery.lead";    // its lead is missing
constexpr char DELIVERY_INDEX[] = "delivery.index";  // lead-to-delivery entry missing/orphan
constexpr char DELIVERY_BATCH[] = "delivery.batch";  // its batch is missing or leaves it out
constexpr char DELIVERY_DEDUP[] = "delivery.dedup";  // no duplicate-index entry as recent
constexpr char CLIENT_DOUBLON[] = "client.doublon";  // one person twice to a client, < 30 d
// Quotas (SPEC §4, §7.1).
constexpr char QUOTA_WEEK[] = "quota.week";
constexpr char QUOTA_DAY[] = "quota.day";
constexpr char QUOTA_REPLACEMENTS[] = "quota.replacements";
// Batches and the outbox (SPEC §5.7).
constexpr char BATCH_RECORD[] = "batch.record";
constexpr char BATCH_DELIVERY[] = "batch.delivery";  // lists a delivery that is not its own
constexpr char BATCH_OUTBOX[] = "batch.outbox";      // in the queue iff pending or failed

constexpr char STATS_COUNTER[] = "stats.counter";  // a stats row differs from the recount
}  // namespace invariant

struct AuditViolation {
  std::string invariant;  // one of invariant::*
  std::string key;        // the record's family and key, printable (auditKey)
  std::string detail;     // for a person; ids, never personal values
  bool operator==(const AuditViolation&) const = default;
};

struct AuditCounts {
  uint64_t leads = 0;
  uint64_t indexEntries = 0;
  uint64_t deliveries = 0;
  uint64_t batches = 0;
  uint64_t quotaCounters = 0;
};

// At most this many violations are kept in a report; the total counts them all.
constexpr size_t MAX_AUDIT_VIOLATIONS = 1000;

struct AuditReport {
  AuditCounts checked;
  std::vector<AuditViolation> violations;  // the first MAX_AUDIT_VIOLATIONS found
  uint64_t violationsTotal = 0;
  bool ok() const { return violationsTotal == 0; }
  // Counts the violation, and keeps it while there is room.
  void add(std::string_view invariant, std::string key, std::string detail);
};

// A key as text: printable ASCII as is, every other byte (and '\') as \xHH.
std::string printableKey(std::string_view bytes);
// "zr7.leads/01J…": a record's family and printable key, as violations name it.
std::string auditKey(Entity e, std::string_view family, std::string_view key);

// Whether a delivery still counts in its commande's week and day counters (SPEC §7.1): not
// rejected, or rejected (or erased from an unsent batch) in a later week than its run's, when
// the commande was owed a replacement instead.
bool creditedAsReplacement(const Delivery& d);
bool countsInQuota(const Delivery& d);

// What is wrong with a lead's statut given its deliveries (count, and whether one of them was
// rejected by its client), or nullopt: `new` and `invalid` leads have none, `delivered` and
// `rejected` ones at least one, and a `rejected` lead has a rejected delivery.
std::optional<std::string> statutAgainstDeliveries(Statut statut, uint32_t deliveries,
                                                   bool rejectedByClient);

// A set of byte strings summed into 128 bits (two independent 64-bit hashes, added): two sets
// with equal fingerprints are equal but with a chance of about 2^-128, so a family's keys can be
// compared with the keys its records imply without holding either set. Not a defence against
// keys crafted to collide (keys are written by rdzd).
class KeySetFingerprint {
 public:
  // One entry, its value taken into account (two sets with the same keys but one value differing
  // differ).
  void add(std::string_view key, std::string_view value = {});
  uint64_t count() const { return count_; }
  bool operator==(const KeySetFingerprint&) const = default;

 private:
  uint64_t low_ = 0;
  uint64_t high_ = 0;
  uint64_t count_ = 0;
};

// A 64-bit hash of `bytes` (seeded); stable within a process, not across versions.
uint64_t hashBytes(std::string_view bytes, uint64_t seed);

}  // namespace rdz
