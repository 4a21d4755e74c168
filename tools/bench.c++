// rdz-bench: load generator. `rdz-bench ingest` runs CLIENTS threads, each with its own
// connection, submitting synthetic ~500-byte leads one after another (each acknowledged only once
// synced to disk) for SECONDS, and prints throughput and latency. Last line, for scripts:
// {"rdz":"ingest","clients":N,"tps":X,"p50_ms":…,"p99_ms":…}
#include <boost/program_options.hpp>
#include <kj/debug.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "client/synthetic.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  std::string mode = "ingest", socket, tokenFile, entityText = "zr7";
  int clients = 16, seconds = 15;
  uint64_t seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  po::options_description o("rdz-bench ingest [options]\n\nOptions");
  o.add_options()("help,h", "this help")("mode", po::value(&mode), "ingest")(
      "socket", po::value(&socket), "rdzd socket (default ./rdz-data/rdzd.sock)")(
      "token-file", po::value(&tokenFile), "token (default ./rdz-data/ingest-<entity>.token)")(
      "entity", po::value(&entityText), "zr7 or mdl")(
      "clients", po::value(&clients), "concurrent clients (default 16)")(
      "seconds", po::value(&seconds), "duration (default 15)")(
      "seed", po::value(&seed), "seed of the synthetic leads");
  po::positional_options_description pos;
  pos.add("mode", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(o).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "rdz-bench: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help") || mode != "ingest") {
    std::cout << o << "\n";
    return vm.count("help") ? 0 : 2;
  }
  auto entity = rdz::parseEntity(entityText);
  if (!entity || clients < 1 || clients > 99 || seconds < 1) {
    std::cerr << "rdz-bench: bad --entity, --clients (1..99) or --seconds\n";
    return 2;
  }

  rdz::Endpoint endpoint;
  try {
    endpoint = rdz::resolveEndpoint(
        socket, tokenFile, "ingest-" + std::string(rdz::entitySlug(*entity)) + ".token");
  } catch (const std::exception& e) {
    std::cerr << "rdz-bench: " << e.what() << "\n";
    return 3;
  }

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  std::vector<std::vector<double>> latencies(clients);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  auto started = std::chrono::steady_clock::now();
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t]() {
      try {
        rdz::Connection conn(endpoint);
        auto ingest = conn.ingest();
        for (uint32_t n = 0; std::chrono::steady_clock::now() < deadline; ++n) {
          auto fields = rdz::syntheticLead(seed, t, n);
          auto req = ingest.submitRequest();
          auto list = req.initFields(fields.size());
          for (size_t i = 0; i < fields.size(); ++i) {
            list[i].setName(fields[i].name);
            list[i].setValue(fields[i].value);
          }
          req.setIdempotencyKey(rdz::syntheticKey(seed, t, n));
          auto begin = std::chrono::steady_clock::now();
          req.send().wait(conn.waitScope());
          latencies[t].push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                  .count());
        }
      } catch (const std::exception& e) {
        if (errors.fetch_add(1) == 0) std::cerr << "rdz-bench: client failed: " << e.what() << "\n";
      }
    });
  }
  for (auto& th : threads) th.join();
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<size_t>(p * (all.size() - 1))]; };
  double tps = all.size() / elapsed;
  std::cerr << "rdz-bench: " << all.size() << " leads acknowledged (synced) in " << elapsed
            << " s by " << clients << " clients, " << errors.load() << " failed clients\n";
  std::cout << "{\"rdz\":\"ingest\",\"clients\":" << clients << ",\"tps\":" << tps
            << ",\"p50_ms\":" << pct(0.5) << ",\"p99_ms\":" << pct(0.99) << "}\n";
  return errors.load() == 0 ? 0 : 1;
}
