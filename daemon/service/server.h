// The Cap'n Proto capability servers of SPEC §8.1. Everything runs on the event loop thread;
// state changes go through the WriteQueue, reads go to the store's committed state.
#pragma once

#include <kj/memory.h>

#include <functional>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/users.h"
#include "daemon/service/auth.h"
#include "daemon/service/opposition.h"
#include "daemon/service/run.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/store.h"
#include "schema/rdz.capnp.h"

namespace rdz {

// What the servers share. Outlives every capability handed out.
struct ServiceContext {
  Store& store;
  WriteQueue& writes;
  IdGenerator& ids;
  const Clock& clock;
  const Auth& auth;
  RunSettings runSettings;
  // Called after a run's commit or a resend: the Senders look at the outbox now.
  std::function<void()> wakeSenders = [] {};
  // The opposition list's keyed hash (SPEC §7.2). Null: the opposition methods refuse, and
  // neither ingestion nor runs check a list.
  const OppositionKey* opposition = nullptr;
  // Where `backup` copies the opposition secret beside the database copy ("" : not copied).
  std::string oppositionKeyFile = {};
  // The spool's age limit (config ingest.spool_max_age_hours): how old a gateway's acceptance
  // time may be and still become recu_le.
  Duration spoolMaxAge = std::chrono::hours(168);
  // Console logins (SPEC §8.4, users.h): failures slowed per name and address; how many password
  // checks run now (each on a worker thread; bounded so a flood cannot exhaust memory).
  LoginThrottle loginThrottle = {};
  uint32_t loginsInFlight = 0;
  // Per entity, the produit codes submissions are validated against on the event loop
  // (prepareIngest), read again from the store when a lead names a produit not in them. Codes are
  // never removed and the writer looks again at an unknown produit itself, so a stale list
  // costs a read, never a wrong answer.
  std::vector<std::string> catalogues[2] = {};
};

// The bootstrap capability: authenticates a token and hands out what its role allows.
kj::Own<schema::Bootstrap::Server> newBootstrap(ServiceContext& context);
// The same for one connection: `authenticated` is called (event loop) each time it accepts a
// token, before the answer is sent, so the connection's limits are lifted by the time the
// client can use its session (rpc-server.h).
// `peer` names the connection's other end ("uid:1000", "ip:192.0.2.7"): logins are slowed per
// peer and the address the caller vouches for.
kj::Own<schema::Bootstrap::Server> newBootstrap(ServiceContext& context,
                                                kj::Function<void()> authenticated,
                                                std::string peer = "local");

}  // namespace rdz
