#include "daemon/service/curl.h"

#include <kj/debug.h>

#include <mutex>

namespace rdz {

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    KJ_ASSERT(rc == CURLE_OK, "curl_global_init failed", curl_easy_strerror(rc));
  });
}

void append(SlistPtr& list, const std::string& item) {
  curl_slist* grown = curl_slist_append(list.get(), item.c_str());
  KJ_ASSERT(grown != nullptr, "curl_slist_append: out of memory");
  (void)list.release();  // the old head is part of `grown` now
  list.reset(grown);
}

void checkCurl(CURLcode rc, const char* what) {
  KJ_ASSERT(rc == CURLE_OK, "libcurl refused an option", what, curl_easy_strerror(rc));
}

}  // namespace rdz
