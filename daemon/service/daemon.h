// rdzd as a whole: opens the store, provisions tokens on the embedded default, serves RPC on the
// Unix socket (and on TCP when `listen` is set, see tcp-transport.h) until SIGTERM/SIGINT, then
// drains the write queue and closes the database.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include "daemon/domain/clock.h"
#include "daemon/service/config.h"

namespace rdz {

// After a failed accept() (out of file descriptors, …): logs it and waits a second, so a listener
// keeps serving once the cause passes instead of stopping rdzd.
kj::Promise<void> retryAfterAcceptFailure(kj::Timer& timer, const kj::Exception& error);

// rdzd's exit code when a synced commit failed (EX_TEMPFAIL): the process ends at once so that
// systemd restarts it and RocksDB reopens from what really reached the disk (see WriteQueue).
constexpr int EXIT_STORAGE_FAILURE = 75;

// Blocks until a stop signal. Returns the process exit code.
int runDaemon(const Config& config, const Clock& clock);

// Embedded default (SPEC §9): when the tokens file does not exist, writes a fresh admin token
// and one ingest token per entity next to it (DATA_DIR/admin.token, ingest-zr7.token,
// ingest-mdl.token, mode 0600) and their hashes to the tokens file. Returns true when it did.
bool provisionTokens(const std::string& dataDir, const std::string& tokensPath);

}  // namespace rdz
