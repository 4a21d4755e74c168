#include "daemon/domain/consent.h"

#include "daemon/domain/time.h"

namespace rdz {

std::vector<std::pair<std::string, std::string>> consentProof(const Lead& lead) {
  auto time = [](std::optional<Timestamp> t) {
    return t && *t != Timestamp{} ? formatIso(*t) : std::string();
  };
  auto ouiNon = [](bool b) { return std::string(b ? "oui" : "non"); };
  return {
      {"lead", lead.id},
      {"entite", std::string(entityName(lead.entity))},
      {"consentement", ouiNon(lead.consentement)},
      {"consentement_texte", lead.consentementTexte},
      {"consentement_le", time(lead.consentementLe)},
      {"page_url", lead.pageUrl},
      {"ip", lead.ip},
      {"user_agent", lead.userAgent},
      {"recu_le", time(lead.recuLe)},
      {"requete_ip", lead.requeteIp},
      {"requete_user_agent", lead.requeteUserAgent},
      {"requete_page_url", lead.requetePageUrl},
      {"efface", ouiNon(lead.efface)},
  };
}

}  // namespace rdz
