#include "tools/bench-run.h"

#include <fmt/format.h>
#include <kj/debug.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include "daemon/domain/calendar.h"
#include "daemon/domain/history.h"
#include "daemon/domain/ids.h"
#include "daemon/domain/stats.h"
#include "daemon/domain/time.h"
#include "daemon/service/operations.h"
#include "daemon/store/bulk-load.h"
#include "daemon/store/records.h"
#include "daemon/store/stats.h"
#include "tools/bench-ingest.h"
#include "tools/bench-rdzd.h"
#include "tools/bench-smtp-sink.h"

namespace rdz {

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double secondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

constexpr const char* PRODUITS[] = {"PV", "PAC", "ITE"};
constexpr const char* NOMS[] = {"Martin", "Bernard", "Dubois", "Thomas", "Robert",  "Richard",
                                "Petit",  "Durand",  "Leroy",  "Moreau", "Lefèvre", "Garçon"};
constexpr const char* PRENOMS[] = {"Jean",   "Marie",  "Pierre",   "Sophie", "Luc",
                                   "Élodie", "Hélène", "François", "Zoé",    "Noël"};
constexpr int HISTORY_DAYS = 30;
constexpr Duration POOL_SPAN = std::chrono::hours(24 * 20);
constexpr Duration FRESH = std::chrono::hours(24 * 8);
constexpr uint32_t DUPLICATE_PERCENT = 3;  // pool leads carrying a person delivered lately
constexpr size_t RECENT = 4096;            // the delivered persons a pool lead may repeat

Entity otherEntity(Entity e) { return e == Entity::ZR7 ? Entity::MDL : Entity::ZR7; }

// Metropolitan departements but Corsica: "01".."95".
const std::vector<std::string>& departements() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    for (int d = 1; d <= 95; ++d) {
      if (d != 20) out.push_back(fmt::format("{:02}", d));
    }
    return out;
  }();
  return all;
}

// A lead as ingestion stores it (the fields of a ~500-byte web form), without going through
// validation: the bench makes millions. `person` picks the phone: a bijection of 0..1e8, so
// distinct persons have distinct numbers (07: none of rdz-bench ingest's 06 numbers).
Lead benchLead(uint64_t person, Entity e, const std::string& produit, const std::string& dept,
               Timestamp recu, uint64_t h) {
  uint64_t phone = (person * 48271 + 777) % 100000000;
  Lead l;
  l.entity = e;
  l.produit = produit;
  l.nom = NOMS[h % 12];
  l.prenom = PRENOMS[(h >> 4) % 10];
  l.telephone = fmt::format("07{:08}", phone);
  l.telephoneE164 = fmt::format("+337{:08}", phone);
  l.email = fmt::format("personne{}@exemple.fr", person);
  l.codePostal = dept + "100";
  l.departement = dept;
  l.ville = "Ville de test";
  l.proprietaire = (h >> 8) % 2 ? TriState::OUI : TriState::NON;
  l.typeLogement = (h >> 9) % 2 ? TypeLogement::MAISON : TypeLogement::APPARTEMENT;
  l.consentement = true;
  l.consentementTexte =
      "J'accepte d'être recontacté par téléphone au sujet de mon projet de rénovation "
      "énergétique par les partenaires du site.";
  l.consentementLe = recu;
  l.pageUrl = "https://exemple.fr/devis/solaire?etape=3";
  l.ip = fmt::format("192.0.2.{}", (h >> 10) % 250 + 1);
  l.userAgent = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0";
  l.utmSource = "google";
  l.utmMedium = "cpc";
  l.utmCampaign = "renov-2026";
  l.recuLe = recu;
  return l;
}

