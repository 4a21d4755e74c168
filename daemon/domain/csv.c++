#include "daemon/domain/csv.h"

#include <kj/debug.h>

namespace rdz {

namespace {


}  // namespace

std::vector<CsvRow> parseCsv(std::string_view text, char separator) {
  KJ_REQUIRE(separator != '"' && separator != '\r' && separator != '\n',
             "a CSV separator cannot be a quote or a line break");
  if (text.substr(0, UTF8_BOM.size()) == UTF8_BOM) text.remove_prefix(UTF8_BOM.size());

  std::vector<CsvRow> rows;
  CsvRow row;
  std::string cell;
  // True once the current record has any content (a character or a separator), so that an
  // empty line is recognised as blank and skipped while `""` alone is a one-cell record.
  bool recordStarted = false;
  size_t currentLine = 1;
  size_t i = 0;

  auto endRecord = [&]() {
    if (recordStarted) {
      row.push_back(std::move(cell));
      rows.push_back(std::move(row));
    }
    row = CsvRow();
    cell.clear();
    recordStarted = false;
  };

  while (i < text.size()) {
    char c = text[i];
    if (c == '"' && cell.empty() && (!recordStarted || text[i - 1] == separator)) {
      // Quoted field: runs to the next lone quote, across separators and line breaks.
      recordStarted = true;
      size_t line = currentLine;  // named for the error message: "line = 3"
      ++i;
      for (;;) {
        if (i == text.size()) KJ_FAIL_REQUIRE("CSV refused: unterminated quoted field", line);
        char q = text[i];
        if (q == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        bool lineEnd = q == '\n' || (q == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'));
        if (lineEnd) ++currentLine;
        cell.push_back(q);
        ++i;
      }
      // Anything between the closing quote and the next separator or line end is kept as
      // written (as spreadsheets do) rather than refusing the whole file.
      continue;
    }
    if (c == separator) {
      recordStarted = true;
      row.push_back(std::move(cell));
      cell.clear();
      ++i;
    } else if (c == '\r' || c == '\n') {
      endRecord();
      ++currentLine;
      // CRLF is one line end; a lone CR (old Mac exports) is one too.
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
    } else {
      recordStarted = true;
      cell.push_back(c);
      ++i;
    }
  }
  endRecord();
  return rows;
}

std::string formatCsvRow(const CsvRow& row, char separator) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out.push_back(separator);
    const std::string& cell = row[i];
    bool quote = cell.find_first_of(std::string{separator, '"', '\r', '\n'}) != std::string::npos;
    // A record made of one empty cell would be written as an empty line, which readers skip.
    if (row.size() == 1 && cell.empty()) quote = true;
    if (!quote) {
      out += cell;
      continue;
    }
    out.push_back('"');
    for (char c : cell) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out += "\r\n";
  return out;
}

std::string spreadsheetSafe(std::string cell) {
  if (!cell.empty() && std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos) {
    cell.insert(cell.begin(), '\'');
  }
  return cell;
}

}  // namespace rdz
