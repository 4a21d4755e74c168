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

Lead erased(Lead lead) {
  for (std::string* field : {&lead.nom, &lead.prenom, &lead.telephone, &lead.telephoneE164,
                             &lead.email, &lead.codePostal, &lead.ville, &lead.ip,
                             &lead.userAgent, &lead.pageUrl, &lead.consentementTexte,
                             &lead.requeteIp, &lead.requeteUserAgent, &lead.requetePageUrl}) {
    field->clear();
    field->shrink_to_fit();
  }
  lead.efface = true;
  return lead;
}

std::vector<std::string> personalValues(const Lead& lead) {
  std::vector<std::string> out;
  for (const std::string* field :
       {&lead.nom, &lead.prenom, &lead.telephone, &lead.telephoneE164, &lead.email,
        &lead.codePostal, &lead.ville, &lead.ip, &lead.userAgent, &lead.pageUrl,
        &lead.consentementTexte, &lead.requeteIp, &lead.requeteUserAgent,
        &lead.requetePageUrl}) {
    if (!field->empty()) out.push_back(*field);
  }
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
