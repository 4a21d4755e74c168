// Txn::afterCommit: effects outside the database that follow only a committed write (the
// metrics); and Store::size, the store's own accounting of its files.
#include <gtest/gtest.h>
#include <kj/debug.h>

#include <string>
#include <vector>

#include "daemon/store/store.h"
#include "tests/support/faulty-store.h"
#include "tests/support/temp-dir.h"

namespace rdz {
namespace {

class AfterCommitTest : public testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "db");
  std::vector<std::string> ran;

  kj::Function<void()> note(std::string what) {
    return [this, what = kj::mv(what)]() { ran.push_back(what); };
  }
};

TEST_F(AfterCommitTest, RunOnceAfterTheCommitInOrder) {
  auto txn = store->begin();
  txn->putSystem("Xa", "1");
  txn->afterCommit(note("first"));
  txn->afterCommit(note("second"));
  EXPECT_TRUE(ran.empty());
  store->commit(*txn);
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second"}));
  txn->committed();  // already run: nothing again
  EXPECT_EQ(ran.size(), 2u);
}

TEST_F(AfterCommitTest, ARollbackForgetsWhatItsPartRegistered) {
  auto txn = store->begin();
  txn->setSavePoint();
  txn->putSystem("Xa", "1");
  txn->afterCommit(note("kept job"));
  txn->popSavePoint();
  txn->setSavePoint();
  txn->putSystem("Xb", "1");
  txn->afterCommit(note("undone job"));
  txn->setSavePoint();  // nested inside the undone job
  txn->afterCommit(note("undone inner"));
  txn->popSavePoint();
  txn->rollbackToSavePoint();
  txn->setSavePoint();
  txn->afterCommit(note("job without writes"));
  txn->popSavePoint();
  store->commit(*txn);
  EXPECT_EQ(ran, (std::vector<std::string>{"kept job", "job without writes"}));
  EXPECT_TRUE(store->getSystem("Xa") != nullptr);
  EXPECT_TRUE(store->getSystem("Xb") == nullptr);
}

TEST_F(AfterCommitTest, NeverRunWhenTheCommitFails) {
  test::FaultyStore faulty(kj::mv(store));
  auto txn = faulty.begin();
  txn->putSystem("Xa", "1");
  txn->afterCommit(note("after a failed commit"));
  faulty.failCommits = 1;
  EXPECT_THROW(faulty.commit(*txn, true), kj::Exception);
  EXPECT_TRUE(ran.empty());
  EXPECT_TRUE(faulty.getSystem("Xa") == nullptr);
}

TEST_F(AfterCommitTest, SizeCountsTheWalAndThenTheSstFiles) {
  StoreSize empty = store->size();
  EXPECT_EQ(empty.liveSstBytes, 0u);
  auto txn = store->begin();
  for (int i = 0; i < 100; ++i) txn->putSystem("Xkey" + std::to_string(i), std::string(1000, 'v'));
  store->commit(*txn);
  StoreSize written = store->size();
  EXPECT_GE(written.walBytes, empty.walBytes + 100 * 1000);  // in the WAL, not in an SST yet
  EXPECT_EQ(written.liveSstBytes, 0u);
  // purgeOldVersions flushes every memtable: the data moves to SST files.
  store->purgeOldVersions({});
  StoreSize flushed = store->size();
  EXPECT_GT(flushed.liveSstBytes, 0u);
}

}  // namespace
}  // namespace rdz
