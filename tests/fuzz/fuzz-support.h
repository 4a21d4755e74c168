// Small helpers shared by the libFuzzer targets of tests/fuzz/.
#pragma once

#include <kj/debug.h>
#include <kj/exception.h>
#include <sanitizer/common_interface_defs.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz::fuzz {

// A failed property of the code under test: reported, then abort() so libFuzzer keeps the input.
// Reported through the sanitizers' report fd, which survives -close_fd_mask=2.
[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {}) {
  std::string line = "fuzz property failed: " + std::string(what) + " " + std::string(detail);
  fprintf(stderr, "%s\n", line.c_str());
  __sanitizer_report_error_summary(line.c_str());
  abort();
}

// The fuzz input as submission fields: one `name=value` per line ('\n'); a line without '=' is a
// name with an empty value. Seeds stay readable text; the fuzzer still reaches every byte.
inline Submission fieldsOfLines(std::string_view text) {
  Submission fields;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      fields.push_back({std::string(line), ""});
    } else {
      fields.push_back({std::string(line.substr(0, eq)), std::string(line.substr(eq + 1))});
    }
    start = end + 1;
  }
  return fields;
}

// A directory of its own under $TMPDIR (tools/fuzz.sh points it at /dev/shm: fsync is free).
inline std::string makeTempDir(const char* prefix) {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  KJ_ASSERT(mkdtemp(pattern.data()) != nullptr, "mkdtemp", pattern);
  return pattern;
}

}  // namespace rdz::fuzz
