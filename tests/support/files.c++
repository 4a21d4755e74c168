#include "tests/support/files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rdz::test {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void writeFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool holds(std::string_view bytes, std::string_view needle, Match match) {
  for (size_t at = bytes.find(needle); at != std::string_view::npos;
       at = bytes.find(needle, at + 1)) {
    if (match == Match::anywhere) return true;
    bool digitBefore = at > 0 && isDigit(bytes[at - 1]);
    bool digitAfter = at + needle.size() < bytes.size() && isDigit(bytes[at + needle.size()]);
    if (!digitBefore && !digitAfter) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> filesContaining(const std::string& dir, std::string_view needle,
                                         Match match) {
  std::vector<std::string> out;
  for (auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);  // a file deleted meanwhile reads empty
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (holds(bytes.str(), needle, match)) out.push_back(entry.path().string());
  }
  return out;
}

}  // namespace rdz::test
