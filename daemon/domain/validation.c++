#include "daemon/domain/validation.h"

#include <kj/debug.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "daemon/domain/time.h"

namespace rdz {

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// The fields of SPEC §3.1, in the order of its table: `problemes` are listed in this order.
enum FieldId : size_t {
  PRODUIT,
  NOM,
  PRENOM,
  TELEPHONE,
  EMAIL,
  CODE_POSTAL,
  VILLE,
  PROPRIETAIRE,
  TYPE_LOGEMENT,
  CONSENTEMENT,
  CONSENTEMENT_TEXTE,
  CONSENTEMENT_LE,
  PAGE_URL,
  IP,
  USER_AGENT,
  SOURCE,
  UTM_SOURCE,
  UTM_MEDIUM,
  UTM_CAMPAIGN,
  RECU_LE,
  FIELD_COUNT
};

struct FieldSpec {
  std::string_view name;
  size_t maxBytes;  // the bound of the stored (trimmed) value; 4 × this is refused outright
};

constexpr std::array<FieldSpec, FIELD_COUNT> FIELDS = {{
    {"produit", 16},
    {"nom", 100},
    {"prenom", 100},
    {"telephone", 32},
    {"email", 254},
    {"code_postal", 5},
    {"ville", 100},
    {"proprietaire", 16},
    {"type_logement", 16},
    {"consentement", 16},
    {"consentement_texte", 2000},
    {"consentement_le", 64},
    {"page_url", 2000},
    {"ip", 64},
    {"user_agent", 1000},
    {"source", 200},
    {"utm_source", 200},
    {"utm_medium", 200},
    {"utm_campaign", 200},
    {"recu_le", 64},
}};

// A field outside SPEC §3.1 is reported, never stored; its value still has a bound so that a
// form cannot smuggle a large body through unknown names.
constexpr size_t UNKNOWN_FIELD_MAX_BYTES = 200;
constexpr size_t MAX_FIELD_NAME_BYTES = 64;
// SPEC §3.2: "a field over its bound ×4" is refused rather than stored as a problem.
constexpr size_t REFUSAL_FACTOR = 4;

constexpr std::string_view BLOCKING_PROBLEMS[] = {
    "produit.missing",     "produit.unknown",     "nom.missing",         "nom.too_long",
    "prenom.missing",      "prenom.too_long",     "telephone.missing",   "telephone.invalid",
    "code_postal.missing", "code_postal.invalid", "consentement.absent", "consentement.invalid",
    "doublon.soumission",  "telephone.oppose",    "spam.honeypot",
};

// Country calling codes of France and its overseas departments and collectivities (SPEC §3.1).
constexpr int32_t FRENCH_COUNTRY_CODES[] = {33, 262, 269, 508, 590, 594, 596};

// Regions tried for a number in national form ("0262 …") that France's own plan does not
// resolve to an overseas line: Réunion, Mayotte, Guadeloupe, Martinique, Guyane,
// Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin.
constexpr const char* OVERSEAS_REGIONS[] = {"RE", "YT", "GP", "MQ", "GF", "PM", "BL", "MF"};

std::optional<FieldId> findField(std::string_view name) {
  for (size_t i = 0; i < FIELD_COUNT; ++i) {
    if (FIELDS[i].name == name) return static_cast<FieldId>(i);
  }
  return std::nullopt;
}

char lowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerChar(a[i]) != lowerChar(b[i])) return false;
  }
  return true;
}

bool isAsciiDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Length in bytes of a space that trim() removes at the front of `text`, 0 if none.
size_t leadingSpace(std::string_view text) {
  if (text.empty()) return 0;
  unsigned char c = static_cast<unsigned char>(text[0]);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  // Copy-pasted French text is full of no-break spaces (U+00A0 before ':' and U+202F, the
  // narrow one, in phone numbers); U+2007 and U+FEFF are the other no-break spaces.
  if (text.substr(0, 2) == "\xC2\xA0") return 2;
  if (text.substr(0, 3) == "\xE2\x80\xAF" || text.substr(0, 3) == "\xE2\x80\x87" ||
      text.substr(0, 3) == "\xEF\xBB\xBF") {
    return 3;
  }
  return 0;
}

size_t trailingSpace(std::string_view text) {
  if (text.empty()) return 0;
  unsigned char c = static_cast<unsigned char>(text.back());
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\xC2\xA0") return 2;
  if (text.size() >= 3) {
    std::string_view tail = text.substr(text.size() - 3);
    if (tail == "\xE2\x80\xAF" || tail == "\xE2\x80\x87" || tail == "\xEF\xBB\xBF") return 3;
  }
  return 0;
}

