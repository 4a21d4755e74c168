#include "daemon/service/daemon.h"

#include <capnp/rpc-twoparty.h>
#include <fcntl.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/debug.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>

#include "daemon/domain/net-address.h"
#include "daemon/service/auth.h"
#include "daemon/service/explain.h"
#include "daemon/service/files.h"
#include "daemon/service/log.h"
#include "daemon/service/metrics-http.h"
#include "daemon/service/metrics.h"
#include "daemon/service/operations.h"
#include "daemon/service/opposition.h"
#include "daemon/service/rpc-server.h"
#include "daemon/service/run.h"
#include "daemon/service/sender.h"
#include "daemon/service/server.h"
#include "daemon/service/tcp-transport.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"
#include "daemon/store/store.h"

namespace rdz {

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void makeDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    int error = errno;
    KJ_REQUIRE(error == EEXIST, "cannot create data directory", dir, strerror(error));
  }
}

RunSettings runSettings(const Config& config) {
  using std::chrono::hours;
  return {config.deliveryTime, hours(24 * config.freshDays), hours(24 * config.lbDays),
          hours(24 * config.dedupDays)};
}

ConnectionLimits connectionLimits(const Config& config) {
  ConnectionLimits limits;
  limits.authTimeout = config.authTimeoutMs * kj::MILLISECONDS;
  limits.maxUnauthenticated = static_cast<size_t>(config.maxUnauthenticated);
  limits.maxUnauthenticatedPerPeer = static_cast<size_t>(config.maxUnauthenticatedPerPeer);
  limits.maxMessageBytesBeforeAuth = static_cast<size_t>(config.maxMessageBeforeAuth);
  return limits;
}

// The Unix socket's accept loop: listenLocal() ends at the first failed accept.
kj::Promise<void> serveUnix(RpcServer& server, kj::ConnectionReceiver& listener, kj::Timer& timer) {
  return server.listenLocal(listener).catch_([&](kj::Exception&& e) {
    return retryAfterAcceptFailure(timer, e).then(
        [&]() { return serveUnix(server, listener, timer); });
  });
}

// SPEC §10: idempotency records past retention are purged by short jobs on the writer, one a
// minute, back to back (a second apart) while a job finds a full chunk. A failed job is logged
// and tried again at the next tick.
constexpr size_t PURGE_CHUNK = 512;

kj::Promise<void> purgeIdempotencyLoop(WriteQueue& writes, const Clock& clock, kj::Timer& timer,
                                       kj::Duration wait) {
  return timer.afterDelay(wait)
      .then([&writes, &clock]() {
        return writes.run<size_t>(
            [now = clock.now()](Txn& txn) { return purgeIdempotencyKeys(txn, now, PURGE_CHUNK); },
            Writes::OUTSIDE_RUNS);
      })
      .then(
          [](size_t purged) {
            if (purged > 0) logDebugLine("purged {} idempotency records", purged);
            return purged == PURGE_CHUNK ? 1 * kj::SECONDS : 60 * kj::SECONDS;
          },
          [](kj::Exception&& e) {
            logInfo("purging idempotency records failed: {}", e.getDescription().cStr());
            return 60 * kj::SECONDS;
          })
      .then([&writes, &clock, &timer](kj::Duration next) {
        return purgeIdempotencyLoop(writes, clock, timer, next);
      });
}

// Run traces (lead explain) past retention: one short job an hour (a few runs a day expire).
kj::Promise<void> purgeRunTracesLoop(WriteQueue& writes, const Clock& clock, kj::Timer& timer,
                                     kj::Duration wait) {
  return timer.afterDelay(wait)
      .then([&writes, &clock]() {
        // Never the trace a run being prepared writes: that key exists only once the run is
        // committed.
        return writes.run<size_t>(
            [now = clock.now()](Txn& txn) { return purgeExpiredRunTraces(txn, now); },
            Writes::OUTSIDE_RUNS);
      })
      .then(
          [](size_t purged) {
            if (purged > 0) logDebugLine("purged {} run traces", purged);
          },
          [](kj::Exception&& e) {
            logInfo("purging run traces failed: {}", e.getDescription().cStr());
          })
      .then([&writes, &clock, &timer]() {
        return purgeRunTracesLoop(writes, clock, timer, 3600 * kj::SECONDS);
      });
}

}  // namespace

