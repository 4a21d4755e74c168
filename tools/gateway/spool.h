// The gateway's durable spool (SPEC §8.3): leads accepted while rdzd is away, kept on disk until
// rdzd has acknowledged them.
//
// On disk, in one directory (mode 0700, files 0600, locked by one gateway at a time):
// - segment files `<16 digits>.seg`, append-only, each a sequence of entries
//     magic u32 | payload length u32 | CRC-32C u32 of (length, payload) | payload
//   where payload = version u8 (1 or 2) | entity u8 | accepted-at µs u64 | key | field count u32 |
//   (name, value)… and, in version 2, request ip | user agent | page url | flags u8 (bit 0:
//   honeypot); strings are length u32 | bytes, integers little-endian;
//   so that damage is detected (short, bad magic, bad length or bad checksum). Unreadable bytes
//   are copied to `quarantine/<segment>-<offset>.bin` (synced) and skipped: readers resync at the
//   next readable entry, so damage costs the entries it touches and never the ones after it. Only
//   a damaged tail of the last segment (a write torn by a crash, or an acknowledged entry whose
//   bits flipped: they look alike) is then cut off, so that appends start at a clean boundary;
// - `done`: the position (segment, offset) of the first entry rdzd has not acknowledged, replaced
//   atomically (temp file, fsync, rename, fsync of the directory);
// - `refused.seg`: entries rdzd refused on replay (dead letters, same format), kept for an admin.
// Segments wholly before `done` are deleted; when everything is acknowledged the next entry
// starts a new segment, so a drained spool holds no lead data.
//
// Exactly-once at rdzd does not rest on `done` alone: every entry carries an idempotency key, so
// an entry replayed twice (acknowledged, then a crash before `done` was written) gets rdzd's first
// answer and stores nothing new.
#pragma once

#include <kj/async.h>
#include <kj/function.h>
#include <kj/mutex.h>
#include <kj/thread.h>
#include <sys/types.h>

#include <atomic>
#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "daemon/domain/types.h"
#include "daemon/domain/validation.h"

namespace rdz::gateway {

struct SpoolEntry {
  Entity entity = Entity::ZR7;
  std::string idempotencyKey;    // never empty: the gateway generates one when the client gave none
  // When the gateway accepted it: sent to rdzd, whose recu_le it becomes (gateway token).
  int64_t receivedAtMicros = 0;
  Submission fields;
  HttpRequestProof request = {};  // what the HTTP post proved; empty in version 1 entries
  // The payload version the entry is encoded in: 2 (with `request`); entries written in version 1
  // (before the request was kept) still decode, replay and re-encode as they were.
  uint8_t version = 2;
  bool operator==(const SpoolEntry&) const = default;
};

struct SpoolPosition {
  uint64_t segment = 1;
  uint64_t offset = 0;
  auto operator<=>(const SpoolPosition&) const = default;
};

struct SpooledEntry {
  std::string id;      // "<segment>-<offset>": the spool_id of the 202 answer
  SpoolPosition next;  // the position just after this entry
  SpoolEntry entry;
};

// CRC-32C (Castagnoli), the checksum of the entries.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// The system calls by which the spool changes its segment files: the default calls the kernel;
// tests override some to inject failures (tests/gateway). Same arguments, results and errno as the
// system calls. Called on the spool's thread only.
class SpoolIo {
 public:
  virtual ~SpoolIo() = default;
  virtual ssize_t write(int fd, const void* data, size_t size);
  virtual int fdatasync(int fd);
  virtual int fsync(int fd);
  virtual int ftruncate(int fd, off_t size);
};

struct SpoolOptions {
  // A segment is closed once it reaches this size at a sync; the next entry starts a new one.
  size_t segmentBytes = 4 << 20;
  // The size cap of SPEC §10: appends that would make the pending segments larger are refused
  // (the gateway answers 503), never dropped later.
  uint64_t maxBytes = uint64_t(1) << 30;
  SpoolIo* io = nullptr;  // null: the kernel's
};

// The spool files. Synchronous and confined to one thread at a time (SpoolQueue's writer).
class Spool {
 public:
  // Largest payload accepted (a lead body is at most 16 KiB; this leaves room for the encoding).
  static constexpr uint32_t MAX_PAYLOAD_BYTES = 1 << 20;

  // Creates the directory if needed, takes its lock (throws if another gateway holds it), and
  // recovers: reads `done`, deletes segments already replayed, quarantines unreadable bytes (see
  // above) and cuts a damaged tail off the last segment. Throws (KJ_SYSCALL / KJ_REQUIRE) when the
  // directory cannot be used.
  explicit Spool(std::string dir, SpoolOptions options = {});
  ~Spool() noexcept(false);
  KJ_DISALLOW_COPY(Spool);