bool isFrenchCountryCode(int32_t code) {
  return std::find(std::begin(FRENCH_COUNTRY_CODES), std::end(FRENCH_COUNTRY_CODES), code) !=
         std::end(FRENCH_COUNTRY_CODES);
}

// Parses `text` for `region`; the number when libphonenumber calls it valid.
std::optional<PhoneNumber> parseValid(const std::string& text, const char* region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  if (!util.IsValidNumber(number)) return std::nullopt;
  return number;
}

// Overseas number in French national form ("0262…", "0692…"), if `nationalNumber` (without
// its leading 0) is one. Checked before metropolitan France because libphonenumber's FR
// metadata also calls 0262/0590/0594/0596 valid metropolitan lines, while the French numbering
// plan gives these prefixes to the overseas departments: without this, the same subscriber
// would get two different E.164 forms and escape the duplicate rules.
//
// An overseas national number keeps its digits under its own country code (0262 21 12 34 is
// +262 262 21 12 34), so the candidates are built directly instead of parsed again: this runs
// for every lead, and libphonenumber's parsing (ICU regexes) was most of ingestion's CPU.
std::optional<PhoneNumber> overseasFromNational(const std::string& nationalNumber) {
  // The overseas ranges of the French plan all start 026, 050, 059, 063 or 069 (a superset:
  // it only decides whether the candidates are tried at all).
  static constexpr std::string_view PREFIXES[] = {"26", "50", "59", "63", "69"};
  if (std::none_of(std::begin(PREFIXES), std::end(PREFIXES),
                   [&](std::string_view p) { return nationalNumber.starts_with(p); })) {
    return std::nullopt;
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  // Réunion and Mayotte (262), Guadeloupe, Saint-Barthélemy and Saint-Martin (590), Guyane
  // (594), Martinique (596), Saint-Pierre-et-Miquelon (508).
  for (int32_t countryCode : {262, 590, 594, 596, 508}) {
    PhoneNumber number;
    number.set_country_code(countryCode);
    number.set_national_number(std::stoull(nationalNumber));
    if (util.IsValidNumber(number)) return number;
  }
  return std::nullopt;
}

class Problems {
 public:
  void add(std::string code) {
    if (std::find(codes_.begin(), codes_.end(), code) == codes_.end()) {
      codes_.push_back(std::move(code));
    }
  }
  void add(FieldId field, std::string_view what) {
    add(std::string(FIELDS[field].name) + "." + std::string(what));
  }
  std::vector<std::string> take() { return std::move(codes_); }

 private:
  std::vector<std::string> codes_;
};

}  // namespace

std::optional<std::string> refusalOf(const Submission& submission) {
  size_t bodyBytes = 0;
  for (const Field& field : submission) bodyBytes += field.name.size() + field.value.size();
  if (bodyBytes > MAX_BODY_BYTES) {
    return "body over 16 KiB (" + std::to_string(bodyBytes) + " bytes)";
  }
  for (const Field& field : submission) {
    if (!isValidUtf8(field.name)) return std::string("a field name is not valid UTF-8");
    if (field.name.size() > MAX_FIELD_NAME_BYTES) {
      return "a field name is over " + std::to_string(MAX_FIELD_NAME_BYTES) + " bytes";
    }
    std::string name = trim(field.name);
    if (!isValidUtf8(field.value)) return "value of " + name + " is not valid UTF-8";
    auto known = findField(name);
    size_t bound = known ? FIELDS[*known].maxBytes : UNKNOWN_FIELD_MAX_BYTES;
    if (field.value.size() > bound * REFUSAL_FACTOR) {
      return "value of " + name + " over 4 times its bound (" +
             std::to_string(field.value.size()) + " bytes, at most " +
             std::to_string(bound * REFUSAL_FACTOR) + ")";
    }
  }
  return std::nullopt;
}

bool isLeadField(std::string_view name) { return findField(name).has_value(); }

std::string trim(std::string_view text) {
  for (size_t n; (n = leadingSpace(text)) > 0;) text.remove_prefix(n);
  for (size_t n; (n = trailingSpace(text)) > 0;) text.remove_suffix(n);
  return std::string(text);
}

bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t codePoint;
    uint32_t minimum;
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      codePoint = c & 0x1F;
      minimum = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      codePoint = c & 0x0F;
      minimum = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      codePoint = c & 0x07;
      minimum = 0x10000;
    } else {
      return false;  // a continuation byte with no lead, or 0xF8..0xFF
    }
    if (text.size() - i < length) return false;  // truncated sequence
    for (size_t k = 1; k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      codePoint = (codePoint << 6) | (next & 0x3F);
    }
    if (codePoint < minimum) return false;                         // overlong
    if (codePoint >= 0xD800 && codePoint <= 0xDFFF) return false;  // UTF-16 surrogate
    if (codePoint > 0x10FFFF) return false;                        // beyond Unicode
    i += length;
  }
  return true;
}

std::optional<bool> parseBool(std::string_view text) {
  std::string word = trim(text);
  for (std::string_view yes : {"true", "oui", "1"}) {
    if (equalsIgnoreCase(word, yes)) return true;
  }
  for (std::string_view no : {"false", "non", "0"}) {
    if (equalsIgnoreCase(word, no)) return false;
  }
  return std::nullopt;
}

std::optional<std::string> departementOf(std::string_view codePostal) {
  if (codePostal.size() != 5 || !isAsciiDigits(codePostal)) return std::nullopt;
  std::string_view prefix = codePostal.substr(0, 2);
  if (prefix == "00" || prefix == "96" || prefix == "98" || prefix == "99") return std::nullopt;
  if (prefix == "20") {
    // Corsica kept its 20xxx postal codes when it was split into two departements in 1976.
    return std::string(codePostal[2] <= '1' ? "2A" : "2B");
  }
  if (prefix == "97") {
    // Overseas: 971 Guadeloupe (and Saint-Barthélemy/Saint-Martin, 971xx) … 975
    // Saint-Pierre-et-Miquelon, 976 Mayotte. 970xx and 977xx–979xx are outside SPEC's 971–976.
    char third = codePostal[2];
    if (third < '1' || third > '6') return std::nullopt;
    return std::string(codePostal.substr(0, 3));
  }
  return std::string(prefix);
}

namespace {

// The 9 national significant digits of the plain French forms that make up nearly every real
// submission and import line ("0612345678", "06 12 34 56 78", "06.12.34.56.78", "+33612345678",
// "0033 6 12 34 56 78"), or "" for any other text. For these forms libphonenumber's Parse (ICU
// regexes, ~8 µs) learns nothing the digits don't say: country 33 and this NSN.
std::string plainFrenchNsn(std::string_view text) {
  std::string digits;
  digits.reserve(16);
  bool plus = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && i == 0) {
      plus = true;
    } else if (c != ' ' && c != '.' && c != '-') {
      return "";
    }
  }
  std::string_view d = digits;
  if (plus && d.size() == 11 && d.starts_with("33")) return std::string(d.substr(2));
  if (!plus && d.size() == 13 && d.starts_with("0033")) return std::string(d.substr(4));
  if (!plus && d.size() == 10 && d[0] == '0') return std::string(d.substr(1));
  return "";
}

}  // namespace

