// rdz-gateway's log: one line per event on stderr (the journal under systemd). Never a token, never
// a lead's fields (name, phone, email, address): spool ids, lead ids, entities and counts only.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdio>

namespace rdz::gateway {

inline std::atomic<bool> logDebug{false};

template <typename... Args>
void logLine(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "rdz-gateway: {}\n", fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void logDebugLine(fmt::format_string<Args...> format, Args&&... args) {
  if (logDebug.load(std::memory_order_relaxed)) logLine(format, std::forward<Args>(args)...);
}

}  // namespace rdz::gateway
