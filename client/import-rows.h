// The rows of `rdzctl lead import`: a CSV file (';', UTF-8, first row = field names) or JSON Lines
// (one object per line), as submissions. Pure: the caller reads the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

struct ImportInput {
  uint32_t row;  // 1-based data row in the file
  Submission fields;
  std::string error;  // client-side refusal (unparseable row); the row is not sent
};

enum class ImportFormat { CSV, JSON_LINES };

// Every data row of `text`, in order. CSV: blank cells are left out, a row with more cells than
// the header is refused; throws (KJ_FAIL_REQUIRE) on an unterminated quote. JSON Lines: blank
// lines are skipped, a line that is not a JSON object of scalars is refused.
std::vector<ImportInput> parseImportRows(std::string_view text, ImportFormat format);

}  // namespace rdz
