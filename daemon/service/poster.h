// Sending one JSON document by HTTP POST through libcurl (SPEC §6, methode api). Blocking: call it
// off the event loop (the Sender's thread).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace rdz {

struct PostResult {
  bool ok = false;     // the server answered 2xx
  long code = 0;       // the HTTP status, 0 when there was none (connection failure, timeout)
  std::string detail;  // for the batch's history: the status line's reason or curl's error
};

struct PostTimeouts {
  std::chrono::milliseconds connect = std::chrono::seconds(10);
  std::chrono::milliseconds total = std::chrono::seconds(60);
};

// POSTs `body` to `url` (http:// or https://, certificates verified against the system's trust
// store) with Content-Type: application/json and each of `headers` ("Name: value", one line
// each). Redirects are not followed: a 3xx is a failure like any other non-2xx answer. Never
// throws for what the network or the server does; only a bad argument throws.
PostResult postJson(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body, const PostTimeouts& timeouts = {});

}  // namespace rdz
