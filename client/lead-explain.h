// `rdzctl lead explain ID [--date D]` (SPEC §7.4): asks rdzd why the lead went where it went, or
// nowhere, in one run, and prints the answer: with --json the Explanation's JSON
// ({"lead","date","resultat","commande","raisons":[…]}), otherwise a short French sentence, then
// the table of the reasons.
#pragma once

#include <ostream>
#include <string>

#include "client/connection.h"
#include "schema/rdz.capnp.h"

namespace rdz {

struct ExplainArgs {
  std::string id;
  std::string date;  // "" : the run of its latest delivery, else the next run
  bool json = false;
};

// Returns the exit code (refusals from rdzd are exceptions, as for every command).
int runLeadExplain(Connection& connection, const ExplainArgs& args, std::ostream& out);

// The French sentence that opens the text form. `dryRun`: the run has not happened.
std::string explanationSentence(schema::Explanation::Reader explanation, bool dryRun);

// The sentence, then one aligned line per reason: passe, commande, client, raison, detail.
void printExplanation(std::ostream& out, schema::Explanation::Reader explanation, bool dryRun);

}  // namespace rdz
