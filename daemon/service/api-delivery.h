// Delivery to a client with methode = api (SPEC §6): one HTTP POST of JSON per part of the batch
// (a part is one commande and kind, fresh or lb), with `Idempotency-Key: <batch-id>/<part>`.
//
// Parts are numbered from 1 in the order of their first delivery in the batch; the batch's
// deliveries never change, so a part keeps its number, and its key, across retries. A part the
// client's server acknowledged with 2xx is recorded on the batch (Batch::partsAccepted) and is
// not posted again; the batch is sent once every part is. A crash between a 2xx and that record
// posts the part again with the same key: at-least-once, as for email.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "daemon/domain/commerce.h"
#include "daemon/domain/outbox.h"
#include "daemon/domain/types.h"
#include "daemon/service/mailer.h"
#include "daemon/service/poster.h"
#include "daemon/store/store.h"

namespace rdz {

// postJson with its default timeouts in production; tests pass their own.
using PostFn = std::function<PostResult(
    const std::string& url, const std::vector<std::string>& headers, const std::string& body)>;

// One part of a batch: the leads one commande receives in one kind.
struct BatchPart {
  std::string commande;
  std::string produit;
  bool lb = false;
  std::vector<Lead> leads;
};

// The parts of `batch` (of the receiving entity `entity`), read from the store: ordered by their
// first delivery in batch.deliveries, leads in delivery order. A missing delivery or lead is a
// bug (KJ_ASSERT).
std::vector<BatchPart> batchParts(Reader& store, Entity entity, const Batch& batch);

// The JSON document of one part:
//   {"entite","client","commande","produit","date","type":"fresh"|"lb",
//    "leads":[{"id", then the receiving entity's CSV columns, as strings}]}
// With `consent` (the client's api_consent), each lead also carries "consentement": the object of
// its consent proof (daemon/domain/consent.h), every value a string.
std::string apiBody(Entity receiving, const std::string& client, const std::string& date,
                    const BatchPart& part, bool consent = false);

struct ApiOutcome {
  SendResult result;               // ok once every part is accepted (now or earlier)
  std::vector<uint32_t> accepted;  // the parts accepted during this attempt
};

// Posts every part of `batch` not in batch.partsAccepted, in order, to client.apiUrl (with
// client.apiHeader when set), stopping at the first part that is not accepted. `date` is the
// run's date. result.code is the last HTTP status seen (0: no answer); result.detail lists each
// part posted with its answer. Blocking.
ApiOutcome sendByApi(Reader& store, Entity entity, const Batch& batch, const Client& client,
                     const std::string& date, const PostFn& post);

}  // namespace rdz
