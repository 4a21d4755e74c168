#include "daemon/store/lead-state.h"

#include <kj/debug.h>
#include <rocksdb/merge_operator.h>

#include "daemon/store/codec.h"
#include "daemon/store/keys.h"

namespace rdz {

namespace {

constexpr char AGED = 'a';
constexpr char DELIVERED = 'd';

}  // namespace

std::string leadStateChange(bool aged, std::optional<Timestamp> delivered) {
  std::string out;
  if (aged) out.push_back(AGED);
  if (delivered) {
    out.push_back(DELIVERED);
    keys::appendTime(out, *delivered);
  }
  return out;
}

void applyLeadStateChange(std::string_view operand, Lead& lead) {
  while (!operand.empty()) {
    char kind = operand[0];
    operand.remove_prefix(1);
    if (kind == AGED) {
      lead.statut = Statut::LB;
    } else if (kind == DELIVERED) {
      KJ_REQUIRE(operand.size() >= 8, "corrupt lead state change: truncated");
      lead.statut = Statut::DELIVERED;
      lead.nbLivraisons += 1;
      lead.derniereLivraison = keys::readTime(operand.substr(0, 8));
      operand.remove_prefix(8);
    } else {
      KJ_FAIL_REQUIRE("corrupt lead state change: unknown kind", static_cast<int>(kind));
    }
  }
}

namespace {

class LeadStateMerge final : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "rdz.LeadState"; }

  // Total when the record is there: a record or change that cannot be decoded leaves the record
  // as it was (logged; the audit reports the record and its deliveries' counts) instead of
  // failing the merge, which would fail the flush or compaction that meets it and, with it,
  // every later write of the database.
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    if (in.existing_value == nullptr) return false;  // a change of no lead: its reads fail loudly
    std::string_view base(in.existing_value->data(), in.existing_value->size());
    KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() {
                   Lead lead = decodeLead(base);
                   for (const auto& operand : in.operand_list) {
                     applyLeadStateChange(std::string_view(operand.data(), operand.size()), lead);
                   }
                   out->new_value = encode(lead);
                 })) {
      KJ_LOG(ERROR, "a lead's state changes cannot be applied: its record is kept as it was",
             in.key.ToString(), *error);
      out->new_value.assign(base);
    }
    return true;
  }

  // Two changes of one lead in a row are one change: their bytes, in order.
  bool PartialMerge(const rocksdb::Slice&, const rocksdb::Slice& left, const rocksdb::Slice& right,
                    std::string* merged, rocksdb::Logger*) const override {
    merged->assign(left.data(), left.size());
    merged->append(right.data(), right.size());
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> leadStateMergeOperator() {
  static std::shared_ptr<rocksdb::MergeOperator> op = std::make_shared<LeadStateMerge>();
  return op;
}

}  // namespace rdz
