// rdz-bench: load generator and benchmark driver.
// - `rdz-bench ingest` runs CLIENTS clients, each with its own connection, submitting synthetic
//   ~500-byte leads one after another (each acknowledged only once synced to disk) for SECONDS,
//   on THREADS threads (default 2, as the PostgreSQL peer's pgbench -j 2), and prints throughput
//   and latency. Last line, for scripts:
//   {"rdz":"ingest","clients":N,"tps":X,"p50_ms":…,"p99_ms":…}
// - `rdz-bench plan` times the allocation of one run (the pure planner, in process) on
//   synthetic pools: {"rdz":"plan","leads":N,"commandes":M,"ms":X,"assigned":K}; with --trace,
//   the planner records what `lead explain` needs (as a run does) and the line adds the trace's
//   size once encoded as stored and the encoding's time: …,"trace_bytes":B,"trace_encode_ms":E}
// - `rdz-bench opposition` writes NUMBERS distinct French mobile numbers (national form with
//   spaces, one per line) to a file and times `rdzctl opposition import` of it against a running
//   rdzd (admin token): parsing, hashing and the writes.
//   {"rdz":"opposition","numbers":N,"seconds":X,"added":K}
// - `rdz-bench stats` stores LEADS (default 1000000) leads over DAYS days in both entities straight through the
//   store layer (40 % delivered, some across entities, some rejected; 10 % invalid), rebuilds the
//   stats counters from them (the startup rebuild), serves the real RPC server on a Unix socket
//   and times CALLS `Viewer.stats` calls over the whole period: all entities, then --client,
//   then --produit. {"rdz":"stats","leads":N,"days":D,"load_s":…,"rebuild_s":…,
//   "median_ms":…,"max_ms":…,"client_median_ms":…,"client_max_ms":…,"produit_median_ms":…,
//   "produit_max_ms":…}
// - `rdz-bench check --db DIR` checks a database's consistency (tools/store-check.h) — on a copy
//   (`rdzctl backup`) or with rdzd stopped. One violation per line on stdout, then
//   {"rdz":"check","leads":N,"deliveries":M,"batches":B,"violations":V}; exit 1 if V > 0.
// - `rdz-bench audit --data-dir DIR` loads LEADS (default 1,000,000) leads with deliveries into a
//   new data directory, starts rdzd on it and times `Admin.audit` while CLIENTS (default 8)
//   clients ingest: audit time, rdzd's memory, ingest p99 before and during
//   (tools/bench-audit.h).
// - `rdz-bench run --data-dir DIR` loads LEADS (default 100,000) pool leads, HISTORY (default 10 ×
//   LEADS) leads delivered over the last 30 days and COMMANDES (default 2,000) commandes into a
//   new data directory, starts rdzd on it with an SMTP sink, and times `Admin.deliver` while
//   CLIENTS (default 8) clients ingest: the run's commit, the sending of all its batches, rdzd's
//   peak memory, ingest p50/p99 before and during (tools/bench-run.h).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <kj/async-io.h>
#include <kj/debug.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "client/rdzctl.h"
#include "client/synthetic.h"
#include "daemon/domain/allocation.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/clock.h"
#include "daemon/domain/digest.h"
#include "daemon/domain/explain.h"
#include "daemon/domain/ids.h"
#include "daemon/service/auth.h"
#include "daemon/service/rpc-server.h"
#include "daemon/service/write-queue.h"
#include "daemon/store/codec.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"
#include "tools/bench-audit.h"
#include "tools/bench-ingest.h"
#include "tools/bench-run.h"

#include "tools/store-check.h"

namespace po = boost::program_options;

