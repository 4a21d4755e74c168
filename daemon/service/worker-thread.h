// Slow work off the event loop and off the writer (STYLE: nothing long on the event loop).
#pragma once

#include <kj/async.h>
#include <kj/function.h>

namespace rdz {

// Runs `work` on a thread of its own; the promise resolves (or rejects with its exception) on
// the calling event loop once it is done. For slow work that must not hold the event loop or the
// writer (compactions, password hashing).
kj::Promise<void> onWorkerThread(kj::Function<void()> work);

}  // namespace rdz
