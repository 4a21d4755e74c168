// The consent proof a broker hands to a client (SPEC §3.1): its members, in order.
#include "daemon/domain/consent.h"

#include <date/date.h>
#include <gtest/gtest.h>

namespace rdz {
namespace {

TEST(ConsentProof, EveryMemberInOrderAsText) {
  Lead lead;
  lead.id = "001K1JSJCFRYK";
  lead.entity = Entity::MDL;
  lead.consentement = true;
  lead.consentementTexte = "J'accepte d'être rappelé";
  // 2026-08-12 07:25:03 UTC: 09:25:03 in Paris.
  Timestamp at(date::sys_days(date::year(2026) / 8 / 12).time_since_epoch() +
               std::chrono::hours(7) + std::chrono::minutes(25) + std::chrono::seconds(3));
  lead.consentementLe = at;
  lead.recuLe = at;
  lead.pageUrl = "https://landing.example/pac";
  lead.ip = "203.0.113.7";
  lead.userAgent = "Mozilla/5.0";
  lead.requeteIp = "203.0.113.7";
  auto proof = consentProof(lead);
  std::vector<std::pair<std::string, std::string>> expected = {
      {"lead", "001K1JSJCFRYK"},
      {"entite", "MDL"},
      {"consentement", "oui"},
      {"consentement_texte", "J'accepte d'être rappelé"},
      {"consentement_le", "2026-08-12T09:25:03+02:00"},
      {"page_url", "https://landing.example/pac"},
      {"ip", "203.0.113.7"},
      {"user_agent", "Mozilla/5.0"},
      {"recu_le", "2026-08-12T09:25:03+02:00"},
      {"requete_ip", "203.0.113.7"},
      {"requete_user_agent", ""},
      {"requete_page_url", ""},
      {"efface", "non"},
  };
  EXPECT_EQ(proof, expected);

  lead.consentementLe.reset();
  lead.efface = true;
  proof = consentProof(lead);
  EXPECT_EQ(proof[4], (std::pair<std::string, std::string>{"consentement_le", ""}));
  EXPECT_EQ(proof.back(), (std::pair<std::string, std::string>{"efface", "oui"}));
}

}  // namespace
}  // namespace rdz
