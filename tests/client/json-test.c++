// client/json: submissions from JSON (the gateway's bodies, rdzctl's JSON Lines imports) and
// JSON string literals. Cases found by fuzzing (tests/fuzz/) are pinned here.
#include "client/json.h"

#include <gtest/gtest.h>
#include <kj/exception.h>

namespace rdz {
namespace {

TEST(SubmissionFromJson, DecodesUnicodeEscapesLikeRawUtf8) {
  // PHP's json_encode and Python's json.dumps send "Élodie" as "\u00c9lodie". Cap'n Proto 0.9.2
  // alone decodes it as ")lodie" (hex digits a-f off by 10).
  auto fields = submissionFromJson(
      R"({"prenom":"\u00c9lodie","ville":"Saint-\u00C9tienne \u00e9t\u00e9","emoji":"\ud83d\ude00"})");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].value, "Élodie");
  EXPECT_EQ(fields[1].value, "Saint-Étienne été");
  EXPECT_EQ(fields[2].value, "😀");
  EXPECT_EQ(submissionFromJson(R"({"nom":"\u004d\u0061rtin"})")[0].value, "Martin");
}

TEST(SubmissionFromJson, KeepsEscapedQuotesBackslashesAndNul) {
  auto fields = submissionFromJson(R"({"a\u0000b":"\u0022x\u005c\\u00e9\n"})");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].name, std::string("a\0b", 3));
  EXPECT_EQ(fields[0].value, "\"x\\\\u00e9\n");
}

TEST(SubmissionFromJson, RefusesBadEscapes) {
  for (const char* text : {R"({"a":"\ud83d"})", R"({"a":"\ude00x"})", R"({"a":"\ud83d\u0041"})",
                           R"({"a":"\u12"})", R"({"a":"\uzzzz"})"}) {
    EXPECT_THROW(submissionFromJson(text), kj::Exception) << text;
  }
}

TEST(SubmissionFromJson, NumbersBeyondInt64AreText) {
  // Converting 2e22 to int64 was undefined behaviour (UBSan: float-cast-overflow).
  auto fields = submissionFromJson(R"({"a":2e22,"b":33000,"c":-1.5,"d":1e999})");
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0].value, "2e22");
  EXPECT_EQ(fields[1].value, "33000");
  EXPECT_EQ(fields[2].value, "-1.5");
  EXPECT_EQ(fields[3].value, "inf");
}

TEST(JsonString, KeepsEverythingRoundTrip) {
  std::string text("a\0b\x01\"\\é", 8);
  EXPECT_EQ(jsonString(text), "\"a\\u0000b\\u0001\\\"\\\\é\"");
  auto back = submissionFromJson("{\"k\":" + jsonString(text) + "}");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].value, text);
}

// Found by the fault campaign (docs/FAULTS.md): a poster's \u-escaped non-ASCII arrives as
// the poster meant it.
std::string fieldOf(const Submission& s, const std::string& name) {
  for (auto& f : s) {
    if (f.name == name) return f.value;
  }
  return "<missing>";
}

TEST(SubmissionFromJsonEscapes, UnicodeEscapesBecomeUtf8) {
  auto s = submissionFromJson(
      R"({"nom":"N\u00f6m d'\u00C9t\u00e9","prenom":"L\u00e9a-Zo\u00eb","ville":"B\u00e8gles \u00ab sud \u00bb"})");
  EXPECT_EQ(fieldOf(s, "nom"), "Nöm d'Été");
  EXPECT_EQ(fieldOf(s, "prenom"), "Léa-Zoë");
  EXPECT_EQ(fieldOf(s, "ville"), "Bègles « sud »");
}

TEST(SubmissionFromJsonEscapes, RawUtf8AndEscapedGiveTheSameBytes) {
  auto raw = submissionFromJson(R"({"nom":"€ ✓ 😀 Ωmega"})");
  auto escaped = submissionFromJson(R"({"nom":"\u20ac \u2713 \ud83d\ude00 \u03a9mega"})");
  EXPECT_EQ(fieldOf(raw, "nom"), "€ ✓ 😀 Ωmega");
  EXPECT_EQ(fieldOf(escaped, "nom"), fieldOf(raw, "nom"));
}

TEST(SubmissionFromJsonEscapes, EscapedQuotesBackslashesAndControlsKeepTheirMeaning) {
  auto s = submissionFromJson(
      R"({"a":"x\u0022y","b":"x\u005cy","c":"x\\u00e9","d":"l1\u000al2\u0009t","e":"\"\\\/","f":"x\u001fy"})");
  EXPECT_EQ(fieldOf(s, "a"), "x\"y");
  EXPECT_EQ(fieldOf(s, "b"), "x\\y");
  EXPECT_EQ(fieldOf(s, "c"), "x\\u00e9");  // an escaped backslash, then plain text
  EXPECT_EQ(fieldOf(s, "d"), "l1\nl2\tt");
  EXPECT_EQ(fieldOf(s, "e"), "\"\\/");
  EXPECT_EQ(fieldOf(s, "f"), "x\x1fy");
}

