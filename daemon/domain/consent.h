// The proof of a lead's consent (SPEC §3.1), in the form a broker hands to a client who asks:
// `rdzctl lead consent` prints it, and the API delivery JSON carries it for the clients that
// asked for it (Client::apiConsent). Pure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

// The proof as (name, value) text pairs, always these names in this order:
//   lead, entite, consentement (oui/non), consentement_texte, consentement_le, page_url, ip,
//   user_agent, recu_le, requete_ip, requete_user_agent, requete_page_url, efface (oui/non)
// Times are ISO 8601 with their Europe/Paris offset ("" when unset). page_url, ip and
// user_agent are what the lead holds (the form's values, else the request's); requete_* are what
// the HTTP request said, "" for a lead that did not come through the gateway. An erased lead
// (efface oui) has its personal values empty.
std::vector<std::pair<std::string, std::string>> consentProof(const Lead& lead);

}  // namespace rdz
