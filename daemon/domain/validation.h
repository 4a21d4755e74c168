// Validation of a lead submission (SPEC §3.1–3.2). Pure: no I/O, no clock of its own.
//
// Two outcomes only:
// - a Lead, always, whose `problemes` list every rule it fails, and whose statut is `invalid`
//   when a blocking rule fails (`new` otherwise). Warnings (e.g. `email.invalid`) are listed
//   but do not block.
// - a refusal for the only things SPEC §3.2 refuses outright: body over 16 KiB, a field over
//   4 × its bound, text that is not UTF-8. `refusalOf` says whether a submission is refused and
//   why; the service answers it as data (the schema's SubmitOutcome.refused).
//
// Stateful rules (double submission within 10 minutes, idempotency) are applied by the
// service, which owns the store; see `markDoubleSubmission`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

constexpr size_t MAX_BODY_BYTES = 16 * 1024;
constexpr size_t MAX_IDEMPOTENCY_KEY_BYTES = 128;

struct ValidationContext {
  Entity entity = Entity::ZR7;
  std::vector<std::string> catalogue;  // produit codes of the entity, e.g. {"PV","PAC","ITE"}
  Timestamp receivedAt{};              // becomes recu_le (and consentement_le by default)
  bool allowRecuLe = false;            // admin import only: `recu_le` in the submission is used
};

// Why SPEC §3.2 refuses `submission` outright, or nullopt when it is to be stored. The reason
// names the field and the limit, never the value (it goes back to the caller and into logs).
std::optional<std::string> refusalOf(const Submission& submission);

// True when `name` is a field of SPEC §3.1 (`nom`, `recu_le`, …).
bool isLeadField(std::string_view name);

// Returns the lead, id left empty. A refused submission (refusalOf) is a caller's bug here:
// KJ_FAIL_REQUIRE with the reason.
Lead validateSubmission(const Submission& submission, const ValidationContext& context);

// True when the problem blocks delivery (makes the lead `invalid`).
bool isBlockingProblem(std::string_view code);

// Phone number rule: a valid French number (metropolitan or overseas: +33, +262, +269, +508,
// +590, +594, +596), parsed with default region FR (then the overseas regions for national
// forms such as 0262…). Returns E.164 ("+33612345678") or nullopt.
std::optional<std::string> normalizePhone(std::string_view raw);

// French national digits of an E.164 number ("+33612345678" -> "0612345678"), for CSV.
std::string nationalDigits(std::string_view e164);

// Departement of a 5-digit postal code: first 2 digits; Corsica 20000–20199 -> "2A",
// 20200–20999 -> "2B"; 971xx–976xx -> "971".."976"; "00", "96", "98", "99" and other 97x
// prefixes invalid. nullopt when invalid (including anything that is not 5 digits).
std::optional<std::string> departementOf(std::string_view codePostal);

// Boolean words of SPEC §3.1: true/false, oui/non, 1/0 (case-insensitive, trimmed).
std::optional<bool> parseBool(std::string_view text);

// A plausible email address (SPEC §3.1 `email`): one '@', a non-empty local part, a dotted
// domain, no spaces or control characters, at most 254 bytes. Not RFC 5322: it flags typing
// mistakes.
bool isPlausibleEmail(std::string_view text);

// Well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view text);

// ASCII letters to lower case; other bytes (UTF-8 included) unchanged.
std::string asciiLower(std::string_view text);

// Trims ASCII and Unicode no-break spaces at both ends.
std::string trim(std::string_view text);

// Marks `lead` as a double submission of `firstId` (SPEC §3.2): statut invalid, problem
// `doublon.soumission`, link kept.
void markDoubleSubmission(Lead& lead, std::string_view firstId);

// Marks `lead` as opposed (SPEC §7.2): its phone is on its entity's opposition list. Statut
// invalid, problem `telephone.oppose`.
void markOpposed(Lead& lead);

// The HTTP post a lead came in, as rdz-gateway saw it (schema HttpRequest, less its times).
struct HttpRequestProof {
  std::string ip;         // the client address, through trusted proxies
  std::string userAgent;  // User-Agent
  std::string pageUrl;    // Referer, else Origin
  bool honeypot = false;  // the form filled its hidden honeypot field
  bool operator==(const HttpRequestProof&) const = default;
};

// Why SPEC §3.2 refuses `request` outright (a value that is not UTF-8, holds a NUL, or is over
// 4 × the bound of its field ip, user_agent or page_url), or nullopt.
std::optional<std::string> requestRefusal(const HttpRequestProof& request);

// Applies what the request proves to a validated lead: requete_ip, requete_user_agent and
// requete_page_url are the request's values; ip, user_agent and page_url take them where the form
// left them empty (what the form sent is kept as sent), with the `.too_long` warning of a form
// value; a filled honeypot makes the lead invalid with `spam.honeypot`. Returns the history
// detail: what the form said, then what the request said.
std::string applyRequestProof(Lead& lead, const HttpRequestProof& request);

// Whether rdzd believes a gateway's acceptance time `accepted` for a lead it receives at `now`:
// not after `now`, not more than `maxAge` before it (the spool's age limit). Otherwise the lead
// gets rdzd's own time and the history says why.
enum class AcceptedTime { BELIEVED, IN_FUTURE, TOO_OLD };
AcceptedTime checkAcceptedTime(Timestamp accepted, Timestamp now, Duration maxAge);

// A canonical byte string of a submission (field order kept), used to hash bodies for
// idempotency: the same key with the same body gives the same answer.
std::string canonicalSubmission(const Submission& submission);

}  // namespace rdz
