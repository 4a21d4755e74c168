// The single writer of rdzd: every state change runs here, in order, and is made durable by
// group commit (SPEC §10).
//
// Jobs submitted from the event loop run one after another on the writer thread, each inside
// the group's shared transaction (under its own save point, so a job that throws is undone
// alone). The whole group is then written with one synced WAL write, and only then is each
// job's promise resolved on the event loop that submitted it. So:
// - an acknowledgement always means "synced to disk";
// - concurrent submissions share one fsync instead of queueing behind each other's;
// - every job sees the effects of all jobs before it (reads go through the shared batch),
//   which makes check-then-write rules (idempotency, double submission, counters) race-free.
#pragma once

#include <kj/async.h>
#include <kj/function.h>
#include <kj/mutex.h>
#include <kj/thread.h>

#include <atomic>
#include <deque>
#include <memory>

#include "daemon/store/store.h"

namespace rdz {

// What a job may touch, for work prepared on a snapshot while jobs go on (a run's writes): the
// writer counts the jobs that may touch what a run reads or writes, so such work can tell whether
// its snapshot is still right for everything it read, and its writes clobber nothing written since.
enum class Writes {
  ANY,  // may change any record
  // Writes no key a run reads by key or writes, except the day's stats counters (which a run
  // prepared on a snapshot has the writer apply), and adds to the ranges a run scans only what
  // the product treats as arriving after the run (a new lead is the next run's). "Only adds" is
  // not enough: an opposed number or a duplicate entry added is read by the run, so adding one is
  // ANY. OUTSIDE_RUNS: ingestion (a new lead, its history and idempotency record), the Sender's
  // outcome writes (earlier runs' batches and outbox entries, history events), the purges of
  // expired idempotency records and run traces (a run's trace cannot exist before it commits).
  OUTSIDE_RUNS,
};

// Whether a job may share its group commit with others. ALONE: its group holds it only (the jobs
// queued before it commit first, those after it next): a run's commit, whose prepared writes go
// in files ingested with only the run's own writes (Store::commit).
enum class Group { SHARED, ALONE };

struct WriteQueueStats {
  uint64_t jobs = 0;
  uint64_t commits = 0;  // synced group writes
};

// Completions reach an event loop through its mailbox: the writer marks each job of a group done,
// then signals each loop that waits for one of them once, whatever the group's size (one
// cross-thread wake-up per group and loop, not one per job); the loop then resumes the jobs it
// finds done.
class WriteQueue {
 public:
  // Called on the writer thread when a group's synced write fails, after every job of the group
  // was told. A failed WAL write or sync leaves RocksDB refusing writes, and what reached the WAL
  // is unknown until the database is reopened: rdzd exits there (systemd restarts it), tests
  // watch it.
  using CommitFailureFn = kj::Function<void(const kj::Exception&)>;

  explicit WriteQueue(Store& store, size_t maxGroup = 512,
                      kj::Maybe<CommitFailureFn> onCommitFailure = nullptr);
  // Runs what is queued, then stops the writer thread.
  ~WriteQueue() noexcept(false);
  KJ_DISALLOW_COPY(WriteQueue);

  // Runs `job` on the writer thread; the promise resolves on the calling thread's event loop
  // once the group holding it is committed and synced, or rejects with the job's exception (its
  // writes undone) or the commit's failure. `job` must own everything it touches.
  template <typename T>
  kj::Promise<T> run(kj::Function<T(Txn&)> job, Writes writes = Writes::ANY,
                     Group group = Group::SHARED);

  // The same for threads without a KJ event loop (the sender): blocks until the job's group is
  // committed and synced; throws the job's or the commit's exception.
  void runSync(kj::Function<void(Txn&)> job, Writes writes = Writes::ANY);

  WriteQueueStats stats() const;

  // Work prepared on a snapshot (Store::beginAtSnapshot) reads changeMark() BEFORE taking its
  // snapshot; then a job submitted with Writes::ANY asks onlyOutsideRunsSince(mark) on the writer:
  // true when no job but Writes::OUTSIDE_RUNS ones ran since (committed, or pending in the job's
  // own group), so every record the snapshot saw is as it saw it. The count goes up when a
  // Writes::ANY job starts and again once its group is committed, so a job that started before
  // the mark but committed after the snapshot is seen too.
  uint64_t changeMark() const { return changes_.load(std::memory_order_acquire); }
  bool onlyOutsideRunsSince(uint64_t mark) const {
    return changes_.load(std::memory_order_acquire) == mark + 1;  // + the asking job itself
  }

 private:
  struct Mailbox;   // write-queue.c++: how the writer wakes one event loop
  class LoopWaits;  // write-queue.c++: the loop's side of it
  struct Job {
    kj::Function<void(Txn&)> fn;
    // Called on the writer thread once the job's fate is known (null: committed and synced).
    kj::Function<void(kj::Maybe<kj::Exception>)> done;
    // The event loop to wake once every job of the group was told (null: runSync).
    std::shared_ptr<Mailbox> wake;
    Writes writes = Writes::ANY;
    Group group = Group::SHARED;
  };
  kj::Promise<void> enqueue(kj::Function<void(Txn&)> fn, Writes writes, Group group);
  void push(Job job);
  void writerLoop();

  Store& store_;
  size_t maxGroup_;
  kj::Maybe<CommitFailureFn> onCommitFailure_;
  struct Shared {
    std::deque<Job> jobs;
    bool stopping = false;
  };
  kj::MutexGuarded<Shared> shared_;
  std::atomic<uint64_t> jobCount_{0};
  std::atomic<uint64_t> commitCount_{0};
  std::atomic<uint64_t> changes_{0};  // see changeMark()
  kj::Own<kj::Thread> thread_;        // last: joins before the members above go away
};

template <typename T>
kj::Promise<T> WriteQueue::run(kj::Function<T(Txn&)> job, Writes writes, Group group) {
  // The result is written on the writer thread before the fulfiller fires, and read after. It is
  // shared because a cancelled caller may drop its end while the job is still queued.
  auto result = std::make_shared<kj::Maybe<T>>();
  auto promise =
      enqueue([result, job = kj::mv(job)](Txn& txn) mutable { *result = job(txn); }, writes, group);
  return promise.then([result = kj::mv(result)]() mutable -> T {
    KJ_IF_MAYBE (value, *result) {
      return kj::mv(*value);
    }
    KJ_FAIL_ASSERT("write job finished without a result");
  });
}

template <>
inline kj::Promise<void> WriteQueue::run(kj::Function<void(Txn&)> job, Writes writes, Group group) {
  return enqueue(kj::mv(job), writes, group);
}

}  // namespace rdz