std::optional<std::string> normalizePhone(std::string_view raw) {
  std::string trimmed = trim(raw);
  if (trimmed.empty() || trimmed.size() > FIELDS[TELEPHONE].maxBytes) return std::nullopt;
  std::string text;
  for (size_t i = 0; i < trimmed.size();) {
    char c = trimmed[i];
    // libphonenumber reads letters as a keypad ("06 12 AB CD EF" is "06 12 22 23 33"): in a
    // form that is a typo or junk, never a vanity number, and so is an extension ("ext 12").
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return std::nullopt;
    // Phones and French typography group digits with no-break spaces, which libphonenumber
    // refuses; they mean a plain space.
    if (size_t n = leadingSpace(std::string_view(trimmed).substr(i)); n > 1) {
      text.push_back(' ');
      i += n;
      continue;
    }
    text.push_back(c);
    ++i;
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();

  // Fast path, same answer as the general one below (tested on every French prefix): built
  // from the digits, only a valid number is taken here; anything else goes the long way.
  if (std::string nsn = plainFrenchNsn(text); nsn.size() == 9 && nsn[0] != '0') {
    std::optional<PhoneNumber> number = overseasFromNational(nsn);
    if (!number) {
      PhoneNumber metropolitan;
      metropolitan.set_country_code(33);
      metropolitan.set_national_number(std::stoull(nsn));
      if (util.IsValidNumber(metropolitan)) number = metropolitan;
    }
    if (number) {
      return "+" + std::to_string(number->country_code()) +
             std::to_string(number->national_number());
    }
  }

  std::optional<PhoneNumber> number;
  PhoneNumber parsed;
  if (util.Parse(text, "FR", &parsed) == PhoneNumberUtil::NO_PARSING_ERROR) {
    if (parsed.country_code() == 33) {
      // "06…", "+33 6…" and "0033 6…" all land here. An overseas line written in French
      // national form (or, wrongly, with +33) is given its own country code.
      std::string nsn;
      util.GetNationalSignificantNumber(parsed, &nsn);
      number = overseasFromNational(nsn);
      if (!number && util.IsValidNumber(parsed)) number = parsed;
    } else if (util.IsValidNumber(parsed)) {
      number = parsed;
    }
  }
  if (!number && text.front() == '0') {
    // National forms that France's plan cannot even parse as a French number, e.g. the
    // 6-digit lines of Saint-Pierre-et-Miquelon ("043 01 23").
    for (const char* region : OVERSEAS_REGIONS) {
      if ((number = parseValid(text, region))) break;
    }
  }
  if (!number || !isFrenchCountryCode(number->country_code())) return std::nullopt;

  std::string e164;
  util.Format(*number, PhoneNumberUtil::E164, &e164);
  return e164;
}

std::string nationalDigits(std::string_view e164) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(std::string(e164), "FR", &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return "";
  }
  std::string national;
  util.Format(number, PhoneNumberUtil::NATIONAL, &national);
  std::string digits;
  for (char c : national) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  return digits;
}

bool isBlockingProblem(std::string_view code) {
  return std::find(std::begin(BLOCKING_PROBLEMS), std::end(BLOCKING_PROBLEMS), code) !=
         std::end(BLOCKING_PROBLEMS);
}

