// Logging: one line per event on stderr (the journal under systemd). Never log a token, a
// password, or a lead's personal fields (name, phone, email, address): ids and counts only.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdio>

namespace rdz {

inline std::atomic<bool> logDebug{false};

template <typename... Args>
void logInfo(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "rdzd: {}\n", fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void logDebugLine(fmt::format_string<Args...> format, Args&&... args) {
  if (logDebug.load(std::memory_order_relaxed)) logInfo(format, std::forward<Args>(args)...);
}

}  // namespace rdz
