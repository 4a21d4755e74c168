// A Store that fails on demand: it forwards everything to a real RocksDB store, except that the
// next `failCommits` commits throw what a failed synced WAL write throws (nothing applied). For
// tests of what the service does when the disk refuses a write; the e2e fault tests inject real
// EIO into rdzd (tests/faults/).
#pragma once

#include <kj/debug.h>

#include <atomic>
#include <memory>

#include "daemon/store/store.h"

namespace rdz::test {

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  std::atomic<int> failCommits{0};
  std::atomic<int> failedCommits{0};

  kj::Maybe<std::string> get(Entity e, Family f, std::string_view key) override {
    return inner_->get(e, f, key);
  }
  kj::Maybe<std::string> getSystem(std::string_view key) override { return inner_->getSystem(key); }
  void scan(Entity e, Family f, std::string_view prefix, ScanFn fn, bool reverse) override {
    inner_->scan(e, f, prefix, kj::mv(fn), reverse);
  }
  void scanSystem(std::string_view prefix, ScanFn fn) override {
    inner_->scanSystem(prefix, kj::mv(fn));
  }
  void scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                 ScanFn fn) override {
    inner_->scanAfter(e, f, prefix, after, kj::mv(fn));
  }
  void scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) override {
    inner_->scanSystemAfter(prefix, after, kj::mv(fn));
  }
  kj::Own<Txn> begin() override { return inner_->begin(); }
  kj::Own<Txn> beginAtSnapshot() override { return inner_->beginAtSnapshot(); }
  void commit(Txn& txn, bool sync) override {
    int left = failCommits.load();
    while (left > 0 && !failCommits.compare_exchange_weak(left, left - 1)) {
    }
    if (left > 0) {
      ++failedCommits;
      kj::throwFatalException(
          KJ_EXCEPTION(OVERLOADED, "storage failure", "commit", "IO error: injected EIO"));
    }
    inner_->commit(txn, sync);
  }
  StoreSize size() override { return inner_->size(); }
  void checkpoint(const std::string& dir) override { inner_->checkpoint(dir); }
  kj::Own<Reader> snapshot() override { return inner_->snapshot(); }
  void purgeOldVersions(const std::vector<KeyRange>& ranges) override {
    inner_->purgeOldVersions(ranges);
  }

 private:
  std::unique_ptr<Store> inner_;
};

}  // namespace rdz::test