TEST(SubmissionFromJsonEscapes, BrokenEscapesAreRefused) {
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\u00g1"})"));
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\ud83d"})"));        // lone high surrogate
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\ude00x"})"));       // lone low surrogate
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\u00e"})"));
}


}  // namespace
}  // namespace rdz

namespace rdz {
namespace {

// SPEC §7.3's JSON: `invalides` one object of code -> count, the pools null on a day without a
// run, a total without a date.
TEST(StatsJson, RendersTheSpecShape) {
  capnp::MallocMessageBuilder message;
  auto report = message.initRoot<schema::StatsReport>();
  report.setFrom("2026-07-14");
  report.setTo("2026-07-14");
  auto entity = report.initEntities(1)[0];
  entity.setEntity(schema::Entity::MDL);
  auto day = entity.initDays(1)[0];
  day.setDate("2026-07-14");
  day.setRecus(3);
  auto invalides = day.initInvalides(2);
  invalides[0].setCode("code_postal.missing");
  invalides[0].setCount(1);
  invalides[1].setCode("telephone.invalid");
  invalides[1].setCount(2);
  auto total = entity.initTotal();
  total.initInvalides(0);
  total.setRecus(3);
  total.setStockLb(0);
  total.setFreshInvendus(12);
  auto commande = entity.initCommandes(1)[0];
  commande.setId("C000001");
  commande.setClient("acme");
  commande.setProduit("PV");
  commande.setQuotaSemaine(10);
  commande.setLivresSemaine(3);
  commande.setCompletionPct(30);
  commande.setManque(7);
  EXPECT_EQ(
      toJson(report.asReader()),
      R"({"from":"2026-07-14","to":"2026-07-14","entities":[{"entity":"MDL","days":[{"date":)"
      R"("2026-07-14","recus":3,"invalides":{"code_postal.missing":1,"telephone.invalid":2},)"
      R"("livres_fresh":0,"livres_lb":0,"fallback_entrants":0,"fallback_sortants":0,)"
      R"("doublons_evites":0,"rejetes":0,"effaces":0,"stock_lb":null,"fresh_invendus":null}],)"
      R"("total":{"recus":3,"invalides":{},"livres_fresh":0,"livres_lb":0,"fallback_entrants":0,)"
      R"("fallback_sortants":0,"doublons_evites":0,"rejetes":0,"effaces":0,"stock_lb":0,)"
      R"("fresh_invendus":12},"commandes":[{"id":"C000001","client":"acme","produit":"PV",)"
      R"("quota_semaine":10,"livres_semaine":3,"lb_semaine":0,"remplacements_dus":0,)"
      R"("completion_pct":30,"manque":7}]}]})");

  // And back: the handlers decode what they encode.
  auto text = toJson(report.asReader());
  capnp::MallocMessageBuilder decoded;
  auto back = decoded.initRoot<schema::StatsReport>();
  rdzJson().decode(kj::arrayPtr(text.data(), text.size()), back);
  auto d = back.getEntities()[0].getDays()[0];
  EXPECT_EQ(d.getStockLb(), -1);
  ASSERT_EQ(d.getInvalides().size(), 2u);
  EXPECT_EQ(d.getInvalides()[1].getCode(), "telephone.invalid");
  EXPECT_EQ(d.getInvalides()[1].getCount(), 2u);
  EXPECT_EQ(back.getEntities()[0].getTotal().getFreshInvendus(), 12);
}

}  // namespace
}  // namespace rdz
