// A lead's history (SPEC §3.3): the one place where its events are made, named and rendered in
// French. Every writer of history calls a constructor below; every reader that shows an event to a
// person (rdzctl, the web console) shows historyText(). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"

namespace rdz::history {

// At reception (SPEC §3.2). `via`: ingest, admin, import or gateway; `at`: recu_le.
HistoryEvent received(Timestamp at, std::string_view via);
// rdzd got at `at` a lead a gateway accepted at `accepted`; what it made of that time.
HistoryEvent forwarded(Timestamp at, Timestamp accepted, GatewayTime verdict, bool spooled);
// The HTTP request's proof: what the form sent, what the request said (personal values).
HistoryEvent requestProof(Timestamp at, ProofValues form, ProofValues request);
HistoryEvent doubleSubmission(Timestamp at, std::string_view firstLead);
HistoryEvent opposedAtReception(Timestamp at, Entity list);
HistoryEvent problems(Timestamp at, std::vector<std::string> problemes);
HistoryEvent status(Timestamp at, Statut statut);

// By a run (SPEC §5).
HistoryEvent aged(Timestamp at, std::string_view run);  // statut lb
HistoryEvent delivered(Timestamp at, const Delivery& delivery);
HistoryEvent duplicateSkipped(Timestamp at, const DuplicateSkip& skip, std::string_view run);
HistoryEvent opposedInRun(Timestamp at, Entity list, std::string_view run);

// After the run (SPEC §5.7, §7).
HistoryEvent sent(Timestamp at, const Batch& batch);
// `delivery` as rejected (its rejet and rejeteLe set); `credit`: creditName().
HistoryEvent rejected(Timestamp at, const Delivery& delivery, std::string_view credit);
HistoryEvent erased(Timestamp at);
HistoryEvent droppedFromBatch(Timestamp at, const Delivery& delivery, std::string_view credit);

}  // namespace rdz::history

namespace rdz {

// The event's name, as rdzctl --json shows it beside the details: recu, transmis, preuve,
// doublon, opposition, problemes, statut, livraison, doublon_evite, envoi, rejet, effacement,
// retrait_lot; a legacy record keeps the name it was written with.
std::string_view historyEventName(const HistoryEvent& event);

// One French line saying what happened, for people (rdzctl text, the console). A legacy record
// shows the text it was written with.
std::string historyText(const HistoryEvent& event);

// A record written before events were typed (only a name and a text): the kind its name maps to,
// with the name and text kept. Every name ever written is known: recu, transmis, preuve, doublon,
// opposition, problemes, statut, livraison, doublon_evite, envoi, rejet, effacement (and
// allocation, probleme, which an early schema comment listed); another name gives LEGACY.
HistoryEvent legacyHistoryEvent(Timestamp at, std::string event, std::string detail);

// Wipes every occurrence of `values` (a lead's personal values, longest first) from the event's
// free text (legacy records) and from the request proof's values (PREUVE), the only personal
// values a history holds. Returns whether the event changed.
bool scrubHistory(HistoryEvent& event, const std::vector<std::string>& values);

}  // namespace rdz