// Writes the bench's database: commerce and counters through a Store, the leads and what runs
// wrote for them through a BulkLoad.
class RunLoader {
 public:
  RunLoader(const RunBenchOptions& options, std::string dbDir, std::string runDate)
      : options_(options),
        dbDir_(kj::mv(dbDir)),
        runDate_(kj::mv(runDate)),
        T_(*referenceTime(runDate_, "09:30")) {
    for (int r = 0; r <= HISTORY_DAYS; ++r) {
      // runT_[r]: T of the run r − 1 (0 .. 29 = the 30 dates before the run's; runT_[0]: the
      // date before those, whose T opens the first run's window).
      std::string date = addDays(runDate_, r - HISTORY_DAYS - 1);
      runT_.push_back(*referenceTime(date, "09:30"));
      if (r > 0) {
        runDates_.push_back(date);
        runWeeks_.push_back(isoWeekOf(date));
      }
    }
  }

  void load() {
    auto started = SteadyClock::now();
    {
      auto store = Store::open(dbDir_);
      // A new database: these only mark the stats counters, the last-delivery index and the pool
      // entries built (putLead keeps the index of every lead loaded; rdzd would otherwise rebuild
      // them).
      ensureStatsBuilt(*store);
      ensureAgingIndexBuilt(*store);
      ensurePoolEntriesFilled(*store);
      addCommerce(*store);
    }
    double commerceSeconds = secondsSince(started);
    auto phase = SteadyClock::now();
    BulkLoad bulk(dbDir_);
    writeLeads(bulk.txn());
    double leadsSeconds = secondsSince(phase);
    phase = SteadyClock::now();
    BulkLoadFigures figures = bulk.finish();
    double ingestSeconds = secondsSince(phase);
    phase = SteadyClock::now();
    {
      auto store = Store::open(dbDir_);
      writeCounters(*store);
    }
    std::cerr << fmt::format(
        "rdz-bench: loaded {} pool leads, {} delivered leads ({} batches, {} runs), {} commandes "
        "in {:.1f} s: clients and commandes {:.1f} s, leads to SST files {:.1f} s ({} writes, "
        "{:.0f} MiB), merge and ingestion {:.1f} s ({} files, {} families merged), counters "
        "{:.1f} s\n",
        options_.leads, options_.history, batches_, HISTORY_DAYS, commandes_.size(),
        secondsSince(started), commerceSeconds, leadsSeconds, figures.entries,
        figures.bytes / 1048576.0, ingestSeconds, figures.files, figures.mergedFamilies,
        secondsSince(phase));
  }

 private:
  struct BenchCommande {
    Commande commande;
    uint32_t client = 0;  // index of its client
    uint32_t weight = 1;  // its share of the historical deliveries and of the run's demand
    bool dailyCap = false;
    // Per run of the history: its deliveries, and how its first delivery (own entity, then
    // crossed by fallback) moved the stats (each distinct change counted once, then repeated).
    std::vector<uint32_t> delivered;
    struct Counted {
      Delivery delivery;
      uint64_t count = 0;
    };
    std::vector<std::array<Counted, 2>> counted;
  };

  void addCommerce(Store& store) {
    const uint32_t clients = std::max<uint32_t>(1, (options_.commandes + 1) / 2);
    batchOfClient_.assign(clients, NO_BATCH);
    const Timestamp created = runT_.front() - std::chrono::hours(24 * 60);
    auto txn = store.begin();
    std::vector<std::pair<std::string, Entity>> ids;
    for (uint32_t k = 0; k < clients; ++k) {
      Client c;
      c.id = fmt::format("bench-client-{:05}", k);
      c.entity = k % 5 < 3 ? Entity::ZR7 : Entity::MDL;
      c.nom = fmt::format("Client {} du banc", k);
      c.emails = {c.id + "@exemple.fr"};
      addClient(*txn, c, created);
      ids.emplace_back(c.id, c.entity);
    }
    const auto& depts = departements();
    for (uint32_t j = 0; j < options_.commandes; ++j) {
      uint64_t h = mix(options_.seed ^ (0xC0DEull << 40) ^ j);
      uint32_t k = j % clients;
      BenchCommande b;
      b.client = k;
      b.delivered.assign(HISTORY_DAYS, 0);
      b.counted.resize(HISTORY_DAYS);
      Commande& c = b.commande;
      c.client = ids[k].first;
      c.produit = PRODUITS[(j / clients + k) % 3];
      if (h % 10 == 0) {
        c.departements = {"*"};
      } else {
        for (uint64_t m = 0, n = 1 + (h >> 4) % 5; m < n; ++m) {
          const std::string& d = depts[mix(h + m) % depts.size()];
          if (std::find(c.departements.begin(), c.departements.end(), d) == c.departements.end()) {
            c.departements.push_back(d);
          }
        }
      }
      c.quotaSemaine = 1;  // set once the week's deliveries are known (writeCounters)
      c.priorite = static_cast<uint8_t>(1 + (h >> 12) % 9);
      c.lbMaxPct = static_cast<uint8_t>((h >> 20) % 4 * 10);
      c.fallback = (h >> 24) % 5 == 0;
      c.jours = {std::begin(JOURS), std::end(JOURS)};
      c.id = addCommande(*txn, c, created);
      c.entity = ids[k].second;
      b.weight = 1 + (h >> 28) % 4;
      b.dailyCap = (h >> 32) % 10 == 0;
      commandes_.push_back(kj::mv(b));
      totalWeight_ += commandes_.back().weight;
      cumulative_.push_back(totalWeight_);
    }
    store.commit(*txn, false);
  }

