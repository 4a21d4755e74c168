#include "daemon/service/files.h"

#include <kj/debug.h>

#include <fstream>
#include <sstream>

namespace rdz {

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
