// The clock is injected everywhere time matters (8 days, 30 days, 10 minutes, weeks, 09:30
// Europe/Paris), so every such rule is tested without waiting.
#pragma once

#include <atomic>

#include "daemon/domain/types.h"

namespace rdz {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : us_(start.time_since_epoch().count()) {}
  Timestamp now() const override { return Timestamp(Duration(us_.load())); }
  void set(Timestamp t) { us_.store(t.time_since_epoch().count()); }
  void advance(Duration d) { us_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> us_;
};

}  // namespace rdz
