// Named crash points for fault campaigns (docs/FAULTS.md). Compiled in only when the build is
// configured with -DRDZ_FAULT_POINTS=ON (tools/test.sh does; tools/build.sh and packages do not):
// otherwise faultPoint() is an empty inline function and costs nothing.
//
// In a build with the points, env RDZ_CRASH_AT=NAME[:N] (read once, at the first point reached)
// makes the N-th hit (default 1) of the point NAME kill its own process with SIGKILL: a real
// crash — no destructors, no flush, no atexit. Without RDZ_CRASH_AT every point is a no-op.
// Thread-safe: hits are counted atomically across threads.
//
// Dependency-free on purpose (the gateway and the daemon both use it).
#pragma once

#include "daemon/domain/fault-points-config.h"  // generated: defines RDZ_FAULT_POINTS 0 or 1

#if RDZ_FAULT_POINTS
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#endif

namespace rdz {

#if RDZ_FAULT_POINTS

namespace fault_point_detail {

struct Target {
  std::string name;  // "" = no crash asked
  long hit = 1;
  std::atomic<long> seen{0};
  Target() {
    const char* spec = std::getenv("RDZ_CRASH_AT");
    if (spec == nullptr || *spec == '\0') return;
    name = spec;
    auto colon = name.rfind(':');
    if (colon != std::string::npos) {
      hit = std::atol(name.c_str() + colon + 1);
      if (hit < 1) hit = 1;
      name.resize(colon);
    }
  }
};

inline Target& target() {
  static Target t;  // C++11 magic static: read once, thread-safe
  return t;
}

}  // namespace fault_point_detail

inline void faultPoint(const char* name) {
  auto& t = fault_point_detail::target();
  if (t.name.empty() || std::strcmp(name, t.name.c_str()) != 0) return;
  if (t.seen.fetch_add(1) + 1 == t.hit) {
    static const char MESSAGE[] = "rdz: crash point reached, SIGKILL\n";
    // Intentionally ignored: the message is for the campaign's log only.
    [[maybe_unused]] auto ignored = ::write(2, MESSAGE, sizeof(MESSAGE) - 1);
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();  // SIGKILL cannot be caught: never returns
  }
}

#else

inline void faultPoint(const char*) {}

#endif

}  // namespace rdz
