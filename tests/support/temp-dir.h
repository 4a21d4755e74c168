// A temporary directory removed (recursively) when the object goes away.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace rdz::test {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/rdz-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ignored;  // best effort: a leftover temp dir is not a test failure
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace rdz::test
