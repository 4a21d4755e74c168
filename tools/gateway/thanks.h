// Where a form's visitor goes after a post (the `merci_url` field): a page on the operator's
// allow-list of the entity, never anywhere a request names (no open redirect). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdz::gateway {

// An absolute http(s) URL, parsed strictly: 1 to 2000 printable ASCII characters, none of
// \ " < > ` or space; "http://" or "https://" (any case), then a host of letters, digits, dots and
// hyphens (or an IPv6 literal in brackets) with an optional port, no user info (no '@') and no
// %-escape before the path; a path without "." or ".." segments (%2e included) that does not
// begin with "//". Scheme and host are lower-cased, a default port dropped, an empty path made
// "/". Anything else is nullopt.
struct WebAddress {
  std::string scheme;  // "http" | "https"
  std::string host;
  std::string port;  // "" for the scheme's default
  std::string rest;  // path, query and fragment, from the first '/'
  bool operator==(const WebAddress&) const = default;
};
std::optional<WebAddress> parseWebAddress(std::string_view text);

// One entity's thank-you pages (gateway config `<entity>.merci_urls`). An entry is a URL, allowed
// exactly (scheme, host and port compared parsed, the rest byte for byte), or a URL followed by
// '*', allowing every URL of the same scheme, host and port whose rest begins with the entry's.
class ThanksPages {
 public:
  ThanksPages() = default;
  // Throws std::runtime_error naming the first entry that is not such a URL.
  explicit ThanksPages(const std::vector<std::string>& entries);
  // True when `url` is one of the allowed pages (a URL parseWebAddress accepts).
  bool allows(std::string_view url) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    WebAddress address;
    bool prefix = false;
  };
  std::vector<Entry> entries_;
};

}  // namespace rdz::gateway
