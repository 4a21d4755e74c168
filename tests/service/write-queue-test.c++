// The WriteQueue's completions (daemon/service/write-queue.h): every job gets its own result or
// error back on the event loop that submitted it, whatever group it was committed in, with one
// wake-up of that loop per group; a loop that was not waiting when its group finished still sees
// it; a caller that went away does not stop the others.
#include "daemon/service/write-queue.h"

#include <gtest/gtest.h>
#include <kj/async.h>
#include <kj/debug.h>
#include <kj/vector.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "daemon/store/store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

struct Env {
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  std::unique_ptr<WriteQueue> writes = std::make_unique<WriteQueue>(*store);

  // The job of number `i`: writes its key, returns i; every seventh throws (undone alone).
  kj::Promise<int> job(int i, const std::string& prefix = "k") {
    return writes->run<int>([i, key = prefix + std::to_string(i)](Txn& txn) {
      txn.putSystem(key, "");
      KJ_REQUIRE(i % 7 != 3, "refused", i);
      return i;
    });
  }
  bool stored(const std::string& key) { return store->getSystem(key) != nullptr; }
  // Spins until the writer has finished `jobs` jobs (never sleeps long: a few ms at most).
  void waitForJobs(uint64_t jobs) {
    while (writes->stats().jobs < jobs) std::this_thread::yield();
  }
};

TEST(WriteQueueTest, EveryJobOfManyGroupsGetsItsOwnResultOrError) {
  Env env;
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  constexpr int N = 2000;
  kj::Vector<kj::Promise<int>> promises;
  for (int i = 0; i < N; ++i) {
    promises.add(env.job(i).catch_([](kj::Exception&& e) {
      EXPECT_NE(std::string(e.getDescription().cStr()).find("refused"), std::string::npos);
      return -1;
    }));
    // Let some groups commit while others are still being submitted.
    if (i % 100 == 99) kj::evalLater([]() {}).wait(waitScope);
  }
  auto results = kj::joinPromises(promises.releaseAsArray()).wait(waitScope);
  for (int i = 0; i < N; ++i) {
    EXPECT_EQ(results[i], i % 7 == 3 ? -1 : i) << i;
    EXPECT_EQ(env.stored("k" + std::to_string(i)), i % 7 != 3) << i;
  }
  auto stats = env.writes->stats();
  EXPECT_EQ(stats.jobs, uint64_t(N));
  EXPECT_LT(stats.commits, stats.jobs);  // group commit
}

