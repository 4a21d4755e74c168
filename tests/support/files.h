// Whole-file reads and writes for tests. Both throw std::runtime_error naming the path on failure
// (GoogleTest reports an exception escaping a test as a failure).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rdz::test {

std::string readFile(const std::string& path);
// Creates or truncates `path`.
void writeFile(const std::string& path, std::string_view content);
enum class Match {
  anywhere,
  // Not next to another ASCII digit: a short number such as a code postal, which an unrelated
  // longer number (a RocksDB LOG timestamp's microseconds, "…46.140990") may hold by chance.
  wholeNumber,
};
// Every regular file under `dir` (recursively) whose bytes hold `needle`.
std::vector<std::string> filesContaining(const std::string& dir, std::string_view needle,
                                         Match match = Match::anywhere);

}  // namespace rdz::test