Lead validateSubmission(const Submission& submission, const ValidationContext& context) {
  if (auto refusal = refusalOf(submission)) {
    KJ_FAIL_REQUIRE("submission refused", *refusal);
  }

  // Last occurrence wins: a form that repeats a field meant its final value.
  std::array<std::optional<std::string>, FIELD_COUNT> given;
  std::vector<std::string> unexpected;  // names outside SPEC §3.1, first-seen order
  for (const Field& field : submission) {
    std::string name = trim(field.name);
    if (auto id = findField(name)) {
      given[*id] = trim(field.value);
    } else if (name.empty() && trim(field.value).empty()) {
      // Nothing was submitted: typically a trailing separator in an imported CSV line.
      continue;
    } else if (std::find(unexpected.begin(), unexpected.end(), name) == unexpected.end()) {
      unexpected.push_back(std::move(name));
    }
  }
  // An empty value is treated as an absent field: forms post every input, filled or not.
  auto text = [&](FieldId id) -> std::string { return given[id].value_or(""); };
  auto tooLong = [&](FieldId id, const std::string& value) {
    return value.size() > FIELDS[id].maxBytes;
  };

  Lead lead;
  Problems problems;
  lead.entity = context.entity;
  lead.recuLe = context.receivedAt;

  // produit: case-insensitive input, stored as the catalogue spells it.
  lead.produit = text(PRODUIT);
  if (lead.produit.empty()) {
    problems.add(PRODUIT, "missing");
  } else {
    auto found =
        std::find_if(context.catalogue.begin(), context.catalogue.end(),
                     [&](const std::string& code) { return equalsIgnoreCase(code, lead.produit); });
    if (found == context.catalogue.end()) {
      problems.add(PRODUIT, "unknown");  // kept as submitted, for the admin to see
    } else {
      lead.produit = *found;
    }
  }

  // nom, prenom: a too-long value is kept whole; the lead is invalid anyway and truncating
  // would lose what the person typed.
  for (auto [id, target] : {std::pair{NOM, &lead.nom}, std::pair{PRENOM, &lead.prenom}}) {
    *target = text(id);
    if (target->empty()) {
      problems.add(id, "missing");
    } else if (tooLong(id, *target)) {
      problems.add(id, "too_long");
    }
  }

  lead.telephone = text(TELEPHONE);
  if (lead.telephone.empty()) {
    problems.add(TELEPHONE, "missing");
  } else if (auto e164 = normalizePhone(lead.telephone)) {
    lead.telephoneE164 = std::move(*e164);
  } else {
    problems.add(TELEPHONE, "invalid");
  }

  lead.email = text(EMAIL);
  if (!lead.email.empty() && !isPlausibleEmail(lead.email)) problems.add(EMAIL, "invalid");

  lead.codePostal = text(CODE_POSTAL);
  if (lead.codePostal.empty()) {
    problems.add(CODE_POSTAL, "missing");
  } else if (auto departement = departementOf(lead.codePostal)) {
    lead.departement = std::move(*departement);
  } else {
    problems.add(CODE_POSTAL, "invalid");
  }

  lead.ville = text(VILLE);
  if (tooLong(VILLE, lead.ville)) problems.add(VILLE, "too_long");

  if (std::string value = text(PROPRIETAIRE); !value.empty()) {
    if (auto yes = parseBool(value)) {
      lead.proprietaire = *yes ? TriState::OUI : TriState::NON;
    } else {
      problems.add(PROPRIETAIRE, "invalid");
    }
  }

  if (std::string value = text(TYPE_LOGEMENT); !value.empty()) {
    if (equalsIgnoreCase(value, "maison")) {
      lead.typeLogement = TypeLogement::MAISON;
    } else if (equalsIgnoreCase(value, "appartement")) {
      lead.typeLogement = TypeLogement::APPARTEMENT;
    } else {
      problems.add(TYPE_LOGEMENT, "invalid");
    }
  }

  // consentement: only an explicit yes is consent (opt-in law); "false" is as good as absent.
  if (std::string value = text(CONSENTEMENT); value.empty()) {
    problems.add(CONSENTEMENT, "absent");
  } else if (auto yes = parseBool(value)) {
    lead.consentement = *yes;
    if (!*yes) problems.add(CONSENTEMENT, "absent");
  } else {
    problems.add(CONSENTEMENT, "invalid");
  }

  lead.consentementTexte = text(CONSENTEMENT_TEXTE);
  if (tooLong(CONSENTEMENT_TEXTE, lead.consentementTexte)) {
    problems.add(CONSENTEMENT_TEXTE, "too_long");
  }

  // recu_le is read before consentement_le's default needs it, but reported in table order.
  bool recuLeGiven = !text(RECU_LE).empty();
  bool recuLeIgnored = false, recuLeInvalid = false;
  if (recuLeGiven) {
    if (!context.allowRecuLe) {
      recuLeIgnored = true;
    } else if (auto t = tooLong(RECU_LE, text(RECU_LE)) ? std::nullopt : parseIso(text(RECU_LE))) {
      lead.recuLe = *t;
    } else {
      recuLeInvalid = true;
    }
  }

  // Proof of consent defaults to the reception time (SPEC §3.1): the lead's own recu_le, which
  // for an admin import is the original reception, not the import.
  if (std::string value = text(CONSENTEMENT_LE); value.empty()) {
    lead.consentementLe = lead.recuLe;
  } else if (auto t = tooLong(CONSENTEMENT_LE, value) ? std::nullopt : parseIso(value)) {
    lead.consentementLe = *t;
  } else {
    problems.add(CONSENTEMENT_LE, "invalid");
    lead.consentementLe = lead.recuLe;
  }

  // Tracking and proof fields: over their bound they are still kept (they are evidence), with
  // a warning.
  for (auto [id, target] :
       {std::pair{PAGE_URL, &lead.pageUrl}, std::pair{IP, &lead.ip},
        std::pair{USER_AGENT, &lead.userAgent}, std::pair{SOURCE, &lead.source},
        std::pair{UTM_SOURCE, &lead.utmSource}, std::pair{UTM_MEDIUM, &lead.utmMedium},
        std::pair{UTM_CAMPAIGN, &lead.utmCampaign}}) {
    *target = text(id);
    if (tooLong(id, *target)) problems.add(id, "too_long");
  }

  if (recuLeIgnored) problems.add(RECU_LE, "ignored");
  if (recuLeInvalid) problems.add(RECU_LE, "invalid");

  for (const std::string& name : unexpected) problems.add(name + ".unexpected");

  lead.problemes = problems.take();
  bool blocked = std::any_of(lead.problemes.begin(), lead.problemes.end(),
                             [](const std::string& code) { return isBlockingProblem(code); });
  lead.statut = blocked ? Statut::INVALID : Statut::NEW;
  return lead;
}

