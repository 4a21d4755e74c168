#include "daemon/domain/clock.h"

namespace rdz {

Timestamp SystemClock::now() const {
  // Truncated (not rounded) so that a time never appears to come from the future.
  return std::chrono::floor<Duration>(std::chrono::system_clock::now());
}

}  // namespace rdz
