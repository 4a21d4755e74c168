// Fuzzes the rows of `rdzctl lead import` (client/import-rows): the same bytes as CSV and as
// JSON Lines. Properties: an unterminated CSV quote is a kj::Exception, nothing else throws; row
// numbers are 1, 2, 3…; a CSV row never has more fields than the header has columns.
#include <stdint.h>

#include <string>

#include "client/import-rows.h"
#include "daemon/domain/csv.h"
#include "tests/fuzz/fuzz-support.h"

using namespace rdz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (ImportFormat format : {ImportFormat::CSV, ImportFormat::JSON_LINES}) {
    std::vector<ImportInput> rows;
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { rows = parseImportRows(text, format); })) {
      if (format == ImportFormat::JSON_LINES) {
        fuzz::fail("JSON Lines threw", e->getDescription().cStr());
      }
      continue;
    }
    size_t columns = 0;
    if (format == ImportFormat::CSV && !rows.empty()) columns = parseCsv(text, ';')[0].size();
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].row != i + 1) fuzz::fail("row numbers");
      if (format == ImportFormat::CSV && rows[i].fields.size() > columns) fuzz::fail("columns");
    }
  }
  // The CSV writer's output parses back to the same cells (formatCsvRow is what exports write).
  CsvRow cells;
  size_t start = 0;
  while (start <= text.size() && cells.size() < 64) {
    size_t end = text.find('\x1f', start);
    if (end == std::string_view::npos) end = text.size();
    cells.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::string line = formatCsvRow(cells);
  std::vector<CsvRow> back;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { back = parseCsv(line, ';'); })) {
    fuzz::fail("formatCsvRow output does not parse", e->getDescription().cStr());
  }
  // A row of one empty cell is a blank line, and a leading BOM is the file's: both skipped by
  // design. Anything else comes back cell for cell.
  bool blank = cells.size() == 1 && cells[0].empty();
  bool bom = cells[0].starts_with(UTF8_BOM);
  if (!blank && !bom && (back.size() != 1 || back[0] != cells)) {
    fuzz::fail("formatCsvRow/parseCsv round trip", line);
  }
  return 0;
}
