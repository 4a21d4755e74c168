#include "daemon/domain/after-delivery.h"

#include <algorithm>

#include "daemon/domain/calendar.h"
#include "daemon/domain/time.h"

namespace rdz {

const std::vector<std::string_view>& rejectionReasons() {
  static const std::vector<std::string_view> reasons = {
      "faux_numero", "injoignable", "hors_zone", "doublon", "hors_cible", "autre"};
  return reasons;
}

bool isRejectionReason(std::string_view reason) {
  auto& all = rejectionReasons();
  return std::find(all.begin(), all.end(), reason) != all.end();
}

std::string_view creditName(Credit c) {
  return c == Credit::WEEK ? "semaine" : "remplacement_du";
}

std::string runDateOf(const Delivery& delivery) { return delivery.run.substr(0, 10); }

Credit creditFor(const Delivery& delivery, Timestamp at) {
  return isoWeekOf(runDateOf(delivery)) == isoWeekOf(parisDate(at)) ? Credit::WEEK
                                                                     : Credit::REPLACEMENT;
}

std::optional<Delivery> latestDelivery(const std::vector<Delivery>& deliveries) {
  std::optional<Delivery> latest;
  for (const Delivery& d : deliveries) {
    if (!latest || d.at > latest->at || (d.at == latest->at && d.id > latest->id)) latest = d;
  }
  return latest;
}

std::optional<std::string> rejectionRefusal(const Lead& lead, const std::optional<Delivery>& latest,
                                            std::string_view reason, Timestamp at) {
  if (!isRejectionReason(reason)) {
    std::string all;
    for (auto r : rejectionReasons()) all += (all.empty() ? "" : ", ") + std::string(r);
    return "unknown reason '" + std::string(reason) + "' (one of: " + all + ")";
  }
  if (lead.statut == Statut::REJECTED) return "lead " + lead.id + " is already rejected";
  if (!latest) return "lead " + lead.id + " was never delivered";
  if (!latest->rejet.empty()) return "lead " + lead.id + " is already rejected";
  if (at < latest->at) {
    return "the rejection time " + formatIso(at) + " is before the delivery (" +
           formatIso(latest->at) + ")";
  }
  if (at > latest->at + REJECTION_WINDOW) {
    return "the rejection window is over: lead " + lead.id + " was delivered " +
           formatIso(latest->at) + ", rejections are accepted until " +
           formatIso(latest->at + REJECTION_WINDOW);
  }
  return std::nullopt;
}

namespace {

// The personal fields of SPEC §7.2 with their names: the one list erasure and the audit use.
template <typename L, typename Visit>
void forEachPersonalField(L& lead, Visit visit) {
  visit("nom", lead.nom);
  visit("prenom", lead.prenom);
  visit("telephone", lead.telephone);
  visit("telephone_e164", lead.telephoneE164);
  visit("email", lead.email);
  visit("code_postal", lead.codePostal);
  visit("ville", lead.ville);
  visit("ip", lead.ip);
  visit("user_agent", lead.userAgent);
  visit("page_url", lead.pageUrl);
  visit("consentement_texte", lead.consentementTexte);
  visit("requete_ip", lead.requeteIp);
  visit("requete_user_agent", lead.requeteUserAgent);
  visit("requete_page_url", lead.requetePageUrl);
}

}  // namespace

std::vector<std::string_view> personalFieldsHeld(const Lead& lead) {
  std::vector<std::string_view> out;
  forEachPersonalField(lead, [&](std::string_view name, const std::string& value) {
    if (!value.empty()) out.push_back(name);
  });
  return out;
}

Lead erased(Lead lead) {
  forEachPersonalField(lead, [](std::string_view, std::string& value) {
    value.clear();
    value.shrink_to_fit();
  });
  lead.efface = true;
  return lead;
}

std::vector<std::string> personalValues(const Lead& lead) {
  std::vector<std::string> out;
  forEachPersonalField(lead, [&](std::string_view, const std::string& value) {
    if (!value.empty()) out.push_back(value);
  });
  // Longest first, so a value that contains another is replaced whole.
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  return out;
}

std::string scrubbed(std::string detail, const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    for (size_t at = detail.find(v); at != std::string::npos; at = detail.find(v, at)) {
      detail.replace(at, v.size(), "[efface]");
      at += 8;
    }
  }
  return detail;
}

}  // namespace rdz
