#include "daemon/service/write-queue.h"

#include <kj/debug.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <vector>

#include "daemon/domain/fault-point.h"
#include "daemon/service/metrics.h"

namespace rdz {

// The writer's side of one event loop's wake-up: `signal()` fulfills the loop's current wait, or,
// when the loop is not waiting at that moment, leaves a mark its next wait consumes at once.
struct WriteQueue::Mailbox {
  struct State {
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> armed;  // the loop's wait, if one is armed
    bool signalled = false;                                // a signal came while none was
  };
  kj::MutexGuarded<State> state;

  void signal() {
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> waiting;
    {
      auto lock = state.lockExclusive();
      if (lock->armed.get() == nullptr) {
        lock->signalled = true;
        return;
      }
      waiting = kj::mv(lock->armed);
    }
    waiting->fulfill();
  }
};

namespace {

// One job's fate, written on the writer thread (`error`, then `known`), read on the loop.
struct Outcome {
  std::atomic<bool> known{false};
  kj::Maybe<kj::Exception> error;
};

}  // namespace

// The loop's side (one per thread with jobs in flight, shared by every WriteQueue): every job
// the loop waits for waits on one shared promise, the current wait; the writer's signal resolves
// it, and each waiting job looks at its own outcome, waiting again if its group is not done.
// Kept alive by the jobs in flight (refcounted, loop thread only).
class WriteQueue::LoopWaits final : public kj::Refcounted {
 public:
  LoopWaits() : mailbox_(std::make_shared<Mailbox>()) { current = this; }
  ~LoopWaits() noexcept(false) { current = nullptr; }
  KJ_DISALLOW_COPY(LoopWaits);

  static kj::Own<LoopWaits> forThisLoop() {
    if (current != nullptr) return kj::addRef(*current);
    return kj::refcounted<LoopWaits>();
  }

  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }

  // Resolves (or rejects with the job's error) once `outcome` is known.
  kj::Promise<void> until(kj::Own<LoopWaits> self, std::shared_ptr<Outcome> outcome) {
    if (outcome->known.load(std::memory_order_acquire)) {
      KJ_IF_MAYBE (e, outcome->error) {
        return kj::mv(*e);
      }
      return kj::READY_NOW;
    }
    return nextSignal().then([self = kj::mv(self), outcome = kj::mv(outcome)]() mutable {
      auto& waits = *self;
      return waits.until(kj::mv(self), kj::mv(outcome));
    });
  }

 private:
  kj::Promise<void> nextSignal() {
    if (!waiting_) {
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      {
        auto lock = mailbox_->state.lockExclusive();
        if (lock->signalled) {
          // The writer finished a group since the last wait ended: look again now.
          lock->signalled = false;
          return kj::READY_NOW;
        }
        lock->armed = kj::mv(paf.fulfiller);
      }
      wait_ = paf.promise.then([this]() { waiting_ = false; }).fork();
      waiting_ = true;
    }
    KJ_IF_MAYBE (wait, wait_) {
      return wait->addBranch();
    }
    KJ_UNREACHABLE;
  }

  static thread_local LoopWaits* current;
  std::shared_ptr<Mailbox> mailbox_;
  kj::Maybe<kj::ForkedPromise<void>> wait_;
  bool waiting_ = false;  // wait_ is armed and not resolved yet
};

thread_local WriteQueue::LoopWaits* WriteQueue::LoopWaits::current = nullptr;

WriteQueue::WriteQueue(Store& store, size_t maxGroup, kj::Maybe<CommitFailureFn> onCommitFailure)
    : store_(store), maxGroup_(maxGroup), onCommitFailure_(kj::mv(onCommitFailure)) {
  thread_ = kj::heap<kj::Thread>([this]() { writerLoop(); });
}

WriteQueue::~WriteQueue() noexcept(false) {
  shared_.lockExclusive()->stopping = true;
  thread_ = nullptr;  // joins
}

void WriteQueue::push(Job job) {
  auto lock = shared_.lockExclusive();
  if (lock->stopping) {
    // Retryable, not a refusal: nothing was stored.
    kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "rdzd is shutting down"));
  }
  lock->jobs.push_back(kj::mv(job));
  metrics().setWriteQueueDepth(lock->jobs.size());
}

kj::Promise<void> WriteQueue::enqueue(kj::Function<void(Txn&)> fn, Writes writes, Group group) {
  auto waits = LoopWaits::forThisLoop();
  auto outcome = std::make_shared<Outcome>();
  push({kj::mv(fn),
        [outcome](kj::Maybe<kj::Exception> error) {
          outcome->error = kj::mv(error);
          outcome->known.store(true, std::memory_order_release);
        },
        waits->mailbox(), writes, group});
  auto& ref = *waits;
  return ref.until(kj::mv(waits), kj::mv(outcome));
}

