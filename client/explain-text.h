// `lead explain` in words (SPEC §7.4): the French sentence that opens an explanation and the
// reason codes' names, for rdzctl's text form and the web console (one rendering for both).
#pragma once

#include <string>

#include "schema/rdz.capnp.h"

namespace rdz {

// The French sentence that says the outcome ("Le lead … a été livré à la commande … au run du
// …", or why not). `dryRun`: the run has not happened (the sentence says what it would do).
std::string explanationSentence(schema::Explanation::Reader explanation, bool dryRun);

// A reason code as the JSON names it: quota_atteint, doublon_client, …
std::string reasonCodeName(schema::Explanation::Raison::Code code);

}  // namespace rdz
