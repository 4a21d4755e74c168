// A lead's history (history.h, SPEC §3.3): one constructor per event, its name, its French text;
// legacy records (name and text only) keep both; an erasure scrubs only free text.
#include "daemon/domain/history.h"

#include <gtest/gtest.h>

namespace rdz {
namespace {

Timestamp at(int64_t seconds) { return Timestamp(std::chrono::seconds(seconds)); }

Delivery delivery() {
  Delivery d;
  d.id = "0KX7ZC7G0000D";
  d.leadEntity = Entity::ZR7;
  d.entity = Entity::MDL;
  d.lead = "0KX7ZC7G0000A";
  d.commande = "C000003";
  d.client = "mdl-acme";
  d.run = "2026-11-25";
  d.pass = PassKind::FRESH_FALLBACK;
  d.batch = "0KX7ZC7G0000B";
  d.rejet = "faux_numero";
  d.rejeteLe = at(1795686000);  // 2026-11-26T10:40:00+01:00
  return d;
}

TEST(History, EveryKindHasItsNameAndFrenchText) {
  Batch b;
  b.id = "0KX7ZC7G0000B";
  b.client = "acme";
  DuplicateSkip skip{"L", Entity::ZR7, "acme", "C000001", at(1795348800), "PV"};  // 2026-11-22
  struct Case {
    HistoryEvent event;
    const char* name;
    const char* text;
  };
  for (const Case& c : std::initializer_list<Case>{
           {history::received(at(1), "ingest"), "recu", "reçu via ingest"},
           {history::doubleSubmission(at(1), "0KX7ZC7G0000A"), "doublon",
            "double soumission du lead 0KX7ZC7G0000A"},
           {history::opposedAtReception(at(1), Entity::MDL), "opposition",
            "numéro sur la liste d'opposition de MDL"},
           {history::opposedInRun(at(1), Entity::ZR7, "2026-11-25"), "opposition",
            "non livré: numéro sur la liste d'opposition de ZR7 (run 2026-11-25)"},
           {history::problems(at(1), {"email.invalid", "telephone.invalid"}), "problemes",
            "problèmes: email.invalid, telephone.invalid"},
           {history::status(at(1), Statut::INVALID), "statut", "statut invalide"},
           {history::aged(at(1), "2026-11-25"), "statut",
            "statut LB (vieillissement, run 2026-11-25)"},
           {history::delivered(at(1), delivery()), "livraison",
            "livré à mdl-acme (commande C000003, passe fresh en fallback, repli vers MDL), lot "
            "0KX7ZC7G0000B, run 2026-11-25"},
           {history::duplicateSkipped(at(1), skip, "2026-11-25"), "doublon_evite",
            "non livré à acme (commande C000001): l'a déjà reçu le 2026-11-22 (run 2026-11-25)"},
           {history::sent(at(1), b), "envoi", "lot 0KX7ZC7G0000B envoyé à acme"},
           {history::rejected(at(1), delivery(), "semaine"), "rejet",
            "rejeté par mdl-acme, raison faux numéro, le 2026-11-26T10:40:00+01:00: livraison "
            "0KX7ZC7G0000D (commande C000003, run 2026-11-25), crédit semaine"},
           {history::erased(at(1)), "effacement", "données personnelles effacées (RGPD)"},
           {history::droppedFromBatch(at(1), delivery(), "remplacement_du"), "retrait_lot",
            "retiré du lot 0KX7ZC7G0000B (commande C000003, crédit remplacement dû): effacé "
            "avant l'envoi"}}) {
    EXPECT_FALSE(c.event.legacy);
    EXPECT_EQ(historyEventName(c.event), c.name);
    EXPECT_EQ(historyText(c.event), c.text);
  }
  // A delivery in its own entity says no fallback.
  Delivery own = delivery();
  own.entity = Entity::ZR7;
  own.pass = PassKind::LB;
  EXPECT_EQ(historyText(history::delivered(at(1), own)),
            "livré à mdl-acme (commande C000003, passe LB), lot 0KX7ZC7G0000B, run 2026-11-25");
}

// The gateway's time and the request's proof (rdz-gateway): the texts people have been reading.
TEST(History, GatewayTimeAndRequestProof) {
  const Timestamp accepted = at(1795686000);  // 2026-11-26T10:40:00+01:00
  const Timestamp got = at(1795686900);       // 15 minutes later
  EXPECT_EQ(historyText(history::forwarded(got, accepted, GatewayTime::USED, true)),
            "reçu par la passerelle le 2026-11-26T10:40:00+01:00, transmis le "
            "2026-11-26T10:55:00+01:00 (rejeu du spool)");
  EXPECT_EQ(historyText(history::forwarded(got, accepted, GatewayTime::USED, false)),
            "reçu par la passerelle le 2026-11-26T10:40:00+01:00, transmis le "
            "2026-11-26T10:55:00+01:00");
  EXPECT_EQ(historyText(history::forwarded(got, accepted, GatewayTime::NOT_A_GATEWAY, true)),
            "heure de la passerelle 2026-11-26T10:40:00+01:00 ignorée : le jeton n'a pas le rôle "
            "gateway");
  EXPECT_EQ(historyText(history::forwarded(got, accepted, GatewayTime::IN_FUTURE, false)),
            "heure de la passerelle 2026-11-26T10:40:00+01:00 ignorée : postérieure à l'heure de "
            "rdzd");
  EXPECT_EQ(historyText(history::forwarded(got, accepted, GatewayTime::TOO_OLD, false)),
            "heure de la passerelle 2026-11-26T10:40:00+01:00 ignorée : plus ancienne que la "
            "limite du spool");
  EXPECT_EQ(historyEventName(history::forwarded(got, accepted, GatewayTime::USED, true)),
            "transmis");

  HistoryEvent proof = history::requestProof(got, {"192.0.2.8", "", "https://landing.example/f"},
                                             {"127.0.0.1", "curl/8", "https://other.example"});
  EXPECT_EQ(historyEventName(proof), "preuve");
  EXPECT_EQ(historyText(proof),
            "formulaire: ip \"192.0.2.8\", user_agent \"\", page_url "
            "\"https://landing.example/f\"; requête: ip \"127.0.0.1\", user_agent \"curl/8\", "
            "page_url \"https://other.example\"");
  // Personal values: an erasure wipes them.
  EXPECT_TRUE(scrubHistory(proof, {"https://landing.example/f", "192.0.2.8", "127.0.0.1"}));
  EXPECT_EQ(historyText(proof),
            "formulaire: ip \"[efface]\", user_agent \"\", page_url \"[efface]\"; requête: ip "
            "\"[efface]\", user_agent \"curl/8\", page_url \"https://other.example\"");
  EXPECT_EQ(legacyHistoryEvent(got, "preuve", "formulaire: …").kind, HistoryKind::PREUVE);
  EXPECT_EQ(legacyHistoryEvent(got, "transmis", "reçu par …").kind, HistoryKind::TRANSMIS);
}

TEST(History, LegacyRecordsKeepTheirNameAndText) {
  HistoryEvent e = legacyHistoryEvent(at(5), "rejet", "raison faux_numero le …");
  EXPECT_TRUE(e.legacy);
  EXPECT_EQ(e.kind, HistoryKind::REJET);
  EXPECT_EQ(e.at, at(5));
  EXPECT_EQ(historyEventName(e), "rejet");
  EXPECT_EQ(historyText(e), "raison faux_numero le …");
  HistoryEvent unknown = legacyHistoryEvent(at(5), "autre", "x");
  EXPECT_EQ(unknown.kind, HistoryKind::LEGACY);
  EXPECT_EQ(historyEventName(unknown), "autre");
}

TEST(History, ErasureScrubsOnlyFreeText) {
  std::vector<std::string> personal = {"Dupont", "+33612345678"};
  HistoryEvent old = legacyHistoryEvent(at(1), "doublon_evite", "client acme: Dupont +33612345678");
  EXPECT_TRUE(scrubHistory(old, personal));
  EXPECT_EQ(historyText(old), "client acme: [efface] [efface]");
  EXPECT_FALSE(scrubHistory(old, personal));  // nothing left
  // Typed details are ids and codes: nothing to wipe, nothing changed.
  HistoryEvent typed = history::delivered(at(1), delivery());
  HistoryEvent copy = typed;
  EXPECT_FALSE(scrubHistory(typed, personal));
  EXPECT_EQ(typed, copy);
}

}  // namespace
}  // namespace rdz
