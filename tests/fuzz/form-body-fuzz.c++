// Fuzzes the gateway's application/x-www-form-urlencoded body parsing (submissionFromForm).
// Properties: bad input is a kj::Exception; what it returns is UTF-8 (the gateway forwards it);
// the fields, %-encoded again as a browser would, parse back to themselves.
#include <stdint.h>

#include <cctype>
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
  std::string again;
  auto encode = [&again](const std::string& text) {
    static constexpr char HEX[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
      if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        again += static_cast<char>(c);
      } else if (c == ' ') {
        again += '+';
      } else {
        again += '%';
        again += HEX[c >> 4];
        again += HEX[c & 15];
      }
    }
  };
  for (const Field& f : fields) {
    if (!isValidUtf8(f.name) || !isValidUtf8(f.value)) fuzz::fail("a field is not UTF-8", f.name);
    if (!again.empty()) again += '&';
    encode(f.name);
    again += '=';
    encode(f.value);
  }
  Submission back;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { back = gateway::submissionFromForm(again); })) {
    fuzz::fail("re-encoded form does not parse", again);
  }
  if (back != fields) fuzz::fail("form round trip changed the fields", again);
  return 0;
}
