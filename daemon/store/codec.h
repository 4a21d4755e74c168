// Conversions between the domain's plain values and the schema's structs, and the byte form
// stored in RocksDB (an unpacked single-segment Cap'n Proto message). The only place that
// knows both representations.
#pragma once

#include <string>
#include <string_view>

#include "daemon/domain/audit.h"
#include "daemon/domain/allocation.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/explain.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/stats.h"
#include "daemon/domain/types.h"
#include "daemon/domain/users.h"
#include "schema/rdz.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

namespace rdz {

schema::Entity toCapnp(Entity e);
Entity fromCapnp(schema::Entity e);
schema::Statut toCapnp(Statut s);
Statut fromCapnp(schema::Statut s);

void toCapnp(const Lead& lead, schema::Lead::Builder out);
Lead fromCapnp(schema::Lead::Reader in);
void toCapnp(const HistoryEvent& event, schema::HistoryEvent::Builder out);
HistoryEvent fromCapnp(schema::HistoryEvent::Reader in);
void toCapnp(const Client& client, schema::Client::Builder out);
Client fromCapnp(schema::Client::Reader in);
void toCapnp(const Commande& commande, schema::Commande::Builder out);
Commande fromCapnp(schema::Commande::Reader in);
void toCapnp(const Produit& produit, schema::Produit::Builder out);
Produit fromCapnp(schema::Produit::Reader in);
void toCapnp(const Delivery& delivery, schema::Delivery::Builder out);
Delivery fromCapnp(schema::Delivery::Reader in);
void toCapnp(const Batch& batch, schema::Batch::Builder out);
Batch fromCapnp(schema::Batch::Reader in);
void toCapnp(const RunRecord& run, schema::RunSummary::Builder out);
RunRecord fromCapnp(schema::RunSummary::Reader in);
void toCapnp(const RunTrace& trace, schema::RunTrace::Builder out);
RunTrace fromCapnp(schema::RunTrace::Reader in);
// Replies only (never stored).
void toCapnp(const Explanation& explanation, schema::Explanation::Builder out);
// Counts must fit (KJ_REQUIRE: 0 ≤ count < 2^32); `date` is left unset.
void toCapnp(const DayCounters& counters, schema::StatsDay::Builder out);
DayCounters fromCapnp(schema::StatsDay::Reader in);
void toCapnp(const RunStats& run, schema::RunStats::Builder out);
RunStats fromCapnp(schema::RunStats::Reader in);
// A user as the RPC shows it: without its password hash.
void toCapnp(const User& user, schema::User::Builder out);
// name, role, entity, actif, cree_le; no password hash.
User fromCapnp(schema::User::Reader in);
void toCapnp(const Submission& fields, capnp::List<schema::Field>::Builder out);
void toCapnp(const AuditReport& report, schema::AuditReport::Builder out);
Submission fromCapnp(capnp::List<schema::Field>::Reader in);

// Value bytes of a record. decode* throw (KJ_FAIL_ASSERT) on corrupt bytes.
std::string encode(const Lead& value);
std::string encode(const HistoryEvent& value);
std::string encode(const Client& value);
std::string encode(const Commande& value);
std::string encode(const Produit& value);
std::string encode(const Delivery& value);
std::string encode(const Batch& value);
std::string encode(const RunRecord& value);
std::string encode(const RunTrace& value);
std::string encode(const DayCounters& value);
std::string encode(const RunStats& value);
Lead decodeLead(std::string_view bytes);
// Only what a run's allocation reads of a lead (no personal field but the phone).
PoolLead decodePoolLead(std::string_view bytes);
// The value of a lead's pool entry in the index (records.h, leadIndexEntries): what a run reads
// of the lead but its id, entity and statut, which the entry's key and family give. A few dozen
// bytes, so a run reads its pools by range instead of one lead record at a time.
std::string encodePoolEntry(const PoolLead& lead);
// Fills `lead`'s fields but id, entity and statut; throws on bytes encodePoolEntry did not write.
void decodePoolEntry(std::string_view bytes, PoolLead& lead);
HistoryEvent decodeHistoryEvent(std::string_view bytes);
Client decodeClient(std::string_view bytes);
Commande decodeCommande(std::string_view bytes);
Produit decodeProduit(std::string_view bytes);
Delivery decodeDelivery(std::string_view bytes);
Batch decodeBatch(std::string_view bytes);
RunRecord decodeRun(std::string_view bytes);
RunTrace decodeRunTrace(std::string_view bytes);
DayCounters decodeDayCounters(std::string_view bytes);
RunStats decodeRunStats(std::string_view bytes);
// A user with its password hash (schema::StoredUser).
std::string encode(const User& value);
User decodeUser(std::string_view bytes);

// Generic helpers for schema structs stored as-is (idempotency records, runs, batches).
std::string encodeMessage(capnp::MessageBuilder& message);
// Reads a stored message; the returned reader owns a copy of the bytes.
class StoredMessage {
 public:
  explicit StoredMessage(std::string_view bytes);
  template <typename T>
  typename T::Reader get() {
    return reader_->getRoot<T>();
  }

 private:
  kj::Array<capnp::word> words_;
  kj::Own<capnp::FlatArrayMessageReader> reader_;
};

}  // namespace rdz
