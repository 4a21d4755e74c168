// After delivery (SPEC §7.1–7.2): the rules of a rejection and of an erasure. Pure: given the
// lead, its deliveries and the time, they decide; the service writes what they decide in one
// atomic write.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"

namespace rdz {

// A client may reject a delivery from its delivery time to 7 × 24 h after it, both included.
constexpr Duration REJECTION_WINDOW = std::chrono::hours(24 * 7);

// faux_numero, injoignable, hors_zone, doublon, hors_cible, autre.
const std::vector<std::string_view>& rejectionReasons();
bool isRejectionReason(std::string_view reason);

// How a rejected (or erased) delivery is credited to its commande (SPEC §7.1): its run's ISO week
// is the week of `at` (Europe/Paris) → that week's counter goes down (WEEK); an earlier week → one
// replacement owed (REPLACEMENT).
enum class Credit : uint8_t { WEEK, REPLACEMENT };
std::string_view creditName(Credit c);  // "semaine", "remplacement_du"
Credit creditFor(const Delivery& delivery, Timestamp at);

// The `rejet` of a delivery an erasure dropped from an unsent batch (SPEC §7.2).
constexpr std::string_view REJET_EFFACE = "efface";

// The run date ("AAAA-MM-JJ") of a delivery: its run id without the entity suffix.
std::string runDateOf(const Delivery& delivery);

// The delivery a rejection applies to: the latest of `deliveries` (by time, then id); nullopt
// when there is none.
std::optional<Delivery> latestDelivery(const std::vector<Delivery>& deliveries);

// Why rejecting `lead` (whose latest delivery is `latest`) at `at` for `reason` is refused, or
// nullopt when it is allowed. The message is for the admin (rdzctl prints it).
std::optional<std::string> rejectionRefusal(const Lead& lead, const std::optional<Delivery>& latest,
                                            std::string_view reason, Timestamp at);

// The names (SPEC §3.1) of the personal fields of SPEC §7.2 that `lead` still holds (non-empty):
// none once it is erased.
std::vector<std::string_view> personalFieldsHeld(const Lead& lead);

// The lead with every personal field of SPEC §7.2 wiped and `efface` set: nom, prenom,
// telephone, telephone_e164, email, code_postal, ville, ip, user_agent, page_url,
// consentement_texte, and what the HTTP request said (requete_ip, requete_user_agent,
// requete_page_url). Ids, entity, produit, departement, recu_le, statut and counts stay.
Lead erased(Lead lead);

// The personal values of `lead` (non-empty ones among the wiped fields), to find them in free
// text such as history details.
std::vector<std::string> personalValues(const Lead& lead);

// `detail` with every occurrence of any of `values` replaced by "[efface]".
std::string scrubbed(std::string detail, const std::vector<std::string>& values);

}  // namespace rdz
