#include "tools/bench-rdzd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <kj/debug.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace rdz {

pid_t startRdzd(const std::string& rdzd, const std::string& dataDir, const std::string& log,
                const std::vector<std::string>& extra) {
  std::vector<std::string> args = {rdzd, "--data_dir", dataDir};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  KJ_SYSCALL(pid);
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(rdzd.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

void stopRdzd(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

Endpoint rdzdEndpoint(const std::string& dataDir, const std::string& tokenFile,
                      std::chrono::seconds wait) {
  using namespace std::chrono_literals;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!std::filesystem::exists(dataDir + "/" + tokenFile) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  Endpoint endpoint;
  endpoint.socket = dataDir + "/rdzd.sock";
  endpoint.waitForRdzd = wait;
  endpoint.token = readTokenFile(dataDir + "/" + tokenFile);
  return endpoint;
}

double memoryMb(pid_t pid, const char* field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::strlen(field))) / 1024.0;
  }
  return 0;
}

}  // namespace rdz
