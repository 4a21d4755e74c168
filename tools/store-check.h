// A read-only consistency check of an RDZ database (docs/FAULTS.md): what the two promises
// require of the stored state, checked after every cycle of a fault campaign.
//
// Run it on a copy (`rdzctl backup DIR`, an online checkpoint) or on the data dir with rdzd
// stopped: opening the database replays its WAL like rdzd's start does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/store/store.h"

namespace rdz {

struct StoreCheckReport {
  uint64_t leads = 0;
  uint64_t deliveries = 0;
  uint64_t batches = 0;
  std::vector<std::string> violations;  // one line each, naming ids (never personal data)
};

// Checks, for both entities:
// - every lead has exactly one status-pool entry (S index), of its own statut, and its phone
//   index entry; every pool entry names an existing lead of that statut (no lead in two pools);
// - every delivery names an existing lead, whose statut is delivered or lb, and an existing batch
//   that lists it; its lead-to-delivery entry exists;
// - the duplicate index has each delivery's (phone, produit, client) at a time >= the delivery's;
// - no lead is delivered twice in one run, and no client receives one (phone, produit) twice
//   within `dedupDays` (rejected deliveries included: the client has seen the person);
// - every batch's deliveries exist and name that batch;
// - the stats counters (SPEC §7.3), once rdzd has built them, match a recount from the records.
StoreCheckReport checkStore(Store& store, int dedupDays = 30);

}  // namespace rdz
