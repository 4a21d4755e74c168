#include "tools/bench-audit.h"

#include <fmt/format.h>
#include <kj/debug.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "client/synthetic.h"
#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/history.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/time.h"
#include "daemon/service/operations.h"
#include "daemon/store/records.h"
#include "tools/bench-ingest.h"
#include "tools/bench-rdzd.h"

namespace rdz {

namespace {

using namespace std::chrono_literals;

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr const char* PRODUITS[] = {"PV", "PAC", "ITE"};
constexpr int CLIENTS_PER_ENTITY = 30;

struct Target {
  Entity entity;
  std::string commande;
  std::string client;
};

struct LoadedBatch {
  Batch batch;
  Timestamp at{};
};

// Writes the database of the bench through the store layer (the real ingestion, and the records
// a run writes for each delivery).
class Loader {
 public:
  Loader(Store& store, const AuditBenchOptions& options)
      : store_(store),
        options_(options),
        now_(std::chrono::duration_cast<Duration>(
            std::chrono::system_clock::now().time_since_epoch())) {}

  void load() {
    auto started = std::chrono::steady_clock::now();
    addCommandes();
    const Timestamp first = now_ - 60 * 24h;
    const Duration step =
        std::chrono::duration_cast<Duration>(60 * 24h) / std::max<uint32_t>(options_.leads, 1);
    auto txn = store_.begin();
    for (uint32_t i = 0; i < options_.leads; ++i) {
      addLead(*txn, i, first + step * i);
      if (txn->size() > 4000) {  // reads through a big WriteBatchWithIndex slow down
        store_.commit(*txn, false);
        txn = store_.begin();
      }
      if ((i + 1) % 100000 == 0) {
        std::cerr << "rdz-bench: " << (i + 1) << " leads loaded, " << deliveries_
                  << " deliveries\n";
      }
    }
    store_.commit(*txn, false);
    finish();
    std::cerr << "rdz-bench: loaded " << options_.leads << " leads, " << deliveries_
              << " deliveries, " << batches_.size() << " batches in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
              << " s\n";
  }

  uint64_t deliveries() const { return deliveries_; }

 private:
  void addCommandes() {
    auto txn = store_.begin();
    for (Entity e : ALL_ENTITIES) {
      for (int k = 0; k < CLIENTS_PER_ENTITY; ++k) {
        Client c;
        c.id = fmt::format("bench-{}-{:02}", entitySlug(e), k);
        c.entity = e;
        c.nom = c.id;
        c.emails = {c.id + "@exemple.fr"};
        addClient(*txn, c, now_ - 90 * 24h);
        Commande cmd;
        cmd.client = c.id;
        cmd.produit = PRODUITS[k % 3];
        cmd.quotaSemaine = 100000;
        cmd.departements = {"*"};
        cmd.jours = {"lun", "mar", "mer", "jeu", "ven", "sam", "dim"};
        cmd.lbMaxPct = 50;
        cmd.fallback = k % 5 == 0;
        std::string id = addCommande(*txn, cmd, now_ - 90 * 24h);
        Target t{e, id, c.id};
        own_[{e, cmd.produit}].push_back(t);
        if (cmd.fallback) fallback_[{e, cmd.produit}].push_back(t);
      }
    }
    store_.commit(*txn, false);
  }

  void addLead(Txn& txn, uint32_t i, Timestamp recu) {
    Entity e = i % 5 < 3 ? Entity::ZR7 : Entity::MDL;
    IngestRequest request{
        e, syntheticLead(options_.seed, 50 + i / 1000000, i % 1000000), "", recu, false, "bench"};
    SubmitAnswer answer = ingestLead(txn, ids_, request);
    if (!answer.refused.empty() || answer.statut != Statut::NEW) return;
    uint64_t h = mix(options_.seed ^ i);
    Lead before = KJ_ASSERT_NONNULL(getLead(txn, e, answer.id));
    Lead after = before;
    std::string date = parisDate(recu + 24h);
    Timestamp T = *referenceTime(date, "09:30");
    if (h % 100 < options_.deliveredPercent && T < now_) {
      deliver(txn, after, date, T, h);
    } else if (recu <= now_ - 8 * 24h) {
      after.statut = Statut::LB;  // aged by the run 8 days later
      addHistory(txn, e, after.id, history::aged(recu + 8 * 24h, ""));
    }
    if (!(after == before)) putLead(txn, after, &before);
  }