TEST(WriteQueueTest, EachLoopResumesItsOwnJobsOnItsOwnThread) {
  Env env;
  constexpr int THREADS = 4, N = 500;
  std::vector<std::thread> threads;
  std::atomic<int> wrongThread{0}, wrongResult{0};
  for (int t = 0; t < THREADS; ++t) {
    threads.emplace_back([&, t]() {
      kj::EventLoop loop;
      kj::WaitScope waitScope(loop);
      auto self = std::this_thread::get_id();
      kj::Vector<kj::Promise<void>> promises;
      for (int i = 0; i < N; ++i) {
        promises.add(env.job(i, "t" + std::to_string(t) + "-")
                         .then(
                             [&, i, self](int result) {
                               if (std::this_thread::get_id() != self) ++wrongThread;
                               if (result != i) ++wrongResult;
                             },
                             [&, i, self](kj::Exception&&) {
                               if (std::this_thread::get_id() != self) ++wrongThread;
                               if (i % 7 != 3) ++wrongResult;
                             }));
      }
      kj::joinPromises(promises.releaseAsArray()).wait(waitScope);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrongThread.load(), 0);
  EXPECT_EQ(wrongResult.load(), 0);
  EXPECT_EQ(env.writes->stats().jobs, uint64_t(THREADS * N));
}

TEST(WriteQueueTest, ALoopThatWasNotWaitingSeesTheGroupsThatFinishedMeanwhile) {
  Env env;
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  // Job 1 holds the writer until job 2 is queued, so they commit in two groups; the loop does not
  // run meanwhile, so the second group's signal finds no wait armed (the first one took it).
  std::promise<void> started, go;
  auto goFuture = go.get_future().share();
  auto first = env.writes->run<int>([&started, goFuture](Txn& txn) {
    started.set_value();
    goFuture.wait();
    txn.putSystem("first", "");
    return 1;
  });
  started.get_future().wait();
  auto second = env.job(2);
  go.set_value();
  env.waitForJobs(2);
  EXPECT_EQ(env.writes->stats().commits, 2u);
  EXPECT_EQ(second.wait(waitScope), 2);
  EXPECT_EQ(first.wait(waitScope), 1);
  // And the waits after that still work.
  EXPECT_EQ(env.job(4).wait(waitScope), 4);
  env.waitForJobs(3);
  EXPECT_EQ(env.job(5).wait(waitScope), 5);
}

TEST(WriteQueueTest, ACallerThatWentAwayDoesNotStopTheOthers) {
  Env env;
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  kj::Vector<kj::Promise<int>> kept;
  for (int i = 0; i < 200; ++i) {
    auto promise = env.job(i * 7);              // multiples of 7: none refused
    if (i % 2 == 0) kept.add(kj::mv(promise));  // the odd ones are dropped at once
  }
  auto results = kj::joinPromises(kept.releaseAsArray()).wait(waitScope);
  for (size_t j = 0; j < results.size(); ++j) EXPECT_EQ(results[j], int(j) * 14);
  env.waitForJobs(200);
  // A dropped caller's job still ran and was committed: only its answer is lost.
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(env.stored("k" + std::to_string(i * 7))) << i;
}

// A job that includes a transaction prepared on a snapshot (a run's writes) ends its group: the
// jobs queued behind it run in the next group, after the included writes are committed, so their
// reads see them. The included writes and the group's are committed together.
TEST(WriteQueueTest, AJobThatIncludesPreparedWritesEndsItsGroup) {
  Env env;
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  auto prepared = env.store->beginAtSnapshot();
  prepared->putSystem("prepared", "1");

  // Job 0 holds the writer until the three others are queued: they are taken as one group.
  std::promise<void> started, go;
  auto goFuture = go.get_future().share();
  auto hold = env.writes->run<int>([&started, goFuture](Txn&) {
    started.set_value();
    goFuture.wait();
    return 0;
  });
  started.get_future().wait();
  auto before = env.job(1);
  auto including = env.writes->run<int>([&prepared](Txn& txn) {
    txn.putSystem("including", "");
    txn.include(kj::mv(prepared));
    return 2;
  });
  auto after = env.writes->run<bool>([](Txn& txn) { return txn.getSystem("prepared") != nullptr; });
  uint64_t commitsBefore = env.writes->stats().commits;
  go.set_value();

  EXPECT_EQ(hold.wait(waitScope), 0);
  EXPECT_EQ(before.wait(waitScope), 1);
  EXPECT_EQ(including.wait(waitScope), 2);
  EXPECT_TRUE(after.wait(waitScope)) << "a job behind the including one read without its writes";
  EXPECT_TRUE(env.stored("prepared"));
  EXPECT_TRUE(env.stored("including"));
  EXPECT_TRUE(env.stored("k1"));
  // Job 0 alone (it held the writer; nothing to write), jobs 1 and 2 with the included writes in
  // one synced write, then job 3 alone (nothing to write).
  EXPECT_EQ(env.writes->stats().commits - commitsBefore, 1u);
}

TEST(WriteQueueTest, AJobAloneIsCommittedInAGroupOfItsOwn) {
  Env env;
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  std::promise<void> started, go;
  auto goFuture = go.get_future().share();
  auto hold = env.writes->run<int>([&started, goFuture](Txn&) {
    started.set_value();
    goFuture.wait();
    return 0;
  });
  started.get_future().wait();
  // Queued while the writer is held: without ALONE, one group of four.
  auto before = env.job(1);
  auto second = env.job(2);
  auto alone = env.writes->run<size_t>(
      [](Txn& txn) {
        size_t seen = txn.size();  // the group's writes before this job's: none
        txn.putSystem("alone", "");
        return seen;
      },
      Writes::ANY, Group::ALONE);
  auto after = env.job(4);
  uint64_t commitsBefore = env.writes->stats().commits;
  go.set_value();

  EXPECT_EQ(hold.wait(waitScope), 0);
  EXPECT_EQ(before.wait(waitScope), 1);
  EXPECT_EQ(second.wait(waitScope), 2);
  EXPECT_EQ(alone.wait(waitScope), 0u);
  EXPECT_EQ(after.wait(waitScope), 4);
  EXPECT_TRUE(env.stored("alone"));
  EXPECT_TRUE(env.stored("k4"));
  // Jobs 1 and 2 together, the lone job, then job 4.
  EXPECT_EQ(env.writes->stats().commits - commitsBefore, 3u);
}

// What a run prepared on a snapshot asks before it is committed as prepared: whether any job but
// the Writes::OUTSIDE_RUNS ones (ingestion…) ran since its mark, including one that started before
// the mark and was committed after it.
TEST(WriteQueueTest, OnlyOutsideRunsSinceSeesEveryOtherJob) {
  Env env;
  auto onlyOutsideRunsSince = [&](uint64_t mark) {
    bool only = false;
    env.writes->runSync([&](Txn&) { only = env.writes->onlyOutsideRunsSince(mark); });
    return only;
  };
  uint64_t mark = env.writes->changeMark();
  env.writes->runSync([](Txn& txn) { txn.putSystem("new lead", ""); }, Writes::OUTSIDE_RUNS);
  EXPECT_TRUE(onlyOutsideRunsSince(mark));

  mark = env.writes->changeMark();
  env.writes->runSync([](Txn& txn) { txn.putSystem("a commande changed", ""); });
  EXPECT_FALSE(onlyOutsideRunsSince(mark));

  // A job that started before the mark, committed after it.
  std::promise<void> started, go;
  auto goFuture = go.get_future().share();
  std::thread slow([&]() {
    env.writes->runSync([&](Txn& txn) {
      started.set_value();
      goFuture.wait();
      txn.putSystem("slow change", "");
    });
  });
  started.get_future().wait();
  mark = env.writes->changeMark();
  go.set_value();
  slow.join();
  EXPECT_FALSE(onlyOutsideRunsSince(mark));
}

}  // namespace
}  // namespace rdz
