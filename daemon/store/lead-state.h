// A run changes three fields of each lead it touches — statut, nb_livraisons,
// derniere_livraison — and nothing else. Rather than rewrite each whole record (a lead is ~700
// bytes; a run at a million leads touches most of them), it adds to the record a few-byte
// change that RocksDB applies when the record is read, and folds into it when it compacts the
// file (a merge operator on the leads families, set by familyOptions). Every reader of a lead
// sees the record with its changes applied; nothing else in the store knows they exist.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rocksdb {
class MergeOperator;
}

namespace rdz {

// The change a run makes to one lead: aged to `lb` (SPEC §5.1), then, when `delivered` is set,
// delivered at that time (statut `delivered`, one more delivery, derniere_livraison).
std::string leadStateChange(bool aged, std::optional<Timestamp> delivered);
// Applies the changes of `operand` (leadStateChange, or several of them concatenated) to `lead`.
// Throws on bytes leadStateChange did not write.
void applyLeadStateChange(std::string_view operand, Lead& lead);

// The merge operator of the leads families: the stored lead with each change applied in order.
std::shared_ptr<rocksdb::MergeOperator> leadStateMergeOperator();

}  // namespace rdz
