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
