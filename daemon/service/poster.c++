#include "daemon/service/poster.h"

#include <fmt/format.h>
#include <kj/debug.h>

#include "daemon/service/curl.h"

namespace rdz {

namespace {

// Keeps the status line's reason phrase ("HTTP/1.1 503 Service Unavailable" → "Service
// Unavailable"); the body of the answer is not kept (it may be large or hold anything).
size_t onHeader(char* data, size_t size, size_t count, void* user) {
  size_t n = size * count;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    size_t first = line.find(' ');
    size_t second = first == std::string::npos ? std::string::npos : line.find(' ', first + 1);
    auto& reason = *static_cast<std::string*>(user);
    reason = second == std::string::npos ? "" : line.substr(second + 1);
  }
  return n;
}

size_t discardBody(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

PostResult postJson(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body, const PostTimeouts& timeouts) {
  KJ_REQUIRE(url.starts_with("http://") || url.starts_with("https://"),
             "an API URL must be http(s)://…", url);
  initCurlOnce();

  // Declared before the easy handle, so destroyed after it.
  SlistPtr list;
  append(list, "Content-Type: application/json");
  append(list, "Expect:");  // no 100-continue round trip: the body goes with the request
  for (const std::string& header : headers) {
    KJ_REQUIRE(header.find_first_of("\r\n") == std::string::npos && header.find(':') != 0 &&
                   header.find(':') != std::string::npos,
               "an HTTP header must be one 'Name: value' line");
    append(list, header);
  }
  CurlPtr curl(curl_easy_init());
  KJ_ASSERT(curl != nullptr, "curl_easy_init failed");
  CURL* c = curl.get();

  std::string reason;
  char error[CURL_ERROR_SIZE] = {};
  checkCurl(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error), "ERRORBUFFER");
  checkCurl(curl_easy_setopt(c, CURLOPT_URL, url.c_str()), "URL");
  checkCurl(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR");
  checkCurl(curl_easy_setopt(c, CURLOPT_POST, 1L), "POST");
  checkCurl(curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data()), "POSTFIELDS");
  checkCurl(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size())),
            "POSTFIELDSIZE");
  checkCurl(curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get()), "HTTPHEADER");
  checkCurl(curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader), "HEADERFUNCTION");
  checkCurl(curl_easy_setopt(c, CURLOPT_HEADERDATA, &reason), "HEADERDATA");
  checkCurl(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discardBody), "WRITEFUNCTION");
  checkCurl(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L), "FOLLOWLOCATION");
  checkCurl(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(timeouts.connect.count())),
            "CONNECTTIMEOUT_MS");
  checkCurl(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(timeouts.total.count())), "TIMEOUT_MS");
  // Worker threads: no SIGALRM-based DNS timeouts.
  checkCurl(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");

  CURLcode rc = curl_easy_perform(c);
  PostResult result;
  long code = 0;
  if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
  if (rc == CURLE_OK) {
    result.code = code;
    result.ok = code >= 200 && code <= 299;
    result.detail =
        reason.empty() ? fmt::format("http {}", code) : fmt::format("http {} {}", code, reason);
  } else {
    // No complete answer: whatever status arrived before a timeout does not count.
    result.code = 0;
    std::string why = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
    result.detail = fmt::format("http: {} ({})", why, curl_easy_strerror(rc));
  }
  return result;
}

}  // namespace rdz
