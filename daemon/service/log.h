// Logging of rdzd and rdz-gateway: one line per event on stderr (the journal under systemd),
// prefixed with the program's name. Never log a token, a password, or a lead's personal fields
// (name, phone, email, address): ids, entities and counts only.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdio>

namespace rdz {

inline std::atomic<bool> logDebug{false};
inline std::atomic<const char*> logProgram{"rdzd"};  // set once by main()

template <typename... Args>
void logInfo(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "{}: {}\n", logProgram.load(std::memory_order_relaxed),
             fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void logDebugLine(fmt::format_string<Args...> format, Args&&... args) {
  if (logDebug.load(std::memory_order_relaxed)) logInfo(format, std::forward<Args>(args)...);
}

}  // namespace rdz
