// Fuzzes lead validation (daemon/domain/validation): the fields of a submission, one
// `name=value` per line, plus the public helpers on every value. Properties: validateSubmission
// throws exactly when refusalOf refuses; a lead is `invalid` exactly when a blocking problem is
// listed; validation is deterministic.
#include <stdint.h>

#include <string>

#include "daemon/domain/validation.h"
#include "tests/fuzz/fuzz-support.h"

using namespace rdz;

namespace {

void checkLead(const Lead& lead) {
  bool blocking = false;
  for (const std::string& p : lead.problemes) blocking = blocking || isBlockingProblem(p);
  if (blocking != (lead.statut == Statut::INVALID)) {
    fuzz::fail("statut disagrees with the problems", statutName(lead.statut));
  }
  if (lead.statut != Statut::NEW && lead.statut != Statut::INVALID) {
    fuzz::fail("validation gave a statut other than new/invalid");
  }
  if (!lead.telephoneE164.empty() && lead.telephoneE164[0] != '+') {
    fuzz::fail("telephoneE164 not E.164", lead.telephoneE164);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Submission fields = fuzz::fieldsOfLines(text);

  std::optional<std::string> refusal = refusalOf(fields);
  for (bool allowRecuLe : {false, true}) {
    ValidationContext context;
    context.entity = allowRecuLe ? Entity::MDL : Entity::ZR7;
    context.catalogue = {"PV", "PAC", "ITE"};
    context.receivedAt = Timestamp(std::chrono::seconds(1795000000));
    context.allowRecuLe = allowRecuLe;
    kj::Maybe<Lead> first;
    KJ_IF_MAYBE (e, kj::runCatchingExceptions(
                        [&]() { first = validateSubmission(fields, context); })) {
      if (!refusal)
        fuzz::fail("validateSubmission threw on a submission refusalOf accepts",
                   e->getDescription().cStr());
      continue;
    }
    if (refusal) fuzz::fail("validateSubmission accepted a refused submission", *refusal);
    KJ_IF_MAYBE (lead, first) {
      checkLead(*lead);
      if (!(validateSubmission(fields, context) == *lead)) fuzz::fail("not deterministic");
    }
  }

  for (const Field& f : fields) {
    for (const std::string* s : {&f.name, &f.value}) {
      if (auto e164 = normalizePhone(*s)) {
        if (nationalDigits(*e164).empty()) fuzz::fail("no national digits", *e164);
        if (normalizePhone(*e164) != e164) fuzz::fail("normalizePhone not idempotent", *e164);
      }
      if (auto d = departementOf(*s)) {
        if (d->size() != 2 && d->size() != 3) fuzz::fail("departement", *d);
      }
      parseBool(*s);
      isPlausibleEmail(*s);
      if (isValidUtf8(*s)) {
        std::string t = trim(*s);
        if (trim(t) != t) fuzz::fail("trim not idempotent", *s);
        if (!isValidUtf8(t)) fuzz::fail("trim broke UTF-8", *s);
        if (!isValidUtf8(asciiLower(*s))) fuzz::fail("asciiLower broke UTF-8", *s);
      }
    }
  }
  canonicalSubmission(fields);
  return 0;
}