  // Appends an entry and returns its spool id. Written, not yet durable: call sync(). Throws when
  // the spool is full (SpoolOptions::maxBytes) or unhealthy and a re-check fails, and on a write
  // error, after discarding every unsynced append (see sync()).
  std::string append(const SpoolEntry& entry);
  // Makes every append so far durable (fdatasync of the segment, fsync of the directory when a
  // segment was created). Returns once synced.
  //
  // On a write or sync error the unsynced appends are discarded, all of them: after a failed
  // fdatasync Linux may have dropped their pages while reporting later syncs as successful, so
  // none of them is durable and none may be counted as such. The segment is cut back to its last
  // durable size and fsync'd; discards() grows and the error is thrown. If that cut fails too, the
  // spool is unhealthy: appends throw until a re-check (recheck(), or the next append) cuts it.
  // Durable entries are never touched.
  void sync();
  bool hasUnsynced() const { return unsynced_ > 0; }
  // Entries appended since the spool was opened (discarded ones included).
  uint64_t appends() const { return appends_; }
  // How many times unsynced appends were discarded since the spool was opened.
  uint64_t discards() const { return discards_; }
  // False after a failed discard, until a re-check succeeds. Safe from any thread.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Retries the cut of an unhealthy spool; returns healthy().
  bool recheck();
  // Bytes of the segments not wholly acknowledged, compared with SpoolOptions::maxBytes.
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  // Up to `max` durable entries from the first not acknowledged, oldest first.
  std::vector<SpooledEntry> readPending(size_t max);
  // Records that every entry before `next` is acknowledged, `entries` of them since the last
  // call. Durable on return. Deletes segments wholly replayed.
  void markDone(SpoolPosition next, uint64_t entries);
  // Keeps `entry` in `refused.seg` (synced) for an admin; the caller then marks it done.
  void refuse(const SpooledEntry& entry);

  // Entries not yet acknowledged (durable ones). Safe from any thread.
  uint64_t depth() const { return depth_.load(std::memory_order_relaxed); }
  // Unreadable bytes copied to quarantine/ (and how many ranges) since the spool was opened. Safe
  // from any thread.
  uint64_t quarantinedBytes() const { return quarantinedBytes_.load(std::memory_order_relaxed); }
  uint64_t quarantinedRanges() const { return quarantinedRanges_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }

  // The entry encoding, exposed for tests.
  static std::string encode(const SpoolEntry& entry);

 private:
  std::string segmentPath(uint64_t segment) const;
  std::vector<uint64_t> listSegments() const;
  void recover();
  void writeDone(SpoolPosition done);
  void openActive();
  void syncDir();
  // Cuts the active segment back to durableSize_ (see sync()); throws the error `what` after.
  [[noreturn]] void discardUnsynced(kj::Exception&& what);
  void cutToDurable();
  uint64_t pendingBytes() const;
  // Copies the unreadable bytes of `segment` from `from` up to the next readable entry (or `limit`)
  // to quarantine/<segment>-<from>.bin, synced, unless an earlier call did; returns that next
  // entry's offset (`limit` when none).
  uint64_t skipDamaged(uint64_t segment, int fd, uint64_t from, uint64_t limit,
                       const char* problem);

  std::string dir_;
  size_t segmentBytes_;
  uint64_t maxBytes_;
  SpoolIo& io_;
  int dirFd_ = -1;
  int lockFd_ = -1;
  SpoolPosition done_;
  uint64_t active_ = 1;       // the segment appends go to
  int activeFd_ = -1;         // -1 until the first append to `active_`
  uint64_t activeSize_ = 0;   // bytes written to `active_`
  uint64_t durableSize_ = 0;  // bytes of `active_` known synced
  uint64_t unsynced_ = 0;     // entries appended since the last sync
  uint64_t appends_ = 0;
  uint64_t discards_ = 0;
  std::map<uint64_t, uint64_t> sizes_;  // segment -> bytes, from done_'s segment on
  bool dirDirty_ = false;  // a file was created or renamed since the last directory fsync
  std::atomic<uint64_t> depth_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> quarantinedBytes_{0};
  std::atomic<uint64_t> quarantinedRanges_{0};
};

// Runs the spool on its own thread, so that fsync never blocks the event loop, with group commit:
// appends queued together share one fdatasync. Promises resolve on the event loop that called. An
// append's promise resolves only once its entry is durable; it rejects when the entry was not
// written, or was discarded with the rest of its group by a failed write or sync (Spool::sync()):
// then the entry is never replayed.
class SpoolQueue {
 public:
  explicit SpoolQueue(Spool& spool);
  // Runs what is queued (appends included: an acknowledged 202 stays true), then stops the thread.
  ~SpoolQueue() noexcept(false);
  KJ_DISALLOW_COPY(SpoolQueue);

  // Resolves with the spool id once the entry is durable.
  kj::Promise<std::string> append(SpoolEntry entry);
  kj::Promise<std::vector<SpooledEntry>> readPending(size_t max);
  kj::Promise<void> markDone(SpoolPosition next, uint64_t entries);
  kj::Promise<void> refuse(SpooledEntry entry);

  // Resolves with recheck()'s answer.
  kj::Promise<bool> recheck();

  uint64_t depth() const { return spool_.depth(); }
  bool healthy() const { return spool_.healthy(); }
  uint64_t bytes() const { return spool_.bytes(); }
  uint64_t quarantinedBytes() const { return spool_.quarantinedBytes(); }
  uint64_t quarantinedRanges() const { return spool_.quarantinedRanges(); }

 private:
  struct Job {
    kj::Function<void(Spool&)> fn;
    // Called on the spool thread once the job and the sync after it are done (null: success).
    kj::Function<void(kj::Maybe<kj::Exception>)> done;
  };
  template <typename T>
  kj::Promise<T> run(kj::Function<T(Spool&)> fn);
  void loop();

  Spool& spool_;
  struct Shared {
    std::deque<Job> jobs;
    bool stopping = false;
  };
  kj::MutexGuarded<Shared> shared_;
  kj::Own<kj::Thread> thread_;  // last: joins before the members above go away
};

}  // namespace rdz::gateway
