#include "tools/bench-ingest.h"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "client/synthetic.h"

namespace rdz {

namespace {

using Clock = std::chrono::steady_clock;

// One client: its own connection and session, one submission at a time, each sent once the one
// before is acknowledged.
struct Client {
  uint32_t stream = 0;
  uint32_t next = 0;  // n of its next synthetic lead
  std::vector<double>* latencies = nullptr;
  // The measured span: its first measured submission sent, its last one answered.
  Clock::time_point firstSent = Clock::time_point::max();
  Clock::time_point lastAnswered = Clock::time_point::min();
  kj::Own<kj::AsyncIoStream> connection;
  kj::Own<capnp::TwoPartyClient> rpc;
  kj::Maybe<schema::Ingest::Client> ingest;
};

struct Load {
  uint64_t seed;
  const std::function<bool()>& keepGoing;
  const std::atomic<bool>* measuring;
  std::atomic<uint64_t>& errors;

  kj::Promise<void> connect(kj::AsyncIoContext& io, const Endpoint& endpoint, Client& c) {
    return openStream(io.provider->getNetwork(), io.unixEventPort, endpoint)
        .then([&c, &endpoint](kj::Own<kj::AsyncIoStream> connection) {
          c.connection = kj::mv(connection);
          c.rpc = kj::heap<capnp::TwoPartyClient>(*c.connection);
          auto request = c.rpc->bootstrap().castAs<schema::Bootstrap>().authenticateRequest();
          request.setToken(endpoint.token);
          return request.send();
        })
        .then([&c](capnp::Response<schema::Bootstrap::AuthenticateResults> response) {
          c.ingest = response.getSession().getIngest();
        });
  }

  kj::Promise<void> submitNext(Client& c) {
    if (!keepGoing()) return kj::READY_NOW;
    KJ_IF_MAYBE (ingest, c.ingest) {
      auto fields = syntheticLead(seed, c.stream, c.next);
      auto request = ingest->submitRequest();
      auto list = request.initFields(fields.size());
      for (size_t i = 0; i < fields.size(); ++i) {
        list[i].setName(fields[i].name);
        list[i].setValue(fields[i].value);
      }
      request.setIdempotencyKey(syntheticKey(seed, c.stream, c.next));
      ++c.next;
      bool measured = measuring == nullptr || measuring->load();
      auto begin = Clock::now();
      return request.send().then([this, &c, begin, measured](auto&&) {
        auto end = Clock::now();
        if (measured) {
          c.latencies->push_back(std::chrono::duration<double, std::milli>(end - begin).count());
          c.firstSent = std::min(c.firstSent, begin);
          c.lastAnswered = std::max(c.lastAnswered, end);
        }
        return submitNext(c);
      });
    }
    KJ_UNREACHABLE;
  }

  // A client that fails stops; the others go on.
  kj::Promise<void> run(kj::AsyncIoContext& io, const Endpoint& endpoint, Client& c) {
    return connect(io, endpoint, c)
        .then([this, &c]() { return submitNext(c); })
        .catch_([this](kj::Exception&& e) {
          if (errors.fetch_add(1) == 0) {
            std::cerr << "rdz-bench: client failed: " << e.getDescription().cStr() << "\n";
          }
        });
  }
};

}  // namespace

IngestFigures ingestLoad(const Endpoint& endpoint, int clients, uint64_t seed, uint32_t streamBase,
                         const std::function<bool()>& keepGoing, const std::atomic<bool>* measuring,
                         int threads) {
  threads = std::clamp(threads, 1, std::max(clients, 1));
  std::atomic<uint64_t> errors{0};
  std::vector<std::vector<double>> latencies(clients);
  std::vector<Clock::time_point> firstSent(clients, Clock::time_point::max());
  std::vector<Clock::time_point> lastAnswered(clients, Clock::time_point::min());
  std::vector<std::thread> pool;
  auto started = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t]() {
      try {
        auto io = kj::setupAsyncIo();
        Load load{seed, keepGoing, measuring, errors};
        std::vector<std::unique_ptr<Client>> mine;
        kj::Vector<kj::Promise<void>> running;
        for (int c = t; c < clients; c += threads) {
          auto client = std::make_unique<Client>();
          client->stream = streamBase + static_cast<uint32_t>(c);
          client->latencies = &latencies[c];
          running.add(load.run(io, endpoint, *client));
          mine.push_back(kj::mv(client));
        }
        kj::joinPromises(running.releaseAsArray()).wait(io.waitScope);
        for (auto& client : mine) {
          int c = static_cast<int>(client->stream - streamBase);
          firstSent[c] = client->firstSent;
          lastAnswered[c] = client->lastAnswered;
        }
      } catch (const kj::Exception& e) {
        if (errors.fetch_add(1) == 0) {
          std::cerr << "rdz-bench: clients failed: " << e.getDescription().cStr() << "\n";
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  IngestFigures figures;
  figures.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (measuring != nullptr) {
    auto first = *std::min_element(firstSent.begin(), firstSent.end());
    auto last = *std::max_element(lastAnswered.begin(), lastAnswered.end());
    figures.seconds = first < last ? std::chrono::duration<double>(last - first).count() : 0;
  }
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[static_cast<size_t>(p * (all.size() - 1))];
  };
  figures.acknowledged = all.size();
  figures.tps = figures.seconds > 0 ? all.size() / figures.seconds : 0;
  figures.p50Ms = pct(0.5);
  figures.p99Ms = pct(0.99);
  figures.maxMs = all.empty() ? 0.0 : all.back();
  figures.failedClients = errors.load();
  return figures;
}

}  // namespace rdz
