// Whole-file reads and writes for tests. Both throw std::runtime_error naming the path on failure
// (GoogleTest reports an exception escaping a test as a failure).
#pragma once

#include <string>
#include <string_view>

namespace rdz::test {

std::string readFile(const std::string& path);
// Creates or truncates `path`.
void writeFile(const std::string& path, std::string_view content);

}  // namespace rdz::test
