// Fuzzes the gateway's application/x-www-form-urlencoded body parsing (submissionFromForm).
// Properties: bad input is a kj::Exception; what it returns is UTF-8 (the gateway forwards it).
#include <stdint.h>

#include <string>

#include "daemon/domain/validation.h"
#include "tests/fuzz/fuzz-support.h"
#include "tools/gateway/gateway.h"

using namespace rdz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (size > MAX_BODY_BYTES) return 0;  // the gateway answers 413 before parsing
  Submission fields;
  KJ_IF_MAYBE (e,
               kj::runCatchingExceptions([&]() { fields = gateway::submissionFromForm(text); })) {
    return 0;
  }
  for (const Field& f : fields) {
    if (!isValidUtf8(f.name) || !isValidUtf8(f.value)) fuzz::fail("a field is not UTF-8", f.name);
  }
  return 0;
}
