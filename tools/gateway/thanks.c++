#include "tools/gateway/thanks.h"

#include <stdexcept>

namespace rdz::gateway {

namespace {

constexpr size_t MAX_URL_BYTES = 2000;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool hostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

// "." or "..", written plainly or %-escaped: a browser resolves them, so a path holding one can
// leave the prefix it appears to be under.
bool dotSegment(std::string_view segment) {
  std::string s = lowered(segment);
  for (std::string_view dots : {".", "..", "%2e", "%2e%2e", ".%2e", "%2e."}) {
    if (s == dots) return true;
  }
  return false;
}

}  // namespace

std::optional<WebAddress> parseWebAddress(std::string_view text) {
  if (text.empty() || text.size() > MAX_URL_BYTES) return std::nullopt;
  for (char c : text) {
    // Printable ASCII only: browsers drop tabs and newlines inside URLs and read '\' as '/', so
    // what they would follow could differ from what was checked.
    if (c <= 0x20 || c >= 0x7f) return std::nullopt;
    if (std::string_view("\\\"<>`").find(c) != std::string_view::npos) return std::nullopt;
  }
  WebAddress a;
  std::string head = lowered(text.substr(0, 8));
  if (head.compare(0, 8, "https://") == 0) {
    a.scheme = "https";
  } else if (head.compare(0, 7, "http://") == 0) {
    a.scheme = "http";
  } else {
    return std::nullopt;
  }
  text.remove_prefix(a.scheme.size() + 3);
  size_t end = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : text.substr(end);
  if (authority.find_first_of("@%") != std::string_view::npos) return std::nullopt;

  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close < 3) return std::nullopt;
    for (char c : authority.substr(1, close - 1)) {
      char l = lower(c);
      if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f') || l == ':' || l == '.')) {
        return std::nullopt;
      }
    }
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (host.empty()) return std::nullopt;
    for (char c : host) {
      if (!hostChar(lower(c))) return std::nullopt;
    }
    if (host.front() == '.' || host.front() == '-') return std::nullopt;
  }
  a.host = lowered(host);
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    bool standard = (a.scheme == "https" && value == 443) || (a.scheme == "http" && value == 80);
    if (!standard) a.port = std::to_string(value);
  }

  if (rest.empty() || rest.front() != '/') {
    a.rest = "/" + std::string(rest);
  } else {
    a.rest = std::string(rest);
  }
  std::string_view path = std::string_view(a.rest).substr(0, a.rest.find_first_of("?#"));
  if (path.compare(0, 2, "//") == 0) return std::nullopt;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (dotSegment(path.substr(start, slash - start))) return std::nullopt;
    start = slash + 1;
  }
  return a;
}

ThanksPages::ThanksPages(const std::vector<std::string>& entries) {
  for (const std::string& text : entries) {
    Entry entry;
    std::string_view url = text;
    if (!url.empty() && url.back() == '*') {
      entry.prefix = true;
      url.remove_suffix(1);
    }
    auto address = parseWebAddress(url);
    if (!address || url.find('*') != std::string_view::npos) {
      throw std::runtime_error("merci_urls: not an http(s) URL (or URL prefix ending in *): " +
                               text);
    }
    entry.address = *address;
    entries_.push_back(std::move(entry));
  }
}

bool ThanksPages::allows(std::string_view url) const {
  auto candidate = parseWebAddress(url);
  if (!candidate) return false;
  for (const Entry& e : entries_) {
    const WebAddress& a = e.address;
    if (a.scheme != candidate->scheme || a.host != candidate->host || a.port != candidate->port) {
      continue;
    }
    if (e.prefix ? candidate->rest.compare(0, a.rest.size(), a.rest) == 0
                 : candidate->rest == a.rest) {
      return true;
    }
  }
  return false;
}

}  // namespace rdz::gateway
