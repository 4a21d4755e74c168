// Fuzzes the gateway's JSON body parsing (client/json submissionFromJson, which the gateway,
// rdzctl's import and rdz-bench share). Properties: bad input is a kj::Exception, never a crash;
// a parsed object's string members survive a round trip through jsonString.
#include <stdint.h>

#include <string>

#include "client/json.h"
#include "daemon/domain/validation.h"
#include "tests/fuzz/fuzz-support.h"

using namespace rdz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The gateway rejects bodies that are not UTF-8 before parsing and bodies over 16 KiB.
  if (size > MAX_BODY_BYTES || !isValidUtf8(text)) return 0;
  Submission fields;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { fields = submissionFromJson(text); })) {
    return 0;
  }
  // Re-encode as one object of strings and parse again: names and values come back as they were.
  std::string again = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) again += ",";
    again += jsonString(fields[i].name) + ":" + jsonString(fields[i].value);
  }
  again += "}";
  Submission back;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { back = submissionFromJson(again); })) {
    fuzz::fail("re-encoded object does not parse", again);
  }
  if (back != fields) fuzz::fail("round trip changed the fields", again);
  return 0;
}
