#include "daemon/service/files.h"

#include <fcntl.h>
#include <kj/debug.h>
#include <kj/io.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace rdz {

namespace {

// Makes a rename (or a creation) in `dir` durable: a rename is an update of the directory, not of
// the file, and only an fsync of the directory puts it on disk.
void syncDirectory(const std::string& dir) {
  int fd;
  KJ_SYSCALL(fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), dir);
  kj::AutoCloseFd closer(fd);
  KJ_SYSCALL(::fsync(fd), dir);
}

}  // namespace

void writeFileSecure(const std::string& path, const std::string& content, unsigned mode) {
  std::string tmp = path + ".tmp";
  int fd;
  KJ_SYSCALL(fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), tmp);
  kj::AutoCloseFd closer(fd);
  KJ_SYSCALL(::fchmod(fd, mode));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n;
    KJ_SYSCALL(n = ::write(fd, content.data() + done, content.size() - done), tmp);
    done += static_cast<size_t>(n);
  }
  KJ_SYSCALL(::fsync(fd), tmp);
  KJ_SYSCALL(::rename(tmp.c_str(), path.c_str()), path);
  auto slash = path.rfind('/');
  syncDirectory(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}


std::optional<std::string> readFileIfExists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string readFile(const std::string& path, const char* what) {
  auto content = readFileIfExists(path);
  KJ_REQUIRE(content.has_value(), "cannot read", what, path);
  return kj::mv(*content);
}

}  // namespace rdz
