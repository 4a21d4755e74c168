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

}  // namespace
}  // namespace rdz
