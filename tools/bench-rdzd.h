// The real rdzd, as the benchmarks that need one run it (rdz-bench audit, run): started as a
// child process on a data directory, its memory read from /proc.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "client/connection.h"

namespace rdz {

// Starts `rdzd --data_dir DATA_DIR EXTRA…` with stdout and stderr appended to `log`; returns its
// pid at once (the caller stops and reaps it: stopRdzd).
pid_t startRdzd(const std::string& rdzd, const std::string& dataDir, const std::string& log,
                const std::vector<std::string>& extra = {});
// SIGTERM, then waits for it to exit.
void stopRdzd(pid_t pid);
// The endpoint of rdzd's socket in DATA_DIR with the token of DATA_DIR/TOKEN_FILE, once rdzd has
// written its token files (first start); the connection waits up to `wait` for rdzd to listen.
Endpoint rdzdEndpoint(const std::string& dataDir, const std::string& tokenFile,
                      std::chrono::seconds wait);
// A field of /proc/PID/status ("VmRSS:", "VmHWM:") in MiB; 0 when it cannot be read.
double memoryMb(pid_t pid, const char* field);

}  // namespace rdz
