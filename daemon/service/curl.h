// What the mailer and the HTTP poster share of libcurl: one-time global initialisation and
// owning handles. Blocking transfers only: callers run them off the event loop.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace rdz {

// curl_global_init, once per process (it is not thread-safe in every libcurl build).
void initCurlOnce();

struct CurlCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct MimeFree {
  void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlCleanup>;
using MimePtr = std::unique_ptr<curl_mime, MimeFree>;
using SlistPtr = std::unique_ptr<curl_slist, SlistFree>;

// Appends to a curl string list; curl copies the string.
void append(SlistPtr& list, const std::string& item);

// A curl_easy_setopt / curl_mime_* call that cannot fail with valid arguments: a bug if it does.
void checkCurl(CURLcode rc, const char* what);

}  // namespace rdz
