// Fuzzes rdzd's RPC framing and message handling before authentication: each input is the raw
// byte stream of one client connection into rdzd's own RpcServer (daemon/service/rpc-server: the
// pre-authentication frame-size check, then Cap'n Proto's two-party RPC serving the real
// Bootstrap) over a kj two-way pipe, with a real store and write queue in a temp dir.
// The store, queue and server are built once and shared by every input (fast); each input is one
// connection, closed by the client after its bytes.
//
// The tokens known to this rdzd are an ingest token and a viewer token, so mutated seeds can go
// past authenticate into submit and the read-only calls. No admin token on purpose: Admin.backup
// writes to a path the input names.
//
// Each input's calls are run to their end (answers written) before the client hangs up.
// Properties: no sanitizer finding; the server keeps reading, and closes the connection after the
// client's end of stream (either waiting over 10 s is reported as a hang).
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <stdint.h>

#include <filesystem>
#include <memory>
#include <string>

#include "daemon/domain/clock.h"
#include "daemon/domain/ids.h"
#include "daemon/service/auth.h"
#include "daemon/service/rpc-server.h"
#include "daemon/service/server.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/store.h"
#include "tests/fuzz/fuzz-support.h"

using namespace rdz;

namespace {

// The tokens of tests/fuzz/rpc-seeds.c++, which captures real client messages using them.
constexpr char INGEST_ZR7[] = "ingest-zr7-token";
constexpr char VIEWER[] = "viewer-token";

struct Env {
  std::string dir = fuzz::makeTempDir("rdz-fuzz-rpc-");
  std::unique_ptr<Store> store = Store::open(dir + "/db");
  ManualClock clock{Timestamp(std::chrono::seconds(1795000000))};
  IdGenerator ids;
  Auth auth;
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);
  ServiceContext context{*store, *writes, ids, clock, auth, RunSettings{}};
  kj::Timer& timer = io.provider->getTimer();
  RpcServer server{context, timer, ConnectionLimits{}};

  Env() {
    auth.add({Role::INGEST, Entity::ZR7, "ingest-zr7"}, sha256Hex(INGEST_ZR7));
    auth.add({Role::VIEWER, std::nullopt, "viewer"}, sha256Hex(VIEWER));
  }
};

// Built on the first input, and again every RESET_EVERY inputs: the store keeps every lead the
// inputs submit, and answers (findLeads of a seed's phone) would otherwise grow without bound,
// slowing the fuzzer and making an input's behaviour depend on thousands of inputs before it.
// The last one is never destroyed: its destructors (the writer thread, RocksDB) would race
// libFuzzer's exit; its temp dir stays behind under $TMPDIR.
constexpr uint64_t RESET_EVERY = 5000;

Env& env() {
  static Env* e = nullptr;
  static uint64_t inputs = 0;
  if (e != nullptr && ++inputs % RESET_EVERY == 0) {
    std::string dir = e->dir;
    delete e;
    e = nullptr;
    std::filesystem::remove_all(dir);
  }
  if (e == nullptr) e = new Env;
  return *e;
}

}  // namespace

// Fails the input when the server has not done its part within 10 s.
template <typename T>
kj::Promise<T> hangAfter(kj::Timer& timer, const char* what) {
  return timer.afterDelay(10 * kj::SECONDS).then([what]() -> T { fuzz::fail("hang:", what); });
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& e = env();
  auto& ws = e.io.waitScope;
  auto& timer = e.io.provider->getTimer();
  auto pipe = kj::newTwoWayPipe();
  e.server.accept(kj::mv(pipe.ends[1]), "fuzz");
  kj::AsyncIoStream& client = *pipe.ends[0];

  // Reading runs all along: the server's answers must be drained or it stops reading.
  auto answer = client.readAllBytes()
                    .then([](kj::Array<kj::byte> bytes) { return bytes.size(); },
                          [](kj::Exception&&) { return size_t(0); })  // an abrupt close is a close
                    .eagerlyEvaluate(nullptr);
  bool sent = client.write(data, size)
                  .then([]() { return true; },
                        [](kj::Exception&&) { return false; })  // the server hung up first
                  .exclusiveJoin(hangAfter<bool>(timer, "the server stopped reading"))
                  .wait(ws);
  // Before hanging up, let every call the input made run to its end, answers included: a write
  // job's completion comes back to this loop from the writer thread. Done when a no-op job was
  // the only one queued since the last look.
  for (;;) {
    ws.poll();
    uint64_t before = e.writes->stats().jobs;
    e.writes->runSync([](Txn&) {});
    ws.poll();
    if (e.writes->stats().jobs == before + 1) break;
  }
  if (sent) client.shutdownWrite();
  answer
      .exclusiveJoin(
          hangAfter<size_t>(timer, "the server kept the connection after the client's end"))
      .wait(ws);
  ws.poll();
  return 0;
}