  BenchCommande& pickCommande(uint64_t h) {
    auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), h % totalWeight_);
    return commandes_[static_cast<size_t>(at - cumulative_.begin())];
  }

  // The Paris date of `t`, computed once per day: leads come in time order.
  const std::string& dateOf(Timestamp t) {
    if (t < dayStart_ || t >= dayEnd_) {
      day_ = parisDate(t);
      dayStart_ = *referenceTime(day_, "00:00");
      dayEnd_ = *referenceTime(addDays(day_, 1), "00:00");
    }
    return day_;
  }

  // Pool and delivered leads, merged in reception order so that ids follow recu_le.
  void writeLeads(Txn& txn) {
    const uint64_t H = options_.history, N = options_.leads;
    auto firstOfRun = [H](uint64_t r) { return (r * H + HISTORY_DAYS - 1) / HISTORY_DAYS; };
    auto historyRecu = [&](uint64_t k, size_t& r) {
      r = static_cast<size_t>(k * HISTORY_DAYS / H);
      uint64_t first = firstOfRun(r), count = firstOfRun(r + 1) - first;
      Duration window = runT_[r + 1] - runT_[r];
      return runT_[r] +
             window * static_cast<int64_t>(2 * (k - first) + 1) / static_cast<int64_t>(2 * count);
    };
    auto poolRecu = [&](uint64_t i) {
      double at = (2.0 * static_cast<double>(i) + 1) / (2.0 * static_cast<double>(N));
      return T_ - POOL_SPAN +
             Duration(static_cast<int64_t>(static_cast<double>(POOL_SPAN.count()) * at));
    };
    uint64_t k = 0, i = 0;
    size_t currentRun = 0;
    while (k < H || i < N) {
      size_t r = 0;
      if (k < H && (i >= N || historyRecu(k, r) <= poolRecu(i))) {
        Timestamp recu = historyRecu(k, r);
        if (r != currentRun) writeBatches(txn, currentRun);
        currentRun = r;
        addDelivered(txn, k++, r, recu);
      } else {
        addPoolLead(txn, i, H + i, poolRecu(i));
        ++i;
      }
      if ((k + i) % 1000000 == 0) {
        std::cerr << "rdz-bench: " << (k + i) / 1000000 << " M leads written\n";
      }
    }
    writeBatches(txn, currentRun);
  }

  void addDelivered(Txn& txn, uint64_t k, size_t r, Timestamp recu) {
    uint64_t h = mix(options_.seed ^ (2 * k + 1));
    BenchCommande& b = pickCommande(h);
    const Commande& c = b.commande;
    const bool crossed = c.fallback && (h >> 40) % 20 == 0;
    const auto& depts = departements();
    std::string dept = c.departements.front() == "*"
                           ? depts[(h >> 8) % depts.size()]
                           : c.departements[(h >> 8) % c.departements.size()];
    const Timestamp at = runT_[r + 1];
    const std::string& date = runDates_[r];

    Lead lead = benchLead(k, crossed ? otherEntity(c.entity) : c.entity, c.produit, dept, recu, h);
    lead.id = leadIds_.next(recu);
    lead.statut = Statut::DELIVERED;
    lead.nbLivraisons = 1;
    lead.derniereLivraison = at;

    if (batchOfClient_[b.client] == NO_BATCH) {
      batchOfClient_[b.client] = openBatches_.size();
      Batch batch;
      batch.id = otherIds_.next(at);
      batch.entity = c.entity;
      batch.client = c.client;
      batch.run = date;
      openBatches_.push_back(kj::mv(batch));
    }
    Batch& batch = openBatches_[batchOfClient_[b.client]];

    Delivery d;
    d.id = otherIds_.next(at);
    d.leadEntity = lead.entity;
    d.entity = c.entity;
    d.lead = lead.id;
    d.commande = c.id;
    d.client = c.client;
    d.run = date;
    d.pass = crossed ? PassKind::FRESH_FALLBACK : PassKind::FRESH;
    d.at = at;
    d.batch = batch.id;
    batch.deliveries.push_back(d.id);

    // What ingestion, the run and the Sender write for it.
    addHistory(txn, lead.entity, lead.id, history::received(recu, "ingest"));
    addHistory(txn, lead.entity, lead.id, history::status(recu, Statut::NEW));
    addHistory(txn, lead.entity, lead.id, history::delivered(at, d));
    addHistory(txn, lead.entity, lead.id, history::sent(at + 5min, batch));
    putLead(txn, lead, nullptr);
    putDelivery(txn, d);
    putLastDelivery(txn, c.entity, lead.telephoneE164, lead.produit, c.client, at);

    b.delivered[r] += 1;
    countReception(lead);
    auto& counted = b.counted[r][crossed ? 1 : 0];
    if (counted.count++ == 0) counted.delivery = d;
    recent_[k % RECENT] = {lead.entity, lead.produit, dept, k};
    recentSize_ = std::min(recentSize_ + 1, RECENT);
  }

  void addPoolLead(Txn& txn, uint64_t i, uint64_t person, Timestamp recu) {
    uint64_t h = mix(options_.seed ^ (2 * i));
    const auto& depts = departements();
    Recent who{h % 5 < 3 ? Entity::ZR7 : Entity::MDL, PRODUITS[(h >> 12) % 3],
               depts[(h >> 16) % depts.size()], person};
    if (recentSize_ > 0 && (h >> 32) % 100 < DUPLICATE_PERCENT) {
      who = recent_[(h >> 40) % recentSize_];  // the same person and produit, delivered lately
    }
    Lead lead = benchLead(who.person, who.entity, who.produit, who.dept, recu, h);
    lead.id = leadIds_.next(recu);
    addHistory(txn, lead.entity, lead.id, history::received(recu, "ingest"));
    addHistory(txn, lead.entity, lead.id, history::status(recu, Statut::NEW));
    if (recu <= T_ - FRESH) {
      lead.statut = Statut::LB;  // aged by an earlier run
      addHistory(txn, lead.entity, lead.id, history::aged(recu + FRESH, parisDate(recu + FRESH)));
    }
    putLead(txn, lead, nullptr);
    countReception(lead);
  }

  // The batches of run r, sent five minutes after its commit (as the Sender records them).
  void writeBatches(Txn& txn, size_t r) {
    const Timestamp sentAt = runT_[r + 1] + 5min;
    for (Batch& b : openBatches_) {
      b.status = BatchStatus::SENT;
      b.attempts = 1;
      b.sentAt = sentAt;
      b.responses = {formatIso(sentAt) + " ok 250 2.0.0 accepted"};
      putBatch(txn, b, nullptr);
      runBatches_[r].push_back(b.id);
      ++batches_;
    }
    openBatches_.clear();
    std::fill(batchOfClient_.begin(), batchOfClient_.end(), NO_BATCH);
  }

  void countReception(const Lead& lead) {
    const std::string& date = dateOf(lead.recuLe);
    auto e = static_cast<size_t>(lead.entity);
    if (lastReception_[e] == nullptr || lastReceptionDay_[e] != date) {
      lastReception_[e] = &receptions_[{lead.entity, date}];  // std::map: stable addresses
      lastReceptionDay_[e] = date;
    }
    if (lastReception_[e]->count++ == 0) lastReception_[e]->lead = lead;
  }

  // The week quotas, the quota counters, the stats counters and the run records, in a few
  // transactions (reads through a big transaction slow down).
  void writeCounters(Store& store) {
    auto txn = store.begin();
    auto commitIfBig = [&] {
      if (txn->size() > 4000) {
        store.commit(*txn, false);
        txn = store.begin();
      }
    };
    const std::string week = isoWeekOf(runDate_);
    for (auto& b : commandes_) {
      Commande c = b.commande;
      uint64_t share = std::max<uint64_t>(1, options_.leads * b.weight / totalWeight_);
      uint64_t delivered = 0;
      for (int r = 0; r < HISTORY_DAYS; ++r) {
        if (runWeeks_[r] == week) delivered += b.delivered[r];
      }
      c.quotaSemaine = static_cast<uint32_t>(std::min<uint64_t>(100000, delivered + share));
      if (b.dailyCap) c.quotaJour = static_cast<uint32_t>(std::max<uint64_t>(1, share / 2));
      setCommande(*txn, c);
      commitIfBig();
    }
    for (auto& b : commandes_) {
      const Commande& c = b.commande;
      for (int r = 0; r < HISTORY_DAYS; ++r) {
        if (b.delivered[r] == 0) continue;
        addWeekCount(*txn, c.entity, c.id, runWeeks_[r], static_cast<int32_t>(b.delivered[r]), 0);
        addDayCount(*txn, c.entity, c.id, runDates_[r], static_cast<int32_t>(b.delivered[r]));
        commitIfBig();
      }
    }
    // Each distinct change counted `count` times, with the rules of daemon/domain/stats.h.
    auto repeated = [](std::vector<StatsChange> changes, uint64_t count) {
      for (auto& change : changes) {
        DayCounters once = change.delta;
        for (uint64_t n = 1; n < count; ++n) addCounters(change.delta, once);
      }
      return changes;
    };
    for (auto& [key, rep] : receptions_) {
      applyStats(*txn, repeated(statsOfReception(rep.lead), rep.count));
      commitIfBig();
    }
    for (auto& b : commandes_) {
      for (auto& run : b.counted) {
        for (auto& counted : run) {
          if (counted.count == 0) continue;
          applyStats(
              *txn, repeated(statsOfDelivery(counted.delivery, b.commande.produit), counted.count));
          commitIfBig();
        }
      }
    }
    for (size_t r = 0; r < runDates_.size(); ++r) {
      RunRecord run;
      run.id = runDates_[r];
      run.date = runDates_[r];
      run.reference = runT_[r + 1];
      run.status = "committed";  // live status: complete, every batch is sent
      for (Entity e : ALL_ENTITIES) run.byEntity[e] = {};
      for (auto& b : commandes_) {
        run.byEntity[b.commande.entity].assigned += b.delivered[r];
        run.assigned += b.delivered[r];
      }
      run.batches = runBatches_[r];
      putRun(*txn, run);
    }
    store.commit(*txn, true);
  }

  struct Recent {
    Entity entity;
    std::string produit;
    std::string dept;
    uint64_t person;
  };
  struct Reception {
    Lead lead;
    uint64_t count = 0;
  };

  const RunBenchOptions& options_;
  const std::string dbDir_;
  const std::string runDate_;
  const Timestamp T_;
  std::vector<Timestamp> runT_;
  std::vector<std::string> runDates_, runWeeks_;
  std::vector<BenchCommande> commandes_;
  std::vector<uint64_t> cumulative_;
  uint64_t totalWeight_ = 0;
  IdGenerator leadIds_;   // lead ids follow recu_le
  IdGenerator otherIds_;  // deliveries and batches follow their runs
  static constexpr size_t NO_BATCH = SIZE_MAX;
  std::vector<Batch> openBatches_;     // the batches of the run being written
  std::vector<size_t> batchOfClient_;  // by client index: its open batch, or NO_BATCH
  std::map<size_t, std::vector<std::string>> runBatches_;
  uint64_t batches_ = 0;
  std::map<std::pair<Entity, std::string>, Reception> receptions_;
  Reception* lastReception_[2] = {};  // by entity: the day counted last
  std::string lastReceptionDay_[2];
  Recent recent_[RECENT];
  size_t recentSize_ = 0;
  std::string day_;
  Timestamp dayStart_{}, dayEnd_{};
};

