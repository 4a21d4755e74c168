#include "daemon/service/worker-thread.h"

#include <kj/debug.h>
#include <kj/thread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rdz {

kj::Promise<void> onWorkerThread(kj::Function<void()> work) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  auto thread = kj::heap<kj::Thread>(
      [work = kj::mv(work), fulfiller = kj::mv(paf.fulfiller)]() mutable {
        KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { work(); })) {
          fulfiller->reject(kj::mv(*e));
        } else {
          fulfiller->fulfill();
        }
      });
  // The thread is joined when the promise is done with (it has finished by then).
  return paf.promise.attach(kj::mv(thread));
}

void lowerThisThreadsPriority(int nice) {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0) {
    // Not fatal: the thread then competes as an equal.
    KJ_LOG(WARNING, "cannot lower a worker thread's priority", strerror(errno));
  }
}

}  // namespace rdz
