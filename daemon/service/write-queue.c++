#include "daemon/service/write-queue.h"

#include <kj/debug.h>

#include <chrono>
#include <future>
#include <vector>

#include "daemon/domain/fault-point.h"
#include "daemon/service/metrics.h"

namespace rdz {

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

kj::Promise<void> WriteQueue::enqueue(kj::Function<void(Txn&)> fn) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  push({kj::mv(fn), [fulfiller = kj::mv(paf.fulfiller)](kj::Maybe<kj::Exception> error) mutable {
          KJ_IF_MAYBE(e, error) {
            fulfiller->reject(kj::mv(*e));
          } else {
            fulfiller->fulfill();
          }
        }});
  return kj::mv(paf.promise);
}

void WriteQueue::runSync(kj::Function<void(Txn&)> fn) {
  std::promise<kj::Maybe<kj::Exception>> outcome;
  auto future = outcome.get_future();
  push({kj::mv(fn), [&outcome](kj::Maybe<kj::Exception> error) mutable {
          outcome.set_value(kj::mv(error));
        }});
  KJ_IF_MAYBE(e, future.get()) {
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
        group.push_back(kj::mv(lock->jobs.front()));
        lock->jobs.pop_front();
      }
      metrics().setWriteQueueDepth(lock->jobs.size());
    }

    auto txn = store_.begin();
    std::vector<kj::Maybe<kj::Exception>> errors;
    errors.reserve(group.size());
    for (auto& job : group) {
      txn->setSavePoint();
      auto error = kj::runCatchingExceptions([&]() { job.fn(*txn); });
      if (error == nullptr) {
        txn->popSavePoint();
      } else {
        txn->rollbackToSavePoint();
      }
      errors.push_back(kj::mv(error));
    }
    kj::Maybe<kj::Exception> commitError;
    if (txn->size() > 0) {
      faultPoint("commit.before_sync");
      auto started = std::chrono::steady_clock::now();
      commitError = kj::runCatchingExceptions([&]() { store_.commit(*txn, true); });
      metrics().observeCommit(group.size(), std::chrono::duration<double>(
                                                std::chrono::steady_clock::now() - started)
                                                .count());
      commitCount_.fetch_add(1);
      faultPoint("commit.after_sync");  // synced (or failed); no job told yet
    } else {
      txn->committed();  // nothing to write: the jobs' afterCommit effects hold as they are
    }
    jobCount_.fetch_add(group.size());

    for (size_t i = 0; i < group.size(); ++i) {
      KJ_IF_MAYBE(e, errors[i]) {
        group[i].done(kj::mv(*e));
      } else KJ_IF_MAYBE(e, commitError) {
        group[i].done(kj::cp(*e));
      } else {
        group[i].done(nullptr);
      }
    }
    KJ_IF_MAYBE(e, commitError) {
      KJ_IF_MAYBE(fn, onCommitFailure_) {
        (*fn)(*e);
      }
    }
  }
}

}  // namespace rdz
