// rdzd's metrics listener (SPEC §11): `metrics_listen = host:port` serves `GET /metrics` in
// Prometheus's text format (metrics.h) over plain HTTP (kj-http) on rdzd's event loop; every
// other path is 404, another method on /metrics 405. A scrape reads the counters and RocksDB's
// size properties, never the data, so it costs the same whatever the database holds.
//
// No TLS and no authentication: bound to loopback by default, and the counters hold no personal
// data, but bound elsewhere anyone who reaches the port reads them.
#pragma once

#include <kj/async-io.h>

#include <string>

#include "daemon/store/store.h"

namespace kj {
class HttpHeaderTable;
class HttpServer;
}  // namespace kj

namespace rdz {

// Event-loop thread only. Construction binds `address` ("host:port", Config::metricsListen) and
// throws if it cannot.
class MetricsListener {
 public:
  MetricsListener(kj::AsyncIoContext& io, const std::string& address, Store& store);
  ~MetricsListener();
  KJ_DISALLOW_COPY(MetricsListener);

  // Serves until dropped; a failed accept (out of file descriptors, …) is logged and retried a
  // second later, so the promise never resolves.
  kj::Promise<void> run();

  // "http://127.0.0.1:9464/metrics", for the log.
  const std::string& url() const { return url_; }

 private:
  class Service;
  kj::Timer& timer_;
  kj::Own<kj::HttpHeaderTable> table_;
  kj::Own<Service> service_;
  kj::Own<kj::ConnectionReceiver> listener_;
  kj::Own<kj::HttpServer> server_;
  std::string url_;
};

}  // namespace rdz
