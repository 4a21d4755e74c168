// Slow work off the event loop and off the writer (STYLE: nothing long on the event loop).
#pragma once

#include <kj/async.h>
#include <kj/function.h>

#include <memory>
#include <optional>

#include "daemon/store/store.h"

namespace rdz {

// Runs `work` on a thread of its own; the promise resolves (or rejects with its exception) on
// the calling event loop once it is done. For slow work that must not hold the event loop or the
// writer (compactions, password hashing).
kj::Promise<void> onWorkerThread(kj::Function<void()> work);

// Lowers the calling thread's scheduling priority (Linux: its own nice value) so the event loop
// and the writer come first when the cores are busy.
void lowerThisThreadsPriority(int nice);

// `job` on a worker thread of lower priority; its result comes back on the calling event loop.
template <typename T>
kj::Promise<T> onLowPriorityThread(kj::Function<T()> job) {
  auto result = std::make_shared<std::optional<T>>();
  return onWorkerThread([job = kj::mv(job), result]() mutable {
           lowerThisThreadsPriority(5);
           result->emplace(job());
         })
      .then([result]() mutable -> T { return kj::mv(**result); });
}

// Long reads (a dry run, a backup): `job` on a worker thread of lower priority, with a snapshot
// of the store (one consistent state); its result comes back on the calling event loop.
template <typename T>
kj::Promise<T> onSnapshot(Store& store, kj::Function<T(Reader& snapshot)> job) {
  return onLowPriorityThread<T>([&store, job = kj::mv(job)]() mutable {
    auto snapshot = store.snapshot();
    return job(*snapshot);
  });
}

}  // namespace rdz