// The date to run: today when its 09:30 is past, else yesterday; after the last run when the
// database was run before (--reuse).
std::string runDateFor(Timestamp now, const std::string& lastRun) {
  std::string today = parisDate(now);
  std::string date = now >= *referenceTime(today, "09:30") + 1min ? today : addDays(today, -1);
  if (!lastRun.empty() && lastRun >= date) date = addDays(lastRun, 1);
  return date;
}

}  // namespace

int benchRun(const RunBenchOptions& options) {
  namespace fs = std::filesystem;
  const std::string db = options.dataDir + "/db";
  const Timestamp now(
      std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch()));
  std::string date;
  if (!options.reuse) {
    KJ_REQUIRE(!fs::exists(options.dataDir), "the data directory exists (--reuse to keep it)",
               options.dataDir);
    date = runDateFor(now, "");
  } else {
    KJ_REQUIRE(fs::exists(db + "/CURRENT"), "--reuse: no database in the data directory", db);
    std::string last;
    auto store = Store::open(db);
    for (auto& run : listRuns(*store)) last = std::max(last, run.date);
    date = runDateFor(now, last);
  }
  const bool force = date > parisDate(now);
  std::cerr << fmt::format(
      "rdz-bench: parameters: {} pool leads, {} delivered leads over {} days, {} commandes, {} "
      "ingest clients, run of {} (T = {} 09:30 Europe/Paris{}), data in {}{}\n",
      options.leads, options.history, HISTORY_DAYS, options.commandes, options.clients, date, date,
      force ? ", after today: --force" : "", options.dataDir,
      options.reuse ? " (reused: as loaded and run before)" : "");
  double loadSeconds = 0;
  if (!options.reuse) {
    fs::create_directories(options.dataDir);
    auto started = SteadyClock::now();
    RunLoader(options, db, date).load();
    loadSeconds = secondsSince(started);
  }

  SmtpSink sink;
  const std::string port = std::to_string(sink.port());
  auto starting = SteadyClock::now();
  pid_t pid = startRdzd(options.rdzd, options.dataDir, options.dataDir + "/rdzd-bench-run.log",
                        {"--zr7.smtp.port", port, "--mdl.smtp.port", port});
  KJ_DEFER(stopRdzd(pid));
  Endpoint ingest = rdzdEndpoint(options.dataDir, "ingest-zr7.token", 600s);
  Endpoint admin = rdzdEndpoint(options.dataDir, "admin.token", 600s);
  Connection adminConnection(admin);
  double startSeconds = secondsSince(starting);
  std::cerr << fmt::format("rdz-bench: rdzd is up in {:.1f} s (pid {}, {:.0f} MiB)\n", startSeconds,
                           pid, memoryMb(pid, "VmRSS:"));

  auto deadline = SteadyClock::now() + std::chrono::seconds(options.baselineSeconds);
  IngestFigures before = ingestLoad(ingest, options.clients, options.seed, 0,
                                    [deadline] { return SteadyClock::now() < deadline; });

  std::atomic<bool> runAnswered{false}, measuring{false};
  IngestFigures during;
  std::thread load([&] {
    during = ingestLoad(
        ingest, options.clients, options.seed, 20, [&] { return !runAnswered.load(); }, &measuring);
  });
  KJ_DEFER({
    runAnswered = true;
    if (load.joinable()) load.join();
  });
  std::this_thread::sleep_for(1s);  // the clients are connected and ingesting
  auto req = adminConnection.admin().deliverRequest();
  req.setDate(date);
  req.initEntity().setAll();
  req.setDryRun(false);
  req.setForce(force);
  measuring = true;
  auto called = SteadyClock::now();
  auto response = req.send().wait(adminConnection.waitScope());
  double runSeconds = secondsSince(called);
  measuring = false;
  runAnswered = true;
  load.join();

  auto run = response.getRun();
  std::vector<std::string> batches;
  for (auto id : run.getBatches()) batches.push_back(id.cStr());
  size_t received =
      sink.waitFor(batches, SteadyClock::now() + std::chrono::seconds(options.sendTimeoutSeconds));
  double sentSeconds = secondsSince(called);
  double hwm = memoryMb(pid, "VmHWM:");

  if (run.getAlreadyDone()) {
    std::cerr << "rdz-bench: the run of " << date << " was done already: nothing was allocated\n";
  }
  std::cerr << fmt::format(
      "rdz-bench: run committed (the deliver call): {:.2f} s — {} leads assigned, {} aged, {} "
      "duplicates avoided, {} batches\n",
      runSeconds, run.getAssigned(), run.getAged(), run.getDoublonsEvites(), batches.size());
  std::cerr << fmt::format(
      "rdz-bench: all batches accepted by the SMTP sink: {:.2f} s after the deliver call "
      "started ({} of {} batches{})\n",
      sentSeconds, received, batches.size(),
      received < batches.size()
          ? fmt::format(", gave up {} s after the run committed", options.sendTimeoutSeconds)
          : "");
  std::cerr << fmt::format("rdz-bench: rdzd peak RSS (VmHWM): {:.0f} MiB\n", hwm);
  std::cerr << fmt::format(
      "rdz-bench: ingest in the {} s before the run: {:.0f} leads/s, p50 {:.2f} ms, p99 {:.2f} "
      "ms\n",
      options.baselineSeconds, before.tps, before.p50Ms, before.p99Ms);
  std::cerr << fmt::format(
      "rdz-bench: ingest during the run (deliver call to its answer): {} leads, {:.0f} leads/s, "
      "p50 {:.2f} ms, p99 {:.2f} ms, longest wait {:.0f} ms (before the run: {:.0f} ms)\n",
      during.acknowledged, during.tps, during.p50Ms, during.p99Ms, during.maxMs, before.maxMs);
  std::cout << fmt::format(
      "{{\"rdz\":\"run\",\"leads\":{},\"history\":{},\"commandes\":{},\"date\":\"{}\","
      "\"load_s\":{:.1f},\"rdzd_start_s\":{:.1f},\"run_s\":{:.2f},\"sent_s\":{:.2f},"
      "\"assigned\":{},\"aged\":{},\"doublons_evites\":{},\"batches\":{},"
      "\"batches_received\":{},\"rss_peak_mb\":{:.0f},\"tps_before\":{:.0f},"
      "\"p50_before_ms\":{:.2f},\"p99_before_ms\":{:.2f},\"tps_during\":{:.0f},"
      "\"p50_during_ms\":{:.2f},\"p99_during_ms\":{:.2f},\"max_before_ms\":{:.0f},"
      "\"max_during_ms\":{:.0f}}}\n",
      options.leads, options.history, options.commandes, date, loadSeconds, startSeconds,
      runSeconds, sentSeconds, run.getAssigned(), run.getAged(), run.getDoublonsEvites(),
      batches.size(), received, hwm, before.tps, before.p50Ms, before.p99Ms, during.tps,
      during.p50Ms, during.p99Ms, before.maxMs, during.maxMs);
  bool ok = !run.getAlreadyDone() && received == batches.size() && before.failedClients == 0 &&
            during.failedClients == 0;
  return ok ? 0 : 1;
}

}  // namespace rdz
