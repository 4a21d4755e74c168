// rdz-bench: load generator and benchmark driver.
// - `rdz-bench ingest` runs CLIENTS threads, each with its own connection, submitting synthetic
//   ~500-byte leads one after another (each acknowledged only once synced to disk) for SECONDS,
//   and prints throughput and latency. Last line, for scripts:
//   {"rdz":"ingest","clients":N,"tps":X,"p50_ms":…,"p99_ms":…}
// - `rdz-bench plan` times the allocation of one run (the pure planner, in process) on
//   synthetic pools: {"rdz":"plan","leads":N,"commandes":M,"ms":X,"assigned":K}
// - `rdz-bench opposition` writes NUMBERS distinct French mobile numbers (national form with
//   spaces, one per line) to a file and times `rdzctl opposition import` of it against a running
//   rdzd (admin token): parsing, hashing and the writes.
//   {"rdz":"opposition","numbers":N,"seconds":X,"added":K}
// - `rdz-bench check --db DIR` checks a database's consistency (tools/store-check.h) — on a copy
//   (`rdzctl backup`) or with rdzd stopped. One violation per line on stdout, then
//   {"rdz":"check","leads":N,"deliveries":M,"batches":B,"violations":V}; exit 1 if V > 0.
// - `rdz-bench audit --data-dir DIR` loads LEADS (default 1,000,000) leads with deliveries into a
//   new data directory, starts rdzd on it and times `Admin.audit` while CLIENTS (default 8)
//   clients ingest: audit time, rdzd's memory, ingest p99 before and during
//   (tools/bench-audit.h).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <kj/debug.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "client/rdzctl.h"
#include "client/synthetic.h"
#include "daemon/domain/allocation.h"
#include "daemon/domain/calendar.h"
#include "tools/bench-audit.h"
#include "tools/bench-ingest.h"
#include "tools/store-check.h"

namespace po = boost::program_options;