  void deliver(Txn& txn, Lead& lead, const std::string& date, Timestamp T, uint64_t h) {
    const Target* target = nullptr;
    Entity other = lead.entity == Entity::ZR7 ? Entity::MDL : Entity::ZR7;
    auto& fallbacks = fallback_[{other, lead.produit}];
    if ((h >> 8) % 20 == 0 && !fallbacks.empty()) {
      target = &fallbacks[(h >> 16) % fallbacks.size()];
    } else {
      auto& own = own_[{lead.entity, lead.produit}];
      target = &own[(h >> 16) % own.size()];
    }
    auto& loaded = batches_[{target->client, date}];
    if (loaded.batch.id.empty()) {
      loaded.batch.id = ids_.next(T);
      loaded.batch.entity = target->entity;
      loaded.batch.client = target->client;
      loaded.batch.run = date;
      loaded.at = T;
      runs_[date].push_back(loaded.batch.id);
    }
    Delivery d;
    d.id = ids_.next(T);
    d.leadEntity = lead.entity;
    d.entity = target->entity;
    d.lead = lead.id;
    d.commande = target->commande;
    d.client = target->client;
    d.run = date;
    d.pass = target->entity == lead.entity ? PassKind::FRESH : PassKind::FRESH_FALLBACK;
    d.at = T;
    d.batch = loaded.batch.id;
    loaded.batch.deliveries.push_back(d.id);
    putLastDelivery(txn, d.entity, lead.telephoneE164, lead.produit, d.client, T);
    lead.statut = Statut::DELIVERED;
    lead.nbLivraisons = 1;
    lead.derniereLivraison = T;
    addHistory(txn, lead.entity, lead.id, history::delivered(T, d));
    // One in 50 rejected the next day when that is in the same week (this week's counter goes
    // down: it never counts).
    Timestamp rejection = T + 24h;
    bool rejected = (h >> 24) % 50 == 0 && rejection < now_ &&
                    isoWeekOf(parisDate(rejection)) == isoWeekOf(date);
    if (rejected) {
      d.rejet = "injoignable";
      d.rejeteLe = rejection;
      lead.statut = Statut::REJECTED;
      addHistory(txn, lead.entity, lead.id, history::rejected(rejection, d, "semaine"));
    } else {
      weeks_[{d.entity, d.commande, isoWeekOf(date)}] += 1;
      days_[{d.entity, d.commande, date}] += 1;
    }
    putDelivery(txn, d);
    ++deliveries_;
  }

  void finish() {
    auto txn = store_.begin();
    for (auto& [key, loaded] : batches_) {
      Batch& b = loaded.batch;
      b.status = BatchStatus::SENT;
      b.attempts = 1;
      b.sentAt = loaded.at + 5min;
      b.responses = {formatIso(loaded.at + 5min) + " ok 250 bench"};
      putBatch(*txn, b, nullptr);
    }
    for (auto& [key, counts] : weeks_) {
      auto& [e, commande, week] = key;
      addWeekCount(*txn, e, commande, week, static_cast<int32_t>(counts), 0);
    }
    for (auto& [key, count] : days_) {
      auto& [e, commande, date] = key;
      addDayCount(*txn, e, commande, date, static_cast<int32_t>(count));
    }
    for (auto& [date, batches] : runs_) {
      RunRecord run;
      run.id = date;
      run.date = date;
      run.reference = *referenceTime(date, "09:30");
      run.status = "committed";
      run.batches = batches;
      putRun(*txn, run);
    }
    store_.commit(*txn, true);
  }

