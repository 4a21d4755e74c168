#include "daemon/domain/outbox.h"

namespace rdz {

std::string_view batchStatusName(BatchStatus s) {
  switch (s) {
    case BatchStatus::PENDING: return "pending";
    case BatchStatus::SENT: return "sent";
    case BatchStatus::FAILED: return "failed";
  }
  return "?";
}

std::optional<Duration> retryDelay(uint32_t failedAttempts) {
  using namespace std::chrono;
  constexpr uint32_t SIX_HOURLY = 3 * 24 / 6;  // 12 retries: three days
  switch (failedAttempts) {
    case 0: return Duration(0);
    case 1: return minutes(1);
    case 2: return minutes(5);
    case 3: return minutes(15);
    case 4: return minutes(60);
    default:
      if (failedAttempts < 5 + SIX_HOURLY) return hours(6);
      return std::nullopt;
  }
}

std::string runId(std::string_view date, std::optional<Entity> entity) {
  std::string id(date);
  if (entity) id += "/" + std::string(entitySlug(*entity));
  return id;
}

}  // namespace rdz
