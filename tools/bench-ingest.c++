#include "tools/bench-ingest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "client/synthetic.h"

namespace rdz {

IngestFigures ingestLoad(const Endpoint& endpoint, int clients, uint64_t seed, uint32_t streamBase,
                         const std::function<bool()>& keepGoing,
                         const std::atomic<bool>* measuring) {
  using Clock = std::chrono::steady_clock;
  std::atomic<uint64_t> errors{0};
  std::vector<std::vector<double>> latencies(clients);
  // The measured span: the first measured submission sent, the last one answered.
  std::vector<Clock::time_point> firstSent(clients, Clock::time_point::max());
  std::vector<Clock::time_point> lastAnswered(clients, Clock::time_point::min());
  std::vector<std::thread> threads;
  auto started = Clock::now();
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t]() {
      try {
        Connection conn(endpoint);
        auto ingest = conn.ingest();
        uint32_t stream = streamBase + static_cast<uint32_t>(t);
        for (uint32_t n = 0; keepGoing(); ++n) {
          auto fields = syntheticLead(seed, stream, n);
          auto req = ingest.submitRequest();
          auto list = req.initFields(fields.size());
          for (size_t i = 0; i < fields.size(); ++i) {
            list[i].setName(fields[i].name);
            list[i].setValue(fields[i].value);
          }
          req.setIdempotencyKey(syntheticKey(seed, stream, n));
          bool measured = measuring == nullptr || measuring->load();
          auto begin = Clock::now();
          req.send().wait(conn.waitScope());
          auto end = Clock::now();
          if (!measured) continue;
          latencies[t].push_back(std::chrono::duration<double, std::milli>(end - begin).count());
          firstSent[t] = std::min(firstSent[t], begin);
          lastAnswered[t] = std::max(lastAnswered[t], end);
        }
      } catch (const std::exception& e) {
        if (errors.fetch_add(1) == 0) std::cerr << "rdz-bench: client failed: " << e.what() << "\n";
      }
    });
  }
  for (auto& th : threads) th.join();
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
  figures.failedClients = errors.load();
  return figures;
}

}  // namespace rdz
