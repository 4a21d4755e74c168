// JSON submissions (gateway posts, `rdzctl lead import` JSONL): every field arrives exactly as
// the poster meant it, whether its non-ASCII is raw UTF-8 or \u-escaped (PHP's json_encode and
// Python's json.dumps escape by default). Found by the fault campaign (docs/FAULTS.md).
#include <gtest/gtest.h>
#include <kj/exception.h>

#include "client/json.h"

namespace rdz {
namespace {

std::string fieldOf(const Submission& s, const std::string& name) {
  for (auto& f : s) {
    if (f.name == name) return f.value;
  }
  return "<missing>";
}

TEST(SubmissionFromJson, UnicodeEscapesBecomeUtf8) {
  auto s = submissionFromJson(
      R"({"nom":"N\u00f6m d'\u00C9t\u00e9","prenom":"L\u00e9a-Zo\u00eb","ville":"B\u00e8gles \u00ab sud \u00bb"})");
  EXPECT_EQ(fieldOf(s, "nom"), "Nöm d'Été");
  EXPECT_EQ(fieldOf(s, "prenom"), "Léa-Zoë");
  EXPECT_EQ(fieldOf(s, "ville"), "Bègles « sud »");
}

TEST(SubmissionFromJson, RawUtf8AndEscapedGiveTheSameBytes) {
  auto raw = submissionFromJson(R"({"nom":"€ ✓ 😀 Ωmega"})");
  auto escaped = submissionFromJson(R"({"nom":"\u20ac \u2713 \ud83d\ude00 \u03a9mega"})");
  EXPECT_EQ(fieldOf(raw, "nom"), "€ ✓ 😀 Ωmega");
  EXPECT_EQ(fieldOf(escaped, "nom"), fieldOf(raw, "nom"));
}

TEST(SubmissionFromJson, EscapedQuotesBackslashesAndControlsKeepTheirMeaning) {
  auto s = submissionFromJson(
      R"({"a":"x\u0022y","b":"x\u005cy","c":"x\\u00e9","d":"l1\u000al2\u0009t","e":"\"\\\/","f":"x\u001fy"})");
  EXPECT_EQ(fieldOf(s, "a"), "x\"y");
  EXPECT_EQ(fieldOf(s, "b"), "x\\y");
  EXPECT_EQ(fieldOf(s, "c"), "x\\u00e9");  // an escaped backslash, then plain text
  EXPECT_EQ(fieldOf(s, "d"), "l1\nl2\tt");
  EXPECT_EQ(fieldOf(s, "e"), "\"\\/");
  EXPECT_EQ(fieldOf(s, "f"), "x\x1fy");
}

TEST(SubmissionFromJson, BrokenEscapesAreRefused) {
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\u00g1"})"));
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\ud83d"})"));        // lone high surrogate
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\ude00x"})"));       // lone low surrogate
  EXPECT_ANY_THROW(submissionFromJson(R"({"nom":"\u00e"})"));
}

}  // namespace
}  // namespace rdz
