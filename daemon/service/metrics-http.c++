#include "daemon/service/metrics-http.h"

#include <kj/compat/http.h>
#include <kj/debug.h>

#include "daemon/domain/metrics-text.h"
#include "daemon/service/daemon.h"
#include "daemon/service/metrics.h"

namespace rdz {

class MetricsListener::Service final : public kj::HttpService {
 public:
  Service(kj::HttpHeaderTable::Builder& builder, Store& store)
      : store_(store), allow_(builder.add("Allow")), table_(builder.getFutureTable()) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url, const kj::HttpHeaders&,
                            kj::AsyncInputStream&, Response& response) override {
    std::string_view path(url.cStr(), url.size());
    path = path.substr(0, path.find('?'));
    kj::HttpHeaders headers(table_);
    if (path != "/metrics") return reply(response, headers, 404, "Not Found", "not found\n");
    if (method != kj::HttpMethod::GET) {
      headers.set(allow_, "GET");
      return reply(response, headers, 405, "Method Not Allowed", "use GET\n");
    }
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, kj::StringPtr(METRICS_CONTENT_TYPE.data()));
    return reply(response, headers, 200, "OK", metrics().render(store_.size()));
  }

 private:
  static kj::Promise<void> reply(Response& response, kj::HttpHeaders& headers, unsigned code,
                                 kj::StringPtr status, std::string body) {
    if (code != 200) headers.set(kj::HttpHeaderId::CONTENT_TYPE, "text/plain; charset=utf-8");
    auto stream = response.send(code, status, headers, body.size());
    auto text = kj::heapString(body.data(), body.size());
    auto written = stream->write(text.begin(), text.size());
    return written.attach(kj::mv(stream), kj::mv(text));
  }

  Store& store_;
  kj::HttpHeaderId allow_;
  const kj::HttpHeaderTable& table_;
};

MetricsListener::MetricsListener(kj::AsyncIoContext& io, const std::string& address, Store& store)
    : timer_(io.provider->getTimer()) {
  kj::HttpHeaderTable::Builder builder;
  service_ = kj::heap<Service>(builder, store);
  table_ = builder.build();
  listener_ = io.provider->getNetwork()
                  .parseAddress(kj::StringPtr(address.c_str()))
                  .wait(io.waitScope)
                  ->listen();
  server_ = kj::heap<kj::HttpServer>(timer_, *table_, *service_);
  std::string host = address.substr(0, address.rfind(':'));
  url_ = "http://" + host + ":" + std::to_string(listener_->getPort()) + "/metrics";
}

MetricsListener::~MetricsListener() = default;

kj::Promise<void> MetricsListener::run() {
  return server_->listenHttp(*listener_).catch_([this](kj::Exception&& e) {
    return retryAfterAcceptFailure(timer_, e).then([this]() { return run(); });
  });
}

}  // namespace rdz