void markDoubleSubmission(Lead& lead, std::string_view firstId) {
  lead.statut = Statut::INVALID;
  constexpr std::string_view CODE = "doublon.soumission";
  if (std::find(lead.problemes.begin(), lead.problemes.end(), CODE) == lead.problemes.end()) {
    lead.problemes.emplace_back(CODE);
  }
  lead.doublonDe = std::string(firstId);
}

void markOpposed(Lead& lead) {
  lead.statut = Statut::INVALID;
  constexpr std::string_view CODE = "telephone.oppose";
  if (std::find(lead.problemes.begin(), lead.problemes.end(), CODE) == lead.problemes.end()) {
    lead.problemes.emplace_back(CODE);
  }
}

std::optional<std::string> requestRefusal(const HttpRequestProof& request) {
  for (auto [id, value] : {std::pair{IP, &request.ip}, std::pair{USER_AGENT, &request.userAgent},
                           std::pair{PAGE_URL, &request.pageUrl}}) {
    std::string name(FIELDS[id].name);
    if (!isValidUtf8(*value)) return "the request's " + name + " is not valid UTF-8";
    if (value->find('\0') != std::string::npos) return "the request's " + name + " holds a NUL";
    if (value->size() > FIELDS[id].maxBytes * REFUSAL_FACTOR) {
      return "the request's " + name + " is over 4 times its bound (" +
             std::to_string(value->size()) + " bytes, at most " +
             std::to_string(FIELDS[id].maxBytes * REFUSAL_FACTOR) + ")";
    }
  }
  return std::nullopt;
}

std::string applyRequestProof(Lead& lead, const HttpRequestProof& request) {
  auto quoted = [](const std::string& v) { return "\"" + v + "\""; };
  std::string detail = "formulaire: ip " + quoted(lead.ip) + ", user_agent " +
                       quoted(lead.userAgent) + ", page_url " + quoted(lead.pageUrl);
  lead.requeteIp = trim(request.ip);
  lead.requeteUserAgent = trim(request.userAgent);
  lead.requetePageUrl = trim(request.pageUrl);
  detail += "; requête: ip " + quoted(lead.requeteIp) + ", user_agent " +
            quoted(lead.requeteUserAgent) + ", page_url " + quoted(lead.requetePageUrl);
  Problems problems;
  for (auto& code : lead.problemes) problems.add(code);
  for (auto [id, target, value] : {std::tuple{IP, &lead.ip, &lead.requeteIp},
                                   std::tuple{USER_AGENT, &lead.userAgent, &lead.requeteUserAgent},
                                   std::tuple{PAGE_URL, &lead.pageUrl, &lead.requetePageUrl}}) {
    if (!target->empty() || value->empty()) continue;
    *target = *value;
    if (target->size() > FIELDS[id].maxBytes) problems.add(id, "too_long");
  }
  if (request.honeypot) problems.add("spam.honeypot");
  lead.problemes = problems.take();
  if (std::any_of(lead.problemes.begin(), lead.problemes.end(),
                  [](const std::string& code) { return isBlockingProblem(code); })) {
    lead.statut = Statut::INVALID;
  }
  return detail;
}

AcceptedTime checkAcceptedTime(Timestamp accepted, Timestamp now, Duration maxAge) {
  if (accepted > now) return AcceptedTime::IN_FUTURE;
  if (accepted < now - maxAge) return AcceptedTime::TOO_OLD;
  return AcceptedTime::BELIEVED;
}

std::string canonicalSubmission(const Submission& submission) {
  // Netstring-like: every name and value is prefixed by its byte length, so no choice of
  // separators inside the data can make two different submissions encode alike.
  std::string out = "rdz-submission-v1\n";
  for (const Field& field : submission) {
    for (const std::string* part : {&field.name, &field.value}) {
      out += std::to_string(part->size());
      out.push_back(':');
      out += *part;
      out.push_back(',');
    }
    out.push_back('\n');
  }
  return out;
}

// "Plausible", not RFC 5322: the point is to flag typing mistakes, and the address is kept
// either way (email.invalid is a warning).
bool isPlausibleEmail(std::string_view email) {
  if (email.size() > 254) return false;
  for (char c : email) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7F) return false;
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.empty()) return false;
  if (domain.find('.') == std::string_view::npos) return false;
  if (domain.front() == '.' || domain.back() == '.') return false;
  if (domain.find("..") != std::string_view::npos) return false;
  return true;
}


std::string asciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lowerChar(c);
  return out;
}

}  // namespace rdz
