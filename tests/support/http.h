// An HTTP client for tests (libcurl): one request, the whole answer. For the real rdz-gateway
// and rdzd's metrics listener.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rdz::test {

struct HttpResult {
  long code = 0;  // 0: no answer (connection refused, reset, timeout)
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;
};

// `method` GET, POST (with `body`) or any other verb; `headers` as "Name: value". Never throws:
// a failure is code 0 with `error` set.
HttpResult http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::vector<std::string>& headers = {}, long timeoutMs = 15000);

// "HTTP 404 not found" (and the transport's error), for assertion messages.
std::string describe(const HttpResult& r);

}  // namespace rdz::test
