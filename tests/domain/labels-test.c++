// French labels of coded values (labels.h): every value of the domain's enums and code lists has
// one, the label is French (never the English code), and an unknown code falls back to itself.
// tests/client/labels-test.c++ walks the schema's enums the same way.
#include "daemon/domain/labels.h"

#include <gtest/gtest.h>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/explain.h"
#include "daemon/domain/history.h"
#include "daemon/domain/outbox.h"

namespace rdz {
namespace {

void expectLabel(std::string_view field, std::string_view code) {
  auto label = frenchLabel(field, code);
  ASSERT_TRUE(label.has_value()) << field << " " << code;
  EXPECT_FALSE(label->empty()) << field << " " << code;
  EXPECT_EQ(label->find("unknown"), std::string_view::npos) << field << " " << code;
}

TEST(Labels, EveryDomainCodeHasAFrenchLabel) {
  for (Statut s : {Statut::NEW, Statut::DELIVERED, Statut::LB, Statut::INVALID,
                   Statut::REJECTED}) {
    expectLabel("statut", statutName(s));
  }
  for (PassKind p : {PassKind::FRESH, PassKind::FRESH_FALLBACK, PassKind::LB,
                     PassKind::LB_FALLBACK}) {
    expectLabel("pass", passName(p));
    expectLabel("passe", passName(p));  // an explanation's reason names its pass so
  }
  for (BatchStatus s : {BatchStatus::PENDING, BatchStatus::SENT, BatchStatus::FAILED}) {
    expectLabel("status", batchStatusName(s));
  }
  for (auto run : {"committed", "complete", "dry-run"}) expectLabel("status", run);
  for (auto reason : rejectionReasons()) expectLabel("rejet", reason);
  expectLabel("rejet", REJET_EFFACE);
  for (Credit c : {Credit::WEEK, Credit::REPLACEMENT}) expectLabel("credit", creditName(c));
  for (uint8_t r = 0; r <= static_cast<uint8_t>(Reason::HORS_RUN); ++r) {
    expectLabel("raison", reasonName(static_cast<Reason>(r)));
  }
  for (uint8_t k = static_cast<uint8_t>(HistoryKind::RECU);
       k <= static_cast<uint8_t>(HistoryKind::PREUVE); ++k) {
    HistoryEvent e;
    e.kind = static_cast<HistoryKind>(k);
    expectLabel("event", historyEventName(e));
  }
}

TEST(Labels, FrenchWordsNotCodes) {
  EXPECT_EQ(statutLabel(Statut::DELIVERED), "livré");
  EXPECT_EQ(statutLabel(Statut::NEW), "nouveau");
  EXPECT_EQ(statutLabel(Statut::REJECTED), "rejeté");
  EXPECT_EQ(passLabel(PassKind::LB_FALLBACK), "LB en fallback");
  EXPECT_EQ(*frenchLabel("status", "failed"), "en échec");
  EXPECT_EQ(*frenchLabel("proprietaire", "unknown"), "non renseigné");
  EXPECT_EQ(*frenchLabel("type_logement", "unknown"), "non renseigné");
  EXPECT_EQ(*frenchLabel("event", "doublon_evite"), "doublon évité");
  EXPECT_EQ(rejectionReasonLabel("faux_numero"), "faux numéro");
  // The same code in two concepts: the field decides.
  EXPECT_EQ(*frenchLabel("event", "doublon"), "double soumission");
  EXPECT_EQ(*frenchLabel("rejet", "doublon"), "doublon");
}

TEST(Labels, UnknownCodesAndFieldsFallBackToTheCode) {
  EXPECT_FALSE(frenchLabel("statut", "archived").has_value());
  EXPECT_FALSE(frenchLabel("nom", "delivered").has_value());  // not a coded field
  EXPECT_EQ(labelOrCode("event", "allocation"), "allocation");  // a legacy history name
  EXPECT_EQ(labelOrCode("passe", ""), "");                     // hors_run has no pass
}

}  // namespace
}  // namespace rdz