kj::Promise<void> retryAfterAcceptFailure(kj::Timer& timer, const kj::Exception& error) {
  logInfo("accepting a connection failed: {}; trying again in 1 s", error.getDescription().cStr());
  return timer.afterDelay(1 * kj::SECONDS);
}

bool provisionTokens(const std::string& dataDir, const std::string& tokensPath) {
  if (exists(tokensPath)) return false;
  std::string lines = "# role entity sha256(token) label — written by rdzd on first start\n";
  auto issue = [&](Grant grant, const std::string& file) {
    std::string token = newToken();
    writeFileSecure(dataDir + "/" + file, token + "\n", 0600);
    lines += grantLine(grant, sha256Hex(token)) + "\n";
  };
  issue({Role::ADMIN, std::nullopt, "admin.token"}, "admin.token");
  // The ingest tokens of the embedded default are rdz-gateway's (SPEC §9): gateway grants, so a
  // lead it spooled keeps the time the gateway accepted it.
  issue({Role::GATEWAY, Entity::ZR7, "ingest-zr7.token"}, "ingest-zr7.token");
  issue({Role::GATEWAY, Entity::MDL, "ingest-mdl.token"}, "ingest-mdl.token");
  writeFileSecure(tokensPath, lines, 0600);
  return true;
}

