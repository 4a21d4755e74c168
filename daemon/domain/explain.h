// Why a lead went where it went, or nowhere, in one run (SPEC §7.4). Pure.
//
// A run records a RunTrace (TraceRecorder, fed by the planner): its commandes' settings and
// counters at its start, and for each pass the point where each commande stopped taking leads.
// The per-lead decisions are the run's plan (a dry run) or the lead's history of that run
// (livraison, doublon_evite, opposition: written in the run's atomic write). From both, every
// reason is found again for any lead of the pool, without a record per lead: a commande was full
// for a lead when it closed before the lead's turn in the pass's order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/allocation.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"

namespace rdz {

// A commande stops taking the leads of `pass`: from the pass's start (byLead ""), or once
// byLead (received at byRecuLe) was given to it.
struct CommandeClosure {
  PassKind pass = PassKind::FRESH;
  Closing why;
  std::string byLead;
  Timestamp byRecuLe{};
  bool operator==(const CommandeClosure&) const = default;
};

struct CommandeTrace {
  CommandeState state;  // settings and counters at the run's start
  std::vector<CommandeClosure> closures;  // in decision order; at most one per pass
};

struct RunTrace {
  std::string run;  // the run's id
  RunParams params;
  std::optional<Timestamp> committedAt;  // nullopt: a dry run, never committed
  std::vector<CommandeTrace> commandes;  // those of the run's scope, every produit
};

// Builds the RunTrace of one planRun call.
class TraceRecorder final : public PlanTrace {
 public:
  explicit TraceRecorder(std::string run);
  void started(const RunParams& params, const std::vector<CommandeState>& commandes) override;
  void closed(PassKind pass, size_t index, const Closing& why, const PoolLead* by) override;
  RunTrace& trace() { return trace_; }

 private:
  RunTrace trace_;
};

// What a run decided for one lead.
struct LeadDecisions {
  std::optional<Assignment> assignment;
  std::vector<DuplicateSkip> duplicates;  // clients passed over (they had the person)
  std::vector<Entity> oppositions;        // lists the phone was found on
};
LeadDecisions decisionsInPlan(const RunPlan& plan, std::string_view leadId);
// From the lead's history: the events of run `run`.
LeadDecisions decisionsInHistory(const std::vector<HistoryEvent>& history, const Lead& lead,
                                 std::string_view run);

// The reasons of SPEC §7.4, plus HORS_RUN: the lead was not in the run's pool at all (received
// after T, invalid, rejected, delivered less than the LB re-entry window before, erased, another
// entity's run), with no commande.
enum class Reason : uint8_t {
  ATTRIBUE,
  DEPARTEMENT,
  INACTIF,
  JOUR,
  PERIODE,
  QUOTA_ATTEINT,
  QUOTA_JOUR_ATTEINT,
  LB_MAX_ATTEINT,
  PAS_DE_FALLBACK,
  DOUBLON_CLIENT,
  OPPOSITION,
  DEVANCE,
  HORS_RUN,
};
std::string_view reasonName(Reason r);  // attribue, departement, …, hors_run

struct ExplainLine {
  std::optional<PassKind> pass;  // nullopt for HORS_RUN
  std::string commande;          // "" for HORS_RUN
  std::string client;
  Entity commandeEntity = Entity::ZR7;
  Reason reason = Reason::HORS_RUN;
  std::string detail;  // short French text: the counters, the date, the commande that took it
  bool operator==(const ExplainLine&) const = default;
};

struct Explanation {
  std::string lead;
  std::string date;
  std::string run;
  bool dryRun = false;
  bool delivered = false;
  std::string commande;  // the commande it went to, "" when none
  // One line per commande of the lead's produit in the run's scope (in pass order, then priorite
  // and id), or one HORS_RUN line.
  std::vector<ExplainLine> raisons;
};

// `deliveries`: every delivery of the lead, in both entities (to know whether it was in the
// pool of a past run: rejected, or delivered too recently).
Explanation explainLead(const Lead& lead, const std::vector<Delivery>& deliveries,
                        const RunTrace& trace, const LeadDecisions& decisions);

}  // namespace rdz