namespace {

// One run over `leads` fresh/LB leads and `commandes` commandes spread over 3 produits and 96
// departements, with a duplicate lookup that finds a past delivery for 1 lead in 10.
int benchPlan(uint32_t leads, uint32_t commandes, bool withTrace) {
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
  rdz::TraceRecorder trace(params.date);
  auto start = steady_clock::now();
  rdz::RunPlan plan = rdz::planRun(params, pool, states, dup, {}, withTrace ? &trace : nullptr);
  double ms = duration<double, std::milli>(steady_clock::now() - start).count();
  std::string traced;
  if (withTrace) {
    trace.trace().committedAt = params.reference;
    auto encodeStart = steady_clock::now();
    size_t bytes = rdz::encode(trace.trace()).size();
    double encodeMs = duration<double, std::milli>(steady_clock::now() - encodeStart).count();
    traced = fmt::format(",\"trace_bytes\":{},\"trace_encode_ms\":{:.1f}", bytes, encodeMs);
  }
  std::cerr << "rdz-bench: planned " << leads << " leads x " << commandes << " commandes: "
            << plan.assignments.size() << " assigned, " << plan.aging.size() << " aged, "
            << plan.duplicates.size() << " duplicates avoided\n";
  std::cout << "{\"rdz\":\"plan\",\"leads\":" << leads << ",\"commandes\":" << commandes
            << ",\"ms\":" << ms << ",\"assigned\":" << plan.assignments.size() << traced
            << "}\n";
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

// Stores `leads` leads over `days` days from 2025-07-01, both entities, 20 clients each with one
// commande per produit; no history, batches or runs (the counters do not read them).
void loadStatsData(rdz::Store& store, uint32_t leads, uint32_t days) {
  using namespace std::chrono;
  static const char* PRODUITS[] = {"PV", "PAC", "ITE"};
  constexpr uint32_t CLIENTS = 20;
  const std::string first = "2025-07-01";
  auto txn = store.begin();
  for (rdz::Entity e : rdz::ALL_ENTITIES) {
    for (uint32_t k = 0; k < CLIENTS; ++k) {
      rdz::Client c;
      c.entity = e;
      c.id = fmt::format("client-{}-{}", rdz::entitySlug(e), k);
      c.nom = c.id;
      c.emails = {c.id + "@example.fr"};
      rdz::putClient(*txn, c);
      for (auto* produit : PRODUITS) {
        rdz::Commande commande;
        commande.entity = e;
        commande.id = fmt::format("C{:06}", rdz::nextCounter(*txn, "commande"));
        commande.client = c.id;
        commande.produit = produit;
        commande.departements = {"*"};
        commande.quotaSemaine = 100;
        rdz::putCommande(*txn, commande);
      }
    }
  }
  store.commit(*txn, false);

  rdz::IdGenerator ids;
  rdz::Timestamp start = *rdz::referenceTime(first, "00:00");
  rdz::Timestamp end = *rdz::referenceTime(rdz::addDays(first, static_cast<int>(days)), "00:00");
  const auto step = (end - start) / leads;
  txn = store.begin();
  for (uint32_t i = 0; i < leads; ++i) {
    rdz::Lead lead;
    lead.recuLe = start + step * i;
    lead.id = ids.next(lead.recuLe);
    lead.entity = i % 2 ? rdz::Entity::MDL : rdz::Entity::ZR7;
    lead.produit = PRODUITS[(i / 2) % 3];
    lead.nom = "Nom";
    lead.prenom = "Prenom";
    lead.telephone = fmt::format("06{:08}", i);
    lead.telephoneE164 = fmt::format("+336{:08}", i);
    lead.codePostal = "33000";
    lead.departement = "33";
    lead.consentement = true;
    bool recent = end - lead.recuLe < hours(24 * 8);
    lead.statut = recent ? rdz::Statut::NEW : rdz::Statut::LB;
    if (i % 10 == 9) {
      lead.statut = rdz::Statut::INVALID;
      lead.problemes = {"telephone.invalid"};
      lead.telephoneE164.clear();
    } else if (i % 5 < 2) {
      // Delivered by the next day's run: to a client of its entity, 1 in 25 to the other's.
      rdz::Delivery d;
      d.leadEntity = lead.entity;
      d.entity = i % 25 == 0 ? (i % 2 ? rdz::Entity::ZR7 : rdz::Entity::MDL) : lead.entity;
      d.lead = lead.id;
      d.client = fmt::format("client-{}-{}", rdz::entitySlug(d.entity), (i / 6) % CLIENTS);
      d.commande = "C000001";
      d.run = rdz::addDays(rdz::parisDate(lead.recuLe), 1);
      d.at = *rdz::referenceTime(d.run, "09:30");
      d.id = ids.next(lead.recuLe);
      d.pass = i % 10 == 1 ? rdz::PassKind::LB : rdz::PassKind::FRESH;
      if (d.entity != d.leadEntity) d.pass = rdz::PassKind::FRESH_FALLBACK;
      lead.statut = rdz::Statut::DELIVERED;
      if (i % 20 == 0) {
        d.rejet = "faux_numero";
        d.rejeteLe = d.at + hours(30);
        lead.statut = rdz::Statut::REJECTED;
      }
      lead.nbLivraisons = 1;
      lead.derniereLivraison = d.at;
      rdz::putDelivery(*txn, d);
    }
    rdz::putLead(*txn, lead, nullptr);
    if (i % 20000 == 19999) {
      store.commit(*txn, false);
      txn = store.begin();
    }
  }
  store.commit(*txn, false);
}

struct Latencies {
  double median = 0;
  double max = 0;
};

// `calls` stats calls over [from, to] (after one to warm up), in milliseconds.
Latencies timeStats(rdz::Connection& conn, const std::string& from, const std::string& to,
                    const std::string& produit, const std::string& client, uint32_t calls) {
  std::vector<double> ms;
  for (uint32_t i = 0; i <= calls; ++i) {
    auto req = conn.viewer().statsRequest();
    req.initEntity().setAll();
    req.setFrom(from);
    req.setTo(to);
    req.setProduit(produit);
    req.setClient(client);
    auto begin = std::chrono::steady_clock::now();
    auto resp = req.send().wait(conn.waitScope());
    double elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
    KJ_ASSERT(resp.getReport().getEntities().size() == 2);
    if (i > 0) ms.push_back(elapsed);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.back()};
}

int benchStats(uint32_t leads, uint32_t days, uint32_t calls, std::string dataDir) {
  using namespace std::chrono;
  bool temporary = dataDir.empty();
  if (temporary) {
    char pattern[] = "/tmp/rdz-bench-stats-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) KJ_FAIL_SYSCALL("mkdtemp", errno);
    dataDir = pattern;
  }
  KJ_REQUIRE(!std::filesystem::exists(dataDir + "/db"), "--data: a directory without a db");
  std::filesystem::create_directories(dataDir);
  auto store = rdz::Store::open(dataDir + "/db");

  auto t0 = steady_clock::now();
  loadStatsData(*store, leads, days);
  double loadSeconds = duration<double>(steady_clock::now() - t0).count();
  t0 = steady_clock::now();
  rdz::rebuildStats(*store);
  double rebuildSeconds = duration<double>(steady_clock::now() - t0).count();
  std::cerr << "rdz-bench: stored " << leads << " leads over " << days << " days in "
            << loadSeconds << " s; counters rebuilt from them in " << rebuildSeconds << " s\n";

  // The real RPC server (rdzd's) on its own thread and event loop.
  const std::string token = "bench-viewer-token";
  const std::string socket = dataDir + "/rdzd.sock";
  rdz::Auth auth;
  auth.add({rdz::Role::VIEWER, std::nullopt, "bench"}, rdz::sha256Hex(token));
  std::promise<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> ready;
  std::thread server([&]() {
    auto io = kj::setupAsyncIo();
    rdz::SystemClock clock;
    rdz::IdGenerator ids;
    rdz::WriteQueue writes(*store);
    rdz::ServiceContext context{*store, writes, ids, clock, auth, rdz::RunSettings{}};
    rdz::RpcServer rpc(context, io.provider->getTimer(), rdz::ConnectionLimits{});
    auto listener = io.provider->getNetwork()
                        .parseAddress(kj::str("unix:", socket.c_str()))
                        .wait(io.waitScope)
                        ->listen();
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    ready.set_value(kj::mv(stop.fulfiller));
    stop.promise.exclusiveJoin(rpc.listenLocal(*listener)).wait(io.waitScope);
  });
  auto stop = ready.get_future().get();

  const std::string from = "2025-07-01";
  const std::string to = rdz::addDays(from, static_cast<int>(days) - 1);
  Latencies all, client, produit;
  {
    rdz::Endpoint endpoint;
    endpoint.socket = socket;
    endpoint.token = token;
    rdz::Connection conn(endpoint);
    all = timeStats(conn, from, to, "", "", calls);
    client = timeStats(conn, from, to, "", "client-zr7-3", calls);
    produit = timeStats(conn, from, to, "PV", "", calls);
  }
  stop->fulfill();
  server.join();
  store = nullptr;
  if (temporary) std::filesystem::remove_all(dataDir);

  std::cerr << "rdz-bench: stats over " << days << " days, both entities (median / max of "
            << calls << " calls): " << all.median << " / " << all.max << " ms; --client "
            << client.median << " / " << client.max << " ms; --produit " << produit.median
            << " / " << produit.max << " ms\n";
  std::cout << fmt::format(
      "{{\"rdz\":\"stats\",\"leads\":{},\"days\":{},\"load_s\":{:.1f},\"rebuild_s\":{:.1f},"
      "\"median_ms\":{:.2f},\"max_ms\":{:.2f},\"client_median_ms\":{:.2f},"
      "\"client_max_ms\":{:.2f},\"produit_median_ms\":{:.2f},\"produit_max_ms\":{:.2f}}}\n",
      leads, days, loadSeconds, rebuildSeconds, all.median, all.max, client.median, client.max,
      produit.median, produit.max);
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
  int clients = 16, seconds = 15, dedupDays = 30, threads = 2;
  uint32_t planLeads = 100000, planCommandes = 300, oppositionNumbers = 1000000;
  uint32_t statsDays = 365, statsCalls = 20;
  uint64_t history = 0;
  int sendTimeout = 1800;
  std::string statsData;
  uint64_t seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  po::options_description o(
      "rdz-bench ingest|plan|opposition|stats|check|audit|run [options]\n\nOptions");

  o.add_options()("help,h", "this help")("mode", po::value(&mode),
                                         "ingest (default), plan, opposition, stats, check, audit or run")(
      "days", po::value(&statsDays), "stats: days they span (default 365)")(
      "calls", po::value(&statsCalls), "stats: timed calls per query (default 20)")(
      "data", po::value(&statsData), "stats: directory to build the database in (default: a "
                                     "temporary one, removed after)")(
      "numbers", po::value(&oppositionNumbers), "opposition: numbers to import (default 1000000)")(
      "leads", po::value(&planLeads),
      "plan: leads in the pools (default 100000); stats, audit: leads stored (default 1000000); "
      "run: pool leads, new and lb (default 100000)")(
      "commandes", po::value(&planCommandes),
      "plan: commandes (default 300); run: commandes, of COMMANDES / 2 clients (default 2000)")(
      "history", po::value(&history),
      "run: leads delivered by the runs of the 30 days before (default 10 x --leads)")(
      "send-timeout", po::value(&sendTimeout),
      "run: seconds to wait, once the run is committed, for the SMTP sink to receive every "
      "batch (default 1800)")(
      "trace", "plan: record the run's trace for lead explain, as a run does")(
      "socket", po::value(&socket), "rdzd socket (default ./rdz-data/rdzd.sock)")(
      "token-file", po::value(&tokenFile), "token (default ./rdz-data/ingest-<entity>.token)")(
      "entity", po::value(&entityText), "zr7 or mdl")(
      "clients", po::value(&clients), "concurrent clients (default 16; audit, run: 8)")(
      "threads", po::value(&threads), "ingest: threads driving the clients (default 2)")(
      "seconds", po::value(&seconds),
      "duration (default 15); audit, run: of the ingestion measured before (default 10)")(
      "seed", po::value(&seed), "seed of the synthetic leads")(
      "db", po::value(&db), "check: the RocksDB directory (a backup, or DATA_DIR/db of a stopped rdzd)")(
      "dedup-days", po::value(&dedupDays), "check: the duplicate window in days (default 30)")(
      "data-dir", po::value(&dataDir), "audit, run: rdzd's data directory to create and load")(
      "reuse", "audit, run: DATA_DIR was loaded by an earlier run; do not load it again (run: "
               "the day after its last run is run)")(
      "delivered-pct", po::value(&deliveredPercent), "audit: share of leads delivered (default 30)")(
      "rdzd", po::value(&rdzd), "audit, run: the rdzd binary (default: ../daemon/rdzd from rdz-bench)");
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
      (mode != "ingest" && mode != "plan" && mode != "opposition" && mode != "stats" &&
       mode != "check" && mode != "audit" && mode != "run")) {
    std::cout << o << "\n";
    return vm.count("help") ? 0 : 2;
  }
  if (mode == "plan") {
    return benchPlan(planLeads, std::max<uint32_t>(planCommandes, 1), vm.count("trace") > 0);
  }
  if (mode == "stats") {
    uint32_t leads = vm.count("leads") ? planLeads : 1000000;
    if (leads < 1 || statsDays < 1 || statsDays > 1000 || statsCalls < 1) {
      std::cerr << "rdz-bench: --leads, --calls >= 1 and --days 1..1000\n";
      return 2;
    }
    return benchStats(leads, statsDays, statsCalls, statsData);
  }
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
  std::string rdzdPath = !rdzd.empty() ? rdzd
                                       : (std::filesystem::canonical("/proc/self/exe").parent_path() /
                                          "../daemon/rdzd")
                                             .string();
  if (mode == "run") {
    if (dataDir.empty()) {
      std::cerr << "rdz-bench: run needs --data-dir DIR\n";
      return 2;
    }
    rdz::RunBenchOptions options;
    options.dataDir = std::filesystem::absolute(dataDir).string();
    options.reuse = vm.count("reuse") > 0;
    options.leads = vm.count("leads") ? planLeads : 100000;
    options.history = vm.count("history") ? history : uint64_t{10} * options.leads;
    options.commandes = vm.count("commandes") ? planCommandes : 2000;
    options.clients = vm.count("clients") ? clients : 8;
    options.baselineSeconds = vm.count("seconds") ? seconds : 10;
    options.sendTimeoutSeconds = sendTimeout;
    options.seed = seed;
    options.rdzd = rdzdPath;
    if (options.leads < 1 || options.commandes < 1 || options.clients < 1 ||
        options.clients > 99 || options.baselineSeconds < 1 || sendTimeout < 1 ||
        options.leads + options.history > 50000000) {
      std::cerr << "rdz-bench: run needs --leads, --commandes, --seconds, --send-timeout >= 1, "
                   "--clients 1..99, and --leads + --history <= 50000000\n";
      return 2;
    }
    try {
      return rdz::benchRun(options);
    } catch (const kj::Exception& e) {
      std::cerr << "rdz-bench: run failed: " << e.getDescription().cStr() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "rdz-bench: run failed: " << e.what() << "\n";
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
    options.rdzd = rdzdPath;
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
  if (!entity || clients < 1 || clients > 99 || seconds < 1 || threads < 1) {
    std::cerr << "rdz-bench: bad --entity, --clients (1..99), --threads or --seconds\n";
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
  rdz::IngestFigures f = rdz::ingestLoad(
      endpoint, clients, seed, 0,
      [deadline] { return std::chrono::steady_clock::now() < deadline; }, nullptr, threads);
  std::cerr << "rdz-bench: " << f.acknowledged << " leads acknowledged (synced) in " << f.seconds
            << " s by " << clients << " clients, " << f.failedClients << " failed clients\n";
  std::cout << "{\"rdz\":\"ingest\",\"clients\":" << clients << ",\"tps\":" << f.tps
            << ",\"p50_ms\":" << f.p50Ms << ",\"p99_ms\":" << f.p99Ms << "}\n";
  return f.failedClients == 0 ? 0 : 1;
}
