// The audit (SPEC §7.5) as rdzd runs it: every invariant of the stored state checked on one
// consistent snapshot, on a worker thread, while ingestion and runs go on.
//
// What is checked, by invariant name (daemon/domain/audit.h), for each entity audited:
// - leads: key, id and entity agree; exactly the index entries of the lead's statut, recu_le
//   and phone (index.missing / index.extra / index.orphan), the pool entries holding the lead's
//   pool fields (index.value); nb_livraisons and
//   derniere_livraison equal the count and latest time of its deliveries (both entities'
//   families); its statut fits its deliveries; no two deliveries in one run; an erased lead
//   holds no personal field;
// - deliveries (in the receiving entity): the lead exists; the lead-to-delivery entry exists
//   and none is left without its delivery; the batch exists and lists it (unless an erasure
//   dropped it from the unsent batch); the duplicate-index entry of (phone, produit, client) is
//   at least as recent (an erased person's entries are deleted on purpose: skipped when the lead
//   is erased or the number is on the receiving entity's opposition list); no client received
//   one (phone, produit) twice within the duplicate window;
// - quotas: each week's delivered and LB counters and each day's count equal the recount of the
//   deliveries that still count (SPEC §7.1 credits), and replacements owed + served equal the
//   rejections credited as replacements;
// - batches: each listed delivery is the batch's own; a batch has an outbox entry iff it has a
//   next attempt, at that time, which it has iff it is pending, or failed with retries left.
// - stats: every counter row of the audited entities equals the recount from the records
//   (stats.counter; daemon/store/stats.h's compareStats(storedStats, recountStats)).
//
// Memory: leads are read one at a time. Held for the whole audit: about 120 bytes per delivery
// (two sorted arrays and each batch's list of ids), the quota recount (commandes × weeks and
// days) — never a set of leads. Deliveries are checked against their lead when the lead pass
// reads it (both in lead id order), not by a random read per delivery. Index entries and
// lead-to-delivery entries are compared as 128-bit fingerprints of key sets (KeySetFingerprint);
// only when they differ is the family read again, entry by entry, to name the keys at fault.
#pragma once

#include <kj/async.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "daemon/domain/audit.h"
#include "daemon/service/opposition.h"
#include "daemon/store/store.h"

namespace rdz {

struct AuditOptions {
  // The entities audited: both, or the one an entity-bound admin's token is bound to. A
  // delivery to an audited entity's client of the other entity's lead (fallback) reads that
  // lead to check the link; the other entity's deliveries of audited leads are read only to
  // count them in nb_livraisons. Nothing of the other entity is reported.
  std::vector<Entity> entities = {std::begin(ALL_ENTITIES), std::end(ALL_ENTITIES)};
  Duration dedupWindow = std::chrono::hours(24 * 30);  // RunSettings::dedupWindow
  // The opposition list's hash, to recognise a number erased in the receiving entity. Null:
  // deliveries whose duplicate-index entry an erasure deleted are reported, unless their lead is
  // erased.
  const OppositionKey* opposition = nullptr;
};

// Checks every invariant on `snapshot`, which must not change while it runs (Store::snapshot(),
// or a store nobody writes to). Throws (DISCONNECTED) soon after `cancelled` becomes true.
AuditReport auditStore(Reader& snapshot, const AuditOptions& options,
                       const std::atomic<bool>& cancelled);

// Takes a snapshot of `store` and audits it on a thread of its own; the promise resolves on the
// calling event loop. One audit at a time per process: a second one is refused while the first
// runs. Dropping the promise cancels the audit and waits for its thread (a few ms).
kj::Promise<kj::Own<AuditReport>> auditOnWorkerThread(Store& store, AuditOptions options);

}  // namespace rdz
