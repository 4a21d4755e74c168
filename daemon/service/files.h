// Reading small files whole (tokens, templates, passwords, PEM): the one place rdzd does it.
#pragma once

#include <optional>
#include <string>

namespace rdz {

// The file's bytes, or nullopt when it cannot be opened.
std::optional<std::string> readFileIfExists(const std::string& path);

// The file's bytes; throws (KJ_REQUIRE) naming `what` and the path when it cannot be read.
std::string readFile(const std::string& path, const char* what = "file");

// Writes `content` to `path` with `mode`, synced, atomically (temp file + rename, then the
// directory synced so the rename survives a power loss).
void writeFileSecure(const std::string& path, const std::string& content, unsigned mode);

}  // namespace rdz