void WriteQueue::runSync(kj::Function<void(Txn&)> fn, Writes writes) {
  std::promise<kj::Maybe<kj::Exception>> outcome;
  auto future = outcome.get_future();
  push({kj::mv(fn),
        [&outcome](kj::Maybe<kj::Exception> error) mutable { outcome.set_value(kj::mv(error)); },
        nullptr, writes});
  KJ_IF_MAYBE (e, future.get()) {
    kj::throwFatalException(kj::mv(*e));
  }
}

WriteQueueStats WriteQueue::stats() const { return {jobCount_.load(), commitCount_.load()}; }

void WriteQueue::writerLoop() {
  for (;;) {
    std::vector<Job> group;
    {
      auto lock = shared_.lockExclusive();
      lock.wait([](const Shared& s) { return !s.jobs.empty() || s.stopping; });
      if (lock->jobs.empty()) return;  // stopping, and nothing left to write
      while (!lock->jobs.empty() && group.size() < maxGroup_) {
        bool alone = lock->jobs.front().group == Group::ALONE;
        if (alone && !group.empty()) break;  // it starts the next group
        group.push_back(kj::mv(lock->jobs.front()));
        lock->jobs.pop_front();
        if (alone) break;
      }
      metrics().setWriteQueueDepth(lock->jobs.size());
    }

    auto txn = store_.begin();
    std::vector<kj::Maybe<kj::Exception>> errors;
    errors.reserve(group.size());
    bool changes = false;
    for (size_t i = 0; i < group.size(); ++i) {
      Job& job = group[i];
      if (job.writes == Writes::ANY) {
        changes = true;
        changes_.fetch_add(1, std::memory_order_acq_rel);
      }
      txn->setSavePoint();
      auto error = kj::runCatchingExceptions([&]() { job.fn(*txn); });
      if (error == nullptr) {
        txn->popSavePoint();
      } else {
        txn->rollbackToSavePoint();
      }
      errors.push_back(kj::mv(error));
      if (txn->sealed() && i + 1 < group.size()) {
        // The job included writes its successors' reads would not see: they go back to the
        // head of the queue, in order, for the next group.
        auto lock = shared_.lockExclusive();
        for (size_t j = group.size(); j > i + 1; --j) lock->jobs.push_front(kj::mv(group[j - 1]));
        metrics().setWriteQueueDepth(lock->jobs.size());
        group.erase(group.begin() + static_cast<ptrdiff_t>(i) + 1, group.end());
        break;
      }
    }
    // The writes the jobs put off (Txn::Deferred: the day's counters), once for the group. If
    // that fails, every job of the group fails and nothing of it is written (the store is as it
    // was: no commit failure).
    kj::Maybe<kj::Exception> settleError = kj::runCatchingExceptions([&]() { txn->settle(); });
    kj::Maybe<kj::Exception> commitError;
    if (settleError != nullptr) {
      // Nothing to commit.
    } else if (txn->size() > 0) {
      faultPoint("commit.before_sync");
      auto started = std::chrono::steady_clock::now();
      commitError = kj::runCatchingExceptions([&]() { store_.commit(*txn, true); });
      metrics().observeCommit(
          group.size(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      commitCount_.fetch_add(1);
      faultPoint("commit.after_sync");  // synced (or failed); no job told yet
    } else {
      txn->committed();  // nothing to write: the jobs' afterCommit effects hold as they are
    }
    jobCount_.fetch_add(group.size());
    if (changes) changes_.fetch_add(1, std::memory_order_acq_rel);

    std::vector<Mailbox*> loops;  // each loop to wake, once
    for (size_t i = 0; i < group.size(); ++i) {
      KJ_IF_MAYBE (e, errors[i]) {
        group[i].done(kj::mv(*e));
      } else KJ_IF_MAYBE (e, settleError) {
        group[i].done(kj::cp(*e));
      } else KJ_IF_MAYBE (e, commitError) {
        group[i].done(kj::cp(*e));
      } else {
        group[i].done(nullptr);
      }
      Mailbox* wake = group[i].wake.get();
      if (wake != nullptr && std::find(loops.begin(), loops.end(), wake) == loops.end()) {
        loops.push_back(wake);
      }
    }
    for (Mailbox* wake : loops) wake->signal();
    KJ_IF_MAYBE (e, commitError) {
      KJ_IF_MAYBE (fn, onCommitFailure_) {
        (*fn)(*e);
      }
    }
  }
}

}  // namespace rdz