  Store& store_;
  const AuditBenchOptions& options_;
  const Timestamp now_;
  IdGenerator ids_;
  std::map<std::pair<Entity, std::string>, std::vector<Target>> own_, fallback_;
  std::map<std::pair<std::string, std::string>, LoadedBatch> batches_;  // (client, date)
  std::map<std::string, std::vector<std::string>> runs_;                // date -> batch ids
  std::map<std::tuple<Entity, std::string, std::string>, uint32_t> weeks_;
  std::map<std::tuple<Entity, std::string, std::string>, uint32_t> days_;
  uint64_t deliveries_ = 0;
};

}  // namespace

int benchAudit(const AuditBenchOptions& options) {
  namespace fs = std::filesystem;
  uint64_t deliveries = 0;
  if (!options.reuse) {
    KJ_REQUIRE(!fs::exists(options.dataDir), "the data directory exists (--reuse to keep it)",
               options.dataDir);
    fs::create_directories(options.dataDir);
    auto store = Store::open(options.dataDir + "/db");
    Loader loader(*store, options);
    loader.load();
    deliveries = loader.deliveries();
  }

  std::string log = options.dataDir + "/../rdzd-bench-audit.log";
  pid_t pid = startRdzd(options.rdzd, options.dataDir, log);
  KJ_DEFER(stopRdzd(pid));
  // The tokens appear on rdzd's first start.
  Endpoint ingest = rdzdEndpoint(options.dataDir, "ingest-zr7.token", 120s);
  Endpoint admin = rdzdEndpoint(options.dataDir, "admin.token", 120s);
  Connection adminConnection(admin);
  std::cerr << "rdz-bench: rdzd is up (pid " << pid << ", " << memoryMb(pid, "VmRSS:") << " MiB)\n";

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.baselineSeconds);
  IngestFigures before = ingestLoad(ingest, options.clients, options.seed, 0, [deadline] {
    return std::chrono::steady_clock::now() < deadline;
  });
  std::cerr << fmt::format("rdz-bench: before the audit: {:.0f} leads/s, p99 {:.2f} ms\n",
                           before.tps, before.p99Ms);

  double rssBefore = memoryMb(pid, "VmRSS:");
  std::atomic<bool> auditDone{false};
  std::atomic<double> rssPeak{rssBefore};
  std::thread sampler([&] {
    while (!auditDone) {
      rssPeak = std::max(rssPeak.load(), memoryMb(pid, "VmRSS:"));
      std::this_thread::sleep_for(50ms);
    }
  });
  IngestFigures during;
  std::thread load([&] {
    during = ingestLoad(ingest, options.clients, options.seed, 20, [&] { return !auditDone; });
  });
  std::this_thread::sleep_for(1s);  // the clients are ingesting
  auto started = std::chrono::steady_clock::now();
  auto response = adminConnection.admin().auditRequest().send().wait(adminConnection.waitScope());
  double auditSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auditDone = true;
  load.join();
  sampler.join();
  double hwm = memoryMb(pid, "VmHWM:");

  auto report = response.getReport();
  auto checked = report.getChecked();
  for (auto v : report.getViolations()) {
    std::cerr << "violation: " << v.getInvariant().cStr() << "  " << v.getKey().cStr() << "  "
              << v.getDetail().cStr() << "\n";
  }
  std::cerr << fmt::format(
      "rdz-bench: audit of {} leads, {} index entries, {} deliveries, {} batches in {:.1f} s; "
      "{} violations; rdzd RSS {:.0f} MiB before, {:.0f} MiB peak during (high-water {:.0f} MiB)"
      "\nrdz-bench: ingest during the audit: {:.0f} leads/s, p99 {:.2f} ms (before: {:.0f} "
      "leads/s, p99 {:.2f} ms)\n",
      checked.getLeads(), checked.getIndexEntries(), checked.getDeliveries(), checked.getBatches(),
      auditSeconds, report.getViolationsTotal(), rssBefore, rssPeak.load(), hwm, during.tps,
      during.p99Ms, before.tps, before.p99Ms);
  std::cout << fmt::format(
      "{{\"rdz\":\"audit\",\"leads\":{},\"deliveries\":{},\"audit_s\":{:.2f},"
      "\"rss_before_mb\":{:.0f},\"rss_peak_mb\":{:.0f},\"tps_before\":{:.0f},"
      "\"p99_before_ms\":{:.2f},\"tps_during\":{:.0f},\"p99_during_ms\":{:.2f},"
      "\"violations\":{}}}\n",
      checked.getLeads(), deliveries > 0 ? deliveries : checked.getDeliveries(), auditSeconds,
      rssBefore, rssPeak.load(), before.tps, before.p99Ms, during.tps, during.p99Ms,
      report.getViolationsTotal());
  return report.getOk() ? 0 : 1;
}

}  // namespace rdz
