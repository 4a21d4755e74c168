#include "daemon/service/worker-thread.h"

#include <kj/thread.h>

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

}  // namespace rdz