namespace {

// One run over `leads` fresh/LB leads and `commandes` commandes spread over 3 produits and 96
// departements, with a duplicate lookup that finds a past delivery for 1 lead in 10.
int benchPlan(uint32_t leads, uint32_t commandes) {
  using namespace std::chrono;
  rdz::RunParams params;
  params.date = "2026-11-25";
  params.reference = *rdz::referenceTime(params.date, "09:30");
  static const char* PRODUITS[] = {"PV", "PAC", "ITE"};
  std::vector<rdz::PoolLead> pool;
  pool.reserve(leads);
  for (uint32_t i = 0; i < leads; ++i) {
    rdz::PoolLead l;
    l.id = fmt::format("{:013}", i);
    l.entity = i % 2 ? rdz::Entity::MDL : rdz::Entity::ZR7;
    l.produit = PRODUITS[i % 3];
    l.departement = fmt::format("{:02}", 1 + i % 95);
    l.telephoneE164 = fmt::format("+336{:08}", i);
    l.recuLe = params.reference - minutes(1 + i % (60 * 24 * 20));  // up to 20 days old
    l.statut = rdz::Statut::NEW;
    pool.push_back(kj::mv(l));
  }
  std::vector<rdz::CommandeState> states;
  for (uint32_t i = 0; i < commandes; ++i) {
    rdz::CommandeState s;
    s.commande.id = fmt::format("C{:06}", i + 1);
    s.commande.entity = i % 2 ? rdz::Entity::MDL : rdz::Entity::ZR7;
    s.commande.client = fmt::format("client-{}", i % (commandes / 2 + 1));
    s.commande.produit = PRODUITS[i % 3];
    s.commande.departements = {fmt::format("{:02}", 1 + i % 95), fmt::format("{:02}", 1 + (i * 7) % 95)};
    if (i % 5 == 0) s.commande.departements = {"*"};
    s.commande.quotaSemaine = 50 + i % 200;
    s.commande.priorite = 1 + i % 9;
    s.commande.lbMaxPct = 30;
    s.commande.fallback = i % 4 == 0;
    s.commande.jours = {"lun", "mar", "mer", "jeu", "ven", "sam", "dim"};
    states.push_back(kj::mv(s));
  }
  rdz::DuplicateLookup dup = [&](std::string_view e164, std::string_view, std::string_view)
      -> std::optional<rdz::Timestamp> {
    if (e164.back() == '7') return params.reference - hours(24);
    return std::nullopt;
  };
  auto start = steady_clock::now();
  rdz::RunPlan plan = rdz::planRun(params, pool, states, dup);
  double ms = duration<double, std::milli>(steady_clock::now() - start).count();
  std::cerr << "rdz-bench: planned " << leads << " leads x " << commandes << " commandes: "
            << plan.assignments.size() << " assigned, " << plan.aging.size() << " aged, "
            << plan.duplicates.size() << " duplicates avoided\n";
  std::cout << "{\"rdz\":\"plan\",\"leads\":" << leads << ",\"commandes\":" << commandes
            << ",\"ms\":" << ms << ",\"assigned\":" << plan.assignments.size() << "}\n";
  return 0;
}

int benchOpposition(const std::string& socket, const std::string& tokenFile, uint32_t numbers,
                    const std::string& entity) {
  using namespace std::chrono;
  std::string file = "rdz-bench-opposition.txt";
  {
    std::ofstream out(file);
    // 06 mobiles from 06 10 00 00 00 on.
    for (uint32_t i = 0; i < numbers; ++i) {
      uint32_t n = 10000000 + i;
      out << fmt::format("06 {:02} {:02} {:02} {:02}\n", n / 1000000 % 100, n / 10000 % 100,
                         n / 100 % 100, n % 100);
    }
  }
  std::vector<std::string> args;
  if (!socket.empty()) args.insert(args.end(), {"--socket", socket});
  if (!tokenFile.empty()) args.insert(args.end(), {"--token-file", tokenFile});
  args.insert(args.end(), {"--json", "opposition", "import", "--entity", entity, file});
  std::ostringstream out, err;
  auto start = steady_clock::now();
  int code = rdz::runRdzctl(args, out, err);
  double seconds = duration<double>(steady_clock::now() - start).count();
  std::remove(file.c_str());
  if (code != 0) {
    std::cerr << "rdz-bench: import failed (" << code << "): " << err.str();
    return 1;
  }
  std::string answer = out.str();
  std::string added = "?";
  auto at = answer.find("\"added\":");
  if (at != std::string::npos) added = answer.substr(at + 8, answer.find(',', at) - at - 8);
  std::cerr << "rdz-bench: imported " << numbers << " numbers into the opposition list of "
            << entity << " in " << seconds << " s (" << added << " new)\n";
  std::cout << "{\"rdz\":\"opposition\",\"numbers\":" << numbers << ",\"seconds\":" << seconds
            << ",\"added\":" << added << "}\n";
  return 0;
}

int checkDatabase(const std::string& dir, int dedupDays) {
  auto store = rdz::Store::open(dir);
  rdz::StoreCheckReport report = rdz::checkStore(*store, dedupDays);
  for (auto& v : report.violations) std::cout << "violation: " << v << "\n";
  std::cout << "{\"rdz\":\"check\",\"leads\":" << report.leads
            << ",\"deliveries\":" << report.deliveries << ",\"batches\":" << report.batches
            << ",\"violations\":" << report.violations.size() << "}\n";
  return report.violations.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "ingest", socket, tokenFile, entityText = "zr7", db, dataDir, rdzd;
  uint32_t deliveredPercent = 30;
  int clients = 16, seconds = 15, dedupDays = 30;
  uint32_t planLeads = 100000, planCommandes = 300, oppositionNumbers = 1000000;
  uint64_t seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  po::options_description o("rdz-bench ingest|plan|opposition|check|audit [options]\n\nOptions");
  o.add_options()("help,h", "this help")("mode", po::value(&mode),
                                         "ingest (default), plan, opposition or check")(
      "numbers", po::value(&oppositionNumbers), "opposition: numbers to import (default 1000000)")(
      "leads", po::value(&planLeads), "plan: leads in the pools (default 100000)")(
      "commandes", po::value(&planCommandes), "plan: commandes (default 300)")(
      "socket", po::value(&socket), "rdzd socket (default ./rdz-data/rdzd.sock)")(
      "token-file", po::value(&tokenFile), "token (default ./rdz-data/ingest-<entity>.token)")(
      "entity", po::value(&entityText), "zr7 or mdl")(
      "clients", po::value(&clients), "concurrent clients (default 16)")(
      "seconds", po::value(&seconds), "duration (default 15)")(
      "seed", po::value(&seed), "seed of the synthetic leads")(
      "db", po::value(&db), "check: the RocksDB directory (a backup, or DATA_DIR/db of a stopped rdzd)")(
      "dedup-days", po::value(&dedupDays), "check: the duplicate window in days (default 30)")(
      "data-dir", po::value(&dataDir), "audit: rdzd's data directory to create and load")(
      "reuse", "audit: DATA_DIR was loaded by an earlier run; do not load it again")(
      "delivered-pct", po::value(&deliveredPercent), "audit: share of leads delivered (default 30)")(
      "rdzd", po::value(&rdzd), "audit: the rdzd binary (default: ../daemon/rdzd from rdz-bench)");
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
  if (vm.count("help") ||
      (mode != "ingest" && mode != "plan" && mode != "opposition" && mode != "check" &&
       mode != "audit")) {
    std::cout << o << "\n";
    return vm.count("help") ? 0 : 2;
  }
  if (mode == "plan") return benchPlan(planLeads, std::max<uint32_t>(planCommandes, 1));
  if (mode == "opposition") {
    // An admin token (the default: ./rdz-data/admin.token, as rdzctl).
    return benchOpposition(socket, tokenFile, oppositionNumbers,
                           vm.count("entity") ? entityText : "ZR7");
  }
  if (mode == "check") {
    if (db.empty()) {
      std::cerr << "rdz-bench: check needs --db DIR\n";
      return 2;
    }
    try {
      return checkDatabase(db, dedupDays);
    } catch (const std::exception& e) {
      std::cerr << "rdz-bench: check failed: " << e.what() << "\n";
      return 2;
    } catch (const kj::Exception& e) {
      std::cerr << "rdz-bench: check failed: " << e.getDescription().cStr() << "\n";
      return 2;
    }
  }
  if (mode == "audit") {
    if (dataDir.empty()) {
      std::cerr << "rdz-bench: audit needs --data-dir DIR\n";
      return 2;
    }
    rdz::AuditBenchOptions options;
    options.dataDir = std::filesystem::absolute(dataDir).string();
    options.reuse = vm.count("reuse") > 0;
    options.leads = vm.count("leads") ? planLeads : 1000000;
    options.deliveredPercent = std::min<uint32_t>(deliveredPercent, 100);
    options.clients = vm.count("clients") ? clients : 8;
    options.baselineSeconds = vm.count("seconds") ? seconds : 10;
    options.seed = seed;
    options.rdzd = !rdzd.empty() ? rdzd
                                 : (std::filesystem::canonical("/proc/self/exe").parent_path() /
                                    "../daemon/rdzd")
                                       .string();
    try {
      return rdz::benchAudit(options);
    } catch (const kj::Exception& e) {
      std::cerr << "rdz-bench: audit failed: " << e.getDescription().cStr() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "rdz-bench: audit failed: " << e.what() << "\n";
      return 2;
    }
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

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  rdz::IngestFigures f = rdz::ingestLoad(endpoint, clients, seed, 0, [deadline] {
    return std::chrono::steady_clock::now() < deadline;
  });
  std::cerr << "rdz-bench: " << f.acknowledged << " leads acknowledged (synced) in " << f.seconds
            << " s by " << clients << " clients, " << f.failedClients << " failed clients\n";
  std::cout << "{\"rdz\":\"ingest\",\"clients\":" << clients << ",\"tps\":" << f.tps
            << ",\"p50_ms\":" << f.p50Ms << ",\"p99_ms\":" << f.p99Ms << "}\n";
  return f.failedClients == 0 ? 0 : 1;
}
