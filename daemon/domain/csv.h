// RFC 4180 CSV with a configurable separator (RDZ uses ';'). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rdz {

using CsvRow = std::vector<std::string>;

// The UTF-8 byte order mark: French Excel needs it to read a CSV as UTF-8.
constexpr std::string_view UTF8_BOM = "\xEF\xBB\xBF";

// Parses a whole document: quoted fields may hold separators, quotes ("") and line breaks;
// CRLF or LF line ends; a leading UTF-8 BOM is skipped; blank lines are skipped.
// Throws (KJ_FAIL_REQUIRE) on an unterminated quote, naming the line.
std::vector<CsvRow> parseCsv(std::string_view text, char separator = ';');

// A cell a spreadsheet shows as text, never runs as a formula (SPEC §6): text starting with '=',
// '+', '-', '@', TAB or CR gets a leading '\''. Everything else is returned unchanged.
std::string spreadsheetSafe(std::string cell);

// One record, RFC 4180 quoting where needed (separator, quote, CR or LF in the cell), CRLF end.
std::string formatCsvRow(const CsvRow& row, char separator = ';');

}  // namespace rdz
