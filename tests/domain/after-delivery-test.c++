// The rules of rejection and erasure (after-delivery.h, SPEC §7.1–7.2).
#include "daemon/domain/after-delivery.h"

#include <gtest/gtest.h>

#include "daemon/domain/time.h"

namespace rdz {
namespace {

using namespace std::chrono_literals;

Timestamp at(const char* iso) { return *parseIso(iso); }

Delivery delivered(const char* run, const char* when) {
  Delivery d;
  d.id = "D1";
  d.lead = "L1";
  d.run = run;
  d.at = at(when);
  return d;
}

Lead deliveredLead() {
  Lead l;
  l.id = "L1";
  l.statut = Statut::DELIVERED;
  return l;
}

TEST(Rejection, WindowIsSevenTimes24HoursBothEndsIncluded) {
  auto d = delivered("2026-11-24", "2026-11-24T09:30:00+01:00");
  Lead l = deliveredLead();
  EXPECT_EQ(rejectionRefusal(l, d, "autre", d.at), std::nullopt);
  EXPECT_EQ(rejectionRefusal(l, d, "autre", d.at + REJECTION_WINDOW), std::nullopt);
  auto late = rejectionRefusal(l, d, "autre", d.at + REJECTION_WINDOW + 1s);
  ASSERT_TRUE(late.has_value());
  EXPECT_NE(late->find("window is over"), std::string::npos) << *late;
  auto early = rejectionRefusal(l, d, "autre", d.at - 1s);
  ASSERT_TRUE(early.has_value());
  EXPECT_NE(early->find("before the delivery"), std::string::npos) << *early;
}

TEST(Rejection, ReasonsNeverDeliveredAlreadyRejected) {
  auto d = delivered("2026-11-24", "2026-11-24T09:30:00+01:00");
  Lead l = deliveredLead();
  for (auto r : {"faux_numero", "injoignable", "hors_zone", "doublon", "hors_cible", "autre"}) {
    EXPECT_EQ(rejectionRefusal(l, d, r, d.at), std::nullopt) << r;
  }
  EXPECT_TRUE(rejectionRefusal(l, d, "FAUX_NUMERO", d.at).has_value());
  EXPECT_TRUE(rejectionRefusal(l, d, "", d.at).has_value());
  EXPECT_NE(rejectionRefusal(l, std::nullopt, "autre", d.at)->find("never delivered"),
            std::string::npos);
  l.statut = Statut::REJECTED;
  EXPECT_NE(rejectionRefusal(l, d, "autre", d.at)->find("already rejected"), std::string::npos);
}

TEST(Rejection, CreditIsTheWeekOfTheRunOrAReplacement) {
  // Run of Tuesday 24 November 2026 (week 48); the week ends Sunday 29 at 24:00 Paris.
  auto d = delivered("2026-11-24/zr7", "2026-11-24T09:30:00+01:00");
  EXPECT_EQ(creditFor(d, at("2026-11-29T23:59:59+01:00")), Credit::WEEK);
  EXPECT_EQ(creditFor(d, at("2026-11-30T00:00:00+01:00")), Credit::REPLACEMENT);
  EXPECT_EQ(creditName(Credit::WEEK), "semaine");
  EXPECT_EQ(creditName(Credit::REPLACEMENT), "remplacement_du");
}

TEST(Rejection, LatestDeliveryIsTheOneRejected) {
  auto a = delivered("2026-10-01", "2026-10-01T09:30:00+02:00");
  auto b = delivered("2026-11-24", "2026-11-24T09:30:00+01:00");
  b.id = "D2";
  EXPECT_EQ(latestDelivery({b, a})->id, "D2");
  EXPECT_EQ(latestDelivery({}), std::nullopt);
}

TEST(Erasure, WipesEveryPersonalFieldAndKeepsTheRest) {
  Lead l;
  l.id = "L1";
  l.entity = Entity::MDL;
  l.produit = "PV";
  l.nom = "Dupont";
  l.prenom = "Jeanne";
  l.telephone = "06 12 34 56 78";
  l.telephoneE164 = "+33612345678";
  l.email = "j@d.fr";
  l.codePostal = "33000";
  l.departement = "33";
  l.ville = "Bordeaux";
  l.ip = "10.0.0.1";
  l.userAgent = "UA";
  l.pageUrl = "https://x";
  l.consentementTexte = "oui je veux";
  l.requeteIp = "203.0.113.9";
  l.requeteUserAgent = "Mozilla/5.0";
  l.requetePageUrl = "https://landing.example/a";
  l.statut = Statut::DELIVERED;
  l.nbLivraisons = 2;
  Lead e = erased(l);
  EXPECT_TRUE(e.efface);
  for (auto* f : {&e.nom, &e.prenom, &e.telephone, &e.telephoneE164, &e.email, &e.codePostal,
                  &e.ville, &e.ip, &e.userAgent, &e.pageUrl, &e.consentementTexte, &e.requeteIp,
                  &e.requeteUserAgent, &e.requetePageUrl}) {
    EXPECT_EQ(*f, "");
  }
  EXPECT_EQ(e.id, "L1");
  EXPECT_EQ(e.entity, Entity::MDL);
  EXPECT_EQ(e.produit, "PV");
  EXPECT_EQ(e.departement, "33");
  EXPECT_EQ(e.statut, Statut::DELIVERED);
  EXPECT_EQ(e.nbLivraisons, 2u);
  EXPECT_EQ(scrubbed("appel de Jeanne Dupont au 06 12 34 56 78", personalValues(l)),
            "appel de [efface] [efface] au [efface]");
  // What the request said (the history's "preuve" detail holds it) is wiped from history too.
  EXPECT_EQ(scrubbed("requête: ip \"203.0.113.9\", user_agent \"Mozilla/5.0\"", personalValues(l)),
            "requête: ip \"[efface]\", user_agent \"[efface]\"");
}

}  // namespace
}  // namespace rdz