int runDaemon(const Config& config, const Clock& clock) {
  // Signals must be captured (blocked) before any thread exists, RocksDB's included: a thread
  // that does not block SIGTERM would take it with the default action and kill the process
  // without draining the write queue (exit 143 instead of 0).
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  // Past a file size limit (RLIMIT_FSIZE: a full disk quota) a write must fail with EFBIG, which
  // RocksDB reports, instead of killing rdzd with SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);
  logDebug = config.logLevel == "debug";
  metrics().setStartTime(std::chrono::system_clock::now());
  ::umask(0007);
  makeDataDir(config.dataDir);
  if (config.tokensFile.empty() && provisionTokens(config.dataDir, config.tokensPath())) {
    logInfo("first start: wrote admin.token, ingest-zr7.token, ingest-mdl.token in {}",
            config.dataDir);
  }
  Auth auth = Auth::parse(readFile(config.tokensPath(), "tokens file"));
  logInfo("{} token grants loaded from {}", auth.size(), config.tokensPath());

  OppositionKey opposition(loadOrCreateOppositionSecret(config.dataDir));
  auto store = Store::open(config.dataDir + "/db");
  IdGenerator ids(lastUsedIdValue(*store));
  logInfo("database open in {}/db", config.dataDir);
  if (ensureStatsBuilt(*store)) logInfo("stats counters built from the stored records");
  if (ensureAgingIndexBuilt(*store)) logInfo("last-delivery index built from the stored leads");
  if (ensurePoolEntriesFilled(*store)) logInfo("pool entries filled from the stored leads");
  if (!config.metricsListen.empty()) {
    // Before any writer or Sender runs: from here on every change is counted as it commits.
    auto started = std::chrono::steady_clock::now();
    metrics().loadFromStore(*store);
    logInfo("metrics: batches and idempotency records counted in {} ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count());
  }

  auto io = kj::setupAsyncIo();

  int exitCode = 0;
  {
    // A failed synced commit leaves RocksDB refusing every write (RocksDB 7.8 keeps the failed WAL
    // writer poisoned even after Resume()), and whether the failed group reached the WAL is known
    // only after a reopen. So rdzd stops at once, acknowledging nothing more, and systemd
    // (Restart=on-failure) starts it again: every acknowledged write is in the synced WAL.
    WriteQueue writes(*store, 512, WriteQueue::CommitFailureFn([](const kj::Exception& e) {
      logInfo("storage failure on commit: {}; exiting ({}) so that rdzd restarts",
              e.getDescription().cStr(), EXIT_STORAGE_FAILURE);
      std::_Exit(EXIT_STORAGE_FAILURE);
    }));
    // One Sender per entity (strict separation: one company's stuck server never delays the
    // other's). Each resumes what a previous run left unsent.
    Sender zr7(*store, writes, config, clock, sendMail, true, {}, Entity::ZR7);
    Sender mdl(*store, writes, config, clock, sendMail, true, {}, Entity::MDL);
    ServiceContext context{*store, writes, ids, clock, auth, runSettings(config), [&zr7, &mdl]() {
                             zr7.wake();
                             mdl.wake();
                           }};
    context.opposition = &opposition;
    context.spoolMaxAge = std::chrono::hours(config.spoolMaxAgeHours);
    context.oppositionKeyFile = config.dataDir + "/" + OPPOSITION_KEY_FILE;
    RpcServer server(context, io.provider->getTimer(), connectionLimits(config));

    // The optional TCP transport serves the same Bootstrap (SPEC §8.1). Bound before the socket
    // appears, so a socket that answers means TCP does too.
    kj::Maybe<kj::Own<TcpTransport>> tcp;
    if (!config.listen.empty()) {
      auto transport = kj::heap<TcpTransport>(io, config, server);
      logInfo("listening on {}", transport->description());
      tcp = kj::mv(transport);
    }

    kj::Maybe<kj::Own<MetricsListener>> metricsListener;
    if (!config.metricsListen.empty()) {
      auto listener = kj::heap<MetricsListener>(io, config.metricsListen, *store);
      bool loopback = isLoopbackHost(parseHostPort(config.metricsListen)->host);
      logInfo("metrics on {}{}", listener->url(),
              loopback ? ""
                       : " (not loopback: anyone who reaches it reads the counters, "
                         "without authentication)");
      metricsListener = kj::mv(listener);
    }

    std::string socketPath = config.socketPath();
    struct stat st;
    if (::lstat(socketPath.c_str(), &st) == 0) {
      KJ_REQUIRE(S_ISSOCK(st.st_mode), "socket path exists and is not a socket", socketPath);
      KJ_SYSCALL(::unlink(socketPath.c_str()));  // stale socket of a previous run
    }
    auto listener = io.provider->getNetwork()
                        .parseAddress(kj::str("unix:", socketPath.c_str()))
                        .wait(io.waitScope)
                        ->listen();
    KJ_SYSCALL(::chmod(socketPath.c_str(), 0660), socketPath);
    logInfo("listening on unix:{}", socketPath);
    // Type=notify: systemd starts what depends on rdzd (the morning run) only once it serves. A
    // no-op outside systemd.
    ::sd_notify(0, "READY=1");

    auto stop = io.unixEventPort.onSignal(SIGTERM)
                    .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
                    .then([](siginfo_t info) { return info.si_signo; });
    auto serving = serveUnix(server, *listener, io.provider->getTimer()).then([]() { return 0; });
    auto purging = purgeIdempotencyLoop(writes, clock, io.provider->getTimer(), 1 * kj::SECONDS)
                       .eagerlyEvaluate(nullptr);
    auto purgingTraces = purgeRunTracesLoop(writes, clock, io.provider->getTimer(), 2 * kj::SECONDS)
                             .eagerlyEvaluate(nullptr);
    KJ_IF_MAYBE (m, metricsListener) {
      serving = serving.exclusiveJoin((*m)->run().then([]() { return 0; }));
    }
    KJ_IF_MAYBE (t, tcp) {
      serving = serving.exclusiveJoin((*t)->run().then([]() { return 0; },
                                                       [](kj::Exception&& e) {
                                                         logInfo("tcp listener failed: {}",
                                                                 e.getDescription().cStr());
                                                         return -1;
                                                       }));
    }
    int signal = stop.exclusiveJoin(kj::mv(serving)).wait(io.waitScope);
    ::sd_notify(0, "STOPPING=1");
    if (signal < 0) {
      exitCode = 1;
    } else {
      logInfo("signal {}: stopping", signal);
    }
    ::unlink(socketPath.c_str());
    auto stats = writes.stats();
    logInfo("wrote {} jobs in {} synced commits", stats.jobs, stats.commits);
  }  // the write queue drains here: every accepted job is committed before the store closes
  store = nullptr;
  logInfo("database closed");
  return exitCode;
}

}  // namespace rdz
