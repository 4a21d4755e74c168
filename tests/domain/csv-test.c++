// RFC 4180 CSV (csv.h): parsing of imports and rendering of deliveries.
#include "daemon/domain/csv.h"

#include <gtest/gtest.h>
#include <kj/exception.h>

namespace rdz {
namespace {

using Rows = std::vector<CsvRow>;

std::string parseError(std::string_view text) {
  try {
    parseCsv(text);
  } catch (const kj::Exception& e) {
    return std::string(e.getDescription().cStr());
  }
  ADD_FAILURE() << "no error for " << testing::PrintToString(std::string(text));
  return "";
}

TEST(ParseCsv, SimpleCrlf) {
  EXPECT_EQ(parseCsv("nom;prenom\r\nDupont;Marie\r\n"),
            (Rows{{"nom", "prenom"}, {"Dupont", "Marie"}}));
}

TEST(ParseCsv, LfAndNoFinalLineEnd) {
  EXPECT_EQ(parseCsv("a;b\nc;d"), (Rows{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(parseCsv("a;b\r\nc;d\ne;f\r\n"), (Rows{{"a", "b"}, {"c", "d"}, {"e", "f"}}));
}

TEST(ParseCsv, LoneCrEndsALine) {
  EXPECT_EQ(parseCsv("a;b\rc;d\r"), (Rows{{"a", "b"}, {"c", "d"}}));
}

TEST(ParseCsv, EmptyDocument) {
  EXPECT_EQ(parseCsv(""), Rows{});
  EXPECT_EQ(parseCsv("\r\n\n\r\n"), Rows{});
  EXPECT_EQ(parseCsv("\xEF\xBB\xBF"), Rows{});
}

TEST(ParseCsv, BlankLinesAreSkipped) {
  EXPECT_EQ(parseCsv("\r\na;b\r\n\r\n\nc;d\r\n\r\n"), (Rows{{"a", "b"}, {"c", "d"}}));
}

TEST(ParseCsv, EmptyCellsAreKept) {
  EXPECT_EQ(parseCsv("a;;c\n;\n;b\na;\n"), (Rows{{"a", "", "c"}, {"", ""}, {"", "b"}, {"a", ""}}));
  // A line holding only an empty quoted cell is a record, not a blank line.
  EXPECT_EQ(parseCsv("\"\"\n"), (Rows{{""}}));
}

TEST(ParseCsv, SpacesAreData) {
  EXPECT_EQ(parseCsv(" a ; b \n"), (Rows{{" a ", " b "}}));
  EXPECT_EQ(parseCsv("   \n"), (Rows{{"   "}}));
}

TEST(ParseCsv, QuotedCells) {
  EXPECT_EQ(parseCsv("\"a;b\";\"c\"\"d\";\"\"\n"), (Rows{{"a;b", "c\"d", ""}}));
  EXPECT_EQ(parseCsv("\"\"\"\"\n"), (Rows{{"\""}}));
  EXPECT_EQ(parseCsv("x;\"\"\"quoted\"\"\"\n"), (Rows{{"x", "\"quoted\""}}));
}

TEST(ParseCsv, LineBreaksInsideQuotes) {
  EXPECT_EQ(parseCsv("\"ligne 1\nligne 2\";x\r\n\"a\r\nb\";y\r\n\"\r\n\r\n\";z\r\n"),
            (Rows{{"ligne 1\nligne 2", "x"}, {"a\r\nb", "y"}, {"\r\n\r\n", "z"}}));
}

TEST(ParseCsv, QuoteInsideUnquotedCellIsLiteral) {
  EXPECT_EQ(parseCsv("5\" pouces;a\"b\"\n"), (Rows{{"5\" pouces", "a\"b\""}}));
}

TEST(ParseCsv, TextAfterClosingQuoteIsKept) {
  EXPECT_EQ(parseCsv("\"abc\"def;x\n"), (Rows{{"abcdef", "x"}}));
}

TEST(ParseCsv, LeadingBomIsSkippedOnlyAtTheStart) {
  EXPECT_EQ(parseCsv("\xEF\xBB\xBFnom;prenom\r\nA;B\r\n"), (Rows{{"nom", "prenom"}, {"A", "B"}}));
  EXPECT_EQ(parseCsv("\xEF\xBB\xBF\"nom\";x\r\n"), (Rows{{"nom", "x"}}));
  EXPECT_EQ(parseCsv("a\n\xEF\xBB\xBF"
                     "b\n"),
            (Rows{{"a"},
                  {"\xEF\xBB\xBF"
                   "b"}}));
}

TEST(ParseCsv, OtherSeparator) {
  EXPECT_EQ(parseCsv("a,b;c,\"d,e\"\n", ','), (Rows{{"a", "b;c", "d,e"}}));
  EXPECT_EQ(parseCsv("a\tb\n", '\t'), (Rows{{"a", "b"}}));
}

TEST(ParseCsv, Utf8IsPassedThrough) {
  EXPECT_EQ(parseCsv("Noël;Hélène\n"), (Rows{{"Noël", "Hélène"}}));
}

TEST(ParseCsv, UnterminatedQuoteNamesTheLine) {
  std::string message = parseError("a;b\r\nc;d\r\ne;\"f\r\ng;h\r\n");
  EXPECT_NE(message.find("unterminated"), std::string::npos) << message;
  EXPECT_NE(message.find("line = 3"), std::string::npos) << message;

  message = parseError("\"");
  EXPECT_NE(message.find("line = 1"), std::string::npos) << message;

  // Line numbers count the line breaks inside earlier quoted cells too.
  message = parseError("\"a\nb\";c\n\"x");
  EXPECT_NE(message.find("line = 3"), std::string::npos) << message;
  message = parseError("\"a\r\nb\rc\";d\r\n\"x");
  EXPECT_NE(message.find("line = 4"), std::string::npos) << message;

  // "" inside a quoted cell is an escaped quote, not the end of it.
  message = parseError("\"abc\"\"");
  EXPECT_NE(message.find("line = 1"), std::string::npos) << message;
}

TEST(FormatCsvRow, Plain) {
  EXPECT_EQ(formatCsvRow({"a", "b", "c"}), "a;b;c\r\n");
  EXPECT_EQ(formatCsvRow({"a", "", "c"}), "a;;c\r\n");
  EXPECT_EQ(formatCsvRow({" a ", "Noël"}), " a ;Noël\r\n");
  EXPECT_EQ(formatCsvRow({"a,b"}), "a,b\r\n");  // not the separator: no quotes needed
  EXPECT_EQ(formatCsvRow({}), "\r\n");
}

TEST(FormatCsvRow, QuotesWhereNeeded) {
  EXPECT_EQ(formatCsvRow({"a;b", "c"}), "\"a;b\";c\r\n");
  EXPECT_EQ(formatCsvRow({"5\" pouces"}), "\"5\"\" pouces\"\r\n");
  EXPECT_EQ(formatCsvRow({"l1\nl2"}), "\"l1\nl2\"\r\n");
  EXPECT_EQ(formatCsvRow({"l1\rl2"}), "\"l1\rl2\"\r\n");
  EXPECT_EQ(formatCsvRow({"\""}), "\"\"\"\"\r\n");
  EXPECT_EQ(formatCsvRow({"a,b", "c"}, ','), "\"a,b\",c\r\n");
  EXPECT_EQ(formatCsvRow({"a;b"}, ','), "a;b\r\n");
}

TEST(FormatCsvRow, SingleEmptyCellIsNotABlankLine) {
  EXPECT_EQ(formatCsvRow({""}), "\"\"\r\n");
  EXPECT_EQ(parseCsv(formatCsvRow({""})), (Rows{{""}}));
}

TEST(Csv, RoundTrip) {
  Rows rows = {
      {"nom", "prenom", "telephone", "commentaire"},
      {"Dupont", "Marie", "0612345678", "rappeler \"après 18h\"; merci"},
      {"O'Neil", "", "", "ligne 1\r\nligne 2\nligne 3\rfin"},
      {";", "\"", "\"\"", ";;\";"},
      {" espaces ", "\t", "Hélène", "€"},
      {"", "", "", ""},
      {"\xEF\xBB\xBF"
       "bom-in-cell"},
      {""},
  };
  for (char separator : {';', ',', '\t'}) {
    SCOPED_TRACE(testing::PrintToString(separator));
    std::string document;
    for (const CsvRow& row : rows) document += formatCsvRow(row, separator);
    EXPECT_EQ(parseCsv(document, separator), rows);
    // Same with a BOM in front, as Excel writes it.
    EXPECT_EQ(parseCsv("\xEF\xBB\xBF" + document, separator), rows);
  }
}

}  // namespace
}  // namespace rdz
