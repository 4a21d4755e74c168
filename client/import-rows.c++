#include "client/import-rows.h"

#include <kj/debug.h>

#include <sstream>

#include "client/connection.h"
#include "client/json.h"
#include "daemon/domain/csv.h"
#include "daemon/domain/validation.h"

namespace rdz {

std::vector<ImportInput> parseImportRows(std::string_view text, ImportFormat format) {
  std::vector<ImportInput> rows;
  if (format == ImportFormat::CSV) {
    auto table = parseCsv(text, ';');
    if (table.empty()) return rows;
    const auto& header = table[0];
    for (size_t r = 1; r < table.size(); ++r) {
      ImportInput input{static_cast<uint32_t>(r), {}, {}};
      if (table[r].size() > header.size()) {
        input.error = "more cells than header columns";
      }
      for (size_t c = 0; c < table[r].size() && c < header.size(); ++c) {
        if (!trim(table[r][c]).empty()) input.fields.push_back({trim(header[c]), table[r][c]});
      }
      rows.push_back(kj::mv(input));
    }
  } else {
    std::stringstream in{std::string(text)};
    std::string line;
    uint32_t n = 0;
    while (std::getline(in, line)) {
      if (trim(line).empty()) continue;
      ImportInput input{++n, {}, {}};
      KJ_IF_MAYBE (e,
                   kj::runCatchingExceptions([&]() { input.fields = submissionFromJson(line); })) {
        input.error = "not a JSON object: " + cleanError(e->getDescription().cStr());
      }
      rows.push_back(kj::mv(input));
    }
  }
  return rows;
}

}  // namespace rdz
