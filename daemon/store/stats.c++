#include "daemon/store/stats.h"

#include <fmt/format.h>
#include <kj/debug.h>

#include <algorithm>
#include <array>
#include <unordered_map>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/store/codec.h"
#include "daemon/store/keys.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

constexpr size_t DATE_LENGTH = 10;  // "AAAA-MM-JJ"

bool isDeliveryRow(const StatsChange& change) {
  return !change.produit.empty() || !change.client.empty();
}

// Adds one change to the rows it moves: the day row, and for a delivery-side change its produit
// and client rows.
void addToTable(StatsTable& table, const StatsChange& change) {
  addCounters(table[{change.entity, keys::statsDayKey(change.date)}], change.delta);
  if (isDeliveryRow(change)) {
    DayCounters side = deliverySide(change.delta);
    addCounters(table[{change.entity, keys::statsProduitKey(change.produit, change.date)}], side);
    addCounters(
        table[{change.entity, keys::statsClientKey(change.client, change.date, change.produit)}],
        side);
  }
}

void addToTable(StatsTable& table, const std::vector<StatsChange>& changes) {
  for (auto& change : changes) addToTable(table, change);
}

bool isCounterRow(std::string_view key) {
  return !key.empty() && (key[0] == 'T' || key[0] == 'P' || key[0] == 'C');
}

// The stats family rows of `e` whose key starts with `prefix` and whose date (at `dateAt` in the
// key) is in [from, to], in key order; `visit(key, date, value)`.
template <typename Visit>
void scanDates(Reader& r, Entity e, const std::string& prefix, const StatsQuery& q, Visit&& visit) {
  // The keys after every key of the day before `from`: for a 'C' row the date is followed by
  // a produit code, which sorts below 0xff.
  std::string after = prefix + addDays(q.from, -1) + "\xff";
  r.scanAfter(e, Family::STATS, prefix, after, [&](std::string_view key, std::string_view value) {
    std::string_view date = key.substr(prefix.size(), DATE_LENGTH);
    if (date > q.to) return false;
    visit(key, date, value);
    return true;
  });
}

// The produit of each delivered lead of one entity, looked up by id: sorted ids (a scan of the
// leads family is in id order) and an index into the entity's produit codes.
class ProduitIndex {
 public:
  void add(std::string_view id, std::string_view produit) {
    KJ_ASSERT(ids_.empty() || ids_.back() < id, "leads are visited in id order");
    auto found = std::find(codes_.begin(), codes_.end(), produit);
    if (found == codes_.end()) found = codes_.insert(codes_.end(), std::string(produit));
    ids_.emplace_back(id);
    produits_.push_back(static_cast<uint32_t>(found - codes_.begin()));
  }
  // "" when the lead is unknown (a delivery without its lead: the audit reports that elsewhere).
  std::string_view find(std::string_view id) const {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it == ids_.end() || *it != id) return {};
    return codes_[produits_[it - ids_.begin()]];
  }

 private:
  std::vector<std::string> ids_;
  std::vector<uint32_t> produits_;
  std::vector<std::string> codes_;
};

// When the lead was erased: its history's erasure event.
std::optional<Timestamp> erasedAt(Reader& r, Entity e, std::string_view leadId) {
  std::optional<Timestamp> at;
  for (auto& event : getHistory(r, e, leadId)) {
    if (event.kind == HistoryKind::EFFACEMENT) at = event.at;  // legacy records too
  }
  return at;
}

std::vector<Entity> scopeOf(const RunRecord& run) {
  if (run.entity) return {*run.entity};
  return {std::begin(ALL_ENTITIES), std::end(ALL_ENTITIES)};
}

// The changes a run's RunStats record stands for.
std::vector<StatsChange> statsOfRunRecord(Entity e, const std::string& date, const RunStats& run) {
  std::vector<StatsChange> out;
  if (run.stockLb || run.freshInvendus) {
    StatsChange snapshot = statsOfRunSnapshot(e, date, 0, 0);
    snapshot.delta.stockLb = run.stockLb;
    snapshot.delta.freshInvendus = run.freshInvendus;
    out.push_back(kj::mv(snapshot));
  }
  for (auto& d : run.doublons) {
    out.push_back(statsOfDuplicateSkips(e, date, d.produit, d.client, d.count));
  }
  return out;
}

std::string readableKey(std::string_view key) {
  if (key.empty()) return "";
  std::string_view rest = key.substr(1);
  size_t zero = rest.find('\0');
  switch (key[0]) {
    case 'T':
      return std::string(rest);
    case 'P':
      return fmt::format("{} produit {}", rest.substr(zero + 1), rest.substr(0, zero));
    case 'C': {
      std::string_view after = rest.substr(zero + 1);
      return fmt::format("{} client {} {}", after.substr(0, DATE_LENGTH), rest.substr(0, zero),
                         after.substr(std::min(after.size(), DATE_LENGTH)));
    }
    default:
      return std::string(key);
  }
}

std::string snapshotText(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("null");
}

// "name: stored X, recounted Y" for every counter that differs.
std::string differences(const DayCounters& a, const DayCounters& b) {
  std::vector<std::string> out;
  auto compare = [&](const char* name, int64_t x, int64_t y) {
    if (x != y) out.push_back(fmt::format("{}: stored {}, recounted {}", name, x, y));
  };
  compare("recus", a.recus, b.recus);
  std::map<std::string, std::pair<int64_t, int64_t>> codes;
  for (auto& [code, n] : a.invalides) codes[code].first = n;
  for (auto& [code, n] : b.invalides) codes[code].second = n;
  for (auto& [code, pair] : codes) {
    compare(("invalides." + code).c_str(), pair.first, pair.second);
  }
  compare("livres_fresh", a.livresFresh, b.livresFresh);
  compare("livres_lb", a.livresLb, b.livresLb);
  compare("fallback_entrants", a.fallbackEntrants, b.fallbackEntrants);
  compare("fallback_sortants", a.fallbackSortants, b.fallbackSortants);
  compare("doublons_evites", a.doublonsEvites, b.doublonsEvites);
  compare("rejetes", a.rejetes, b.rejetes);
  compare("effaces", a.effaces, b.effaces);
  if (a.stockLb != b.stockLb) {
    out.push_back(fmt::format("stock_lb: stored {}, recounted {}", snapshotText(a.stockLb),
                              snapshotText(b.stockLb)));
  }
  if (a.freshInvendus != b.freshInvendus) {
    out.push_back(fmt::format("fresh_invendus: stored {}, recounted {}",
                              snapshotText(a.freshInvendus), snapshotText(b.freshInvendus)));
  }
  std::string text;
  for (auto& line : out) text += (text.empty() ? "" : "; ") + line;
  return text;
}

}  // namespace

namespace {

// Reads each row `changes` move once and writes it once.
void writeStats(Txn& txn, const StatsChange* begin, const StatsChange* end) {
  StatsTable deltas;
  for (auto* change = begin; change != end; ++change) addToTable(deltas, *change);
  for (auto& [row, delta] : deltas) {
    auto& [entity, key] = row;
    DayCounters counters;
    KJ_IF_MAYBE (bytes, txn.get(entity, Family::STATS, key)) {
      counters = decodeDayCounters(*bytes);
    }
    addCounters(counters, delta);
    KJ_ASSERT(!hasNegative(counters), "a stats counter would go negative", readableKey(key));
    if (isZero(counters)) {
      txn.del(entity, Family::STATS, key);
    } else {
      txn.put(entity, Family::STATS, key, encode(counters));
    }
  }
}

// The increments of a transaction's jobs (addStats), written when it settles.
class DeferredStats final : public Txn::Deferred {
 public:
  size_t size() const override { return changes_.size(); }
  void truncate(size_t size) override { changes_.resize(size); }
  void write(Txn& txn, size_t from) override {
    writeStats(txn, changes_.data() + from, changes_.data() + changes_.size());
  }
  void add(const std::vector<StatsChange>& changes) {
    changes_.insert(changes_.end(), changes.begin(), changes.end());
  }

 private:
  std::vector<StatsChange> changes_;
};

// No counter goes down and no pool snapshot is set (a snapshot replaces, it does not add): such
// changes add up in any order, and a row they touch never comes back to zero.
bool isIncrement(const DayCounters& delta) {
  return !hasNegative(delta) && !delta.stockLb && !delta.freshInvendus;
}

}  // namespace

void applyStats(Txn& txn, const std::vector<StatsChange>& changes) {
  txn.settle();  // the rows as they are, with the increments deferred so far
  writeStats(txn, changes.data(), changes.data() + changes.size());
}

void addStats(Txn& txn, const std::vector<StatsChange>& increments) {
  for (auto& change : increments) {
    KJ_ASSERT(isIncrement(change.delta), "addStats takes increments only", change.date);
  }
  auto& deferred = txn.deferred(
      []() -> std::unique_ptr<Txn::Deferred> { return std::make_unique<DeferredStats>(); });
  static_cast<DeferredStats&>(deferred).add(increments);
}

void RunPools::move(Statut from, Statut to, Timestamp recuLe, Timestamp reference) {
  auto count = [&](Statut s, int64_t sign) {
    if (s == Statut::LB) stockLb += sign;
    if (s == Statut::NEW && recuLe <= reference) freshInvendus += sign;
  };
  count(from, -1);
  count(to, +1);
}

RunPools countRunPools(Reader& r, Entity e, Timestamp reference) {
  RunPools pools;
  r.scan(e, Family::INDEX, keys::statusPrefix(Statut::LB), [&](auto, auto) {
    ++pools.stockLb;
    return true;
  });
  // Unsold fresh leads: `new` ones the run could have given (received by its reference time;
  // the older ones were aged to LB by it).
  std::string newPrefix = keys::statusPrefix(Statut::NEW);
  r.scan(e, Family::INDEX, newPrefix, [&](std::string_view key, auto) {
    if (keys::readTime(key.substr(newPrefix.size(), 8)) > reference) return false;
    ++pools.freshInvendus;
    return true;
  });
  return pools;
}

void RunCount::addDelivery(const Delivery& d, std::string_view produit) {
  key_.assign({static_cast<char>('0' + static_cast<int>(d.entity)),
               static_cast<char>('0' + static_cast<int>(d.leadEntity)),
               static_cast<char>('0' + static_cast<int>(d.pass))});
  for (std::string_view part : {std::string_view(d.client), std::string_view(d.run), produit}) {
    key_.append(part).push_back('\0');
  }
  auto [alike, first] = deliveries.try_emplace(key_);
  if (first) {
    alike->second.delivery = d;
    alike->second.produit = produit;
  }
  alike->second.count += 1;
}

std::vector<StatsChange> runStatsChanges(Txn& txn, const RunCount& run) {
  std::vector<StatsChange> changes;
  for (auto& [_, alike] : run.deliveries) {
    auto moved = statsOfDelivery(alike.delivery, alike.produit, alike.count);
    changes.insert(changes.end(), moved.begin(), moved.end());
  }
  std::map<Entity, std::map<std::pair<std::string, std::string>, int64_t>> doublons;
  for (auto& skip : run.duplicates) {
    KJ_REQUIRE(!skip.produit.empty(), "a duplicate avoided without its lead's produit",
               skip.leadId);
    doublons[skip.leadEntity][{skip.produit, skip.client}] += 1;
  }
  for (Entity e : run.entities) {
    RunStats counted;
    auto pools = run.pools.find(e);
    KJ_REQUIRE(pools != run.pools.end(), "a run's pools not counted", std::string(entityName(e)));
    counted.stockLb = pools->second.stockLb;
    counted.freshInvendus = pools->second.freshInvendus;
    for (auto& [pair, n] : doublons[e]) counted.doublons.push_back({pair.first, pair.second, n});
    txn.put(e, Family::STATS, keys::runStatsKey(run.runId), encode(counted));
    auto moved = statsOfRunRecord(e, run.date, counted);
    changes.insert(changes.end(), moved.begin(), moved.end());
  }
  return changes;
}

std::vector<std::pair<std::string, DayCounters>> readStats(Reader& r, Entity e,
                                                           const StatsQuery& q) {
  KJ_REQUIRE(isIsoDate(q.from) && isIsoDate(q.to) && q.from <= q.to, "bad stats period", q.from,
             q.to);
  std::map<std::string, DayCounters, std::less<>> byDate;
  scanDates(r, e, keys::STATS_DAY_PREFIX, q, [&](auto, std::string_view date, auto value) {
    DayCounters day = decodeDayCounters(value);
    byDate[std::string(date)] = q.produit.empty() && q.client.empty() ? day : entityWide(day);
  });
  if (!q.client.empty()) {
    // Every produit of the client, each day; the produit filtered here (a client has few).
    std::string prefix = keys::statsClientPrefix(q.client);
    scanDates(r, e, prefix, q, [&](std::string_view key, std::string_view date, auto value) {
      std::string_view produit = key.substr(prefix.size() + DATE_LENGTH);
      if (!q.produit.empty() && produit != q.produit) return;
      addCounters(byDate[std::string(date)], decodeDayCounters(value));
    });
  } else if (!q.produit.empty()) {
    scanDates(r, e, keys::statsProduitPrefix(q.produit), q,
              [&](auto, std::string_view date, auto value) {
                addCounters(byDate[std::string(date)], decodeDayCounters(value));
              });
  }
  std::vector<std::pair<std::string, DayCounters>> days;
  for (std::string date = q.from; date <= q.to; date = addDays(date, 1)) {
    auto it = byDate.find(date);
    days.emplace_back(date, it == byDate.end() ? DayCounters{} : kj::mv(it->second));
  }
  return days;
}

StatsTable storedStats(Reader& r) {
  StatsTable table;
  for (Entity e : ALL_ENTITIES) {
    r.scan(e, Family::STATS, "", [&](std::string_view key, std::string_view value) {
      if (isCounterRow(key)) table[{e, std::string(key)}] = decodeDayCounters(value);
      return true;
    });
  }
  return table;
}

StatsTable recountStats(Reader& r) {
  StatsTable table;
  std::array<ProduitIndex, 2> produits;
  for (Entity e : ALL_ENTITIES) {
    ProduitIndex& index = produits[static_cast<size_t>(e)];
    r.scan(e, Family::LEADS, "", [&](std::string_view, std::string_view value) {
      Lead lead = decodeLead(value);
      addToTable(table, statsOfReception(lead));
      if (lead.efface) {
        if (auto at = erasedAt(r, e, lead.id)) addToTable(table, statsOfErasure(e, *at));
      }
      if (lead.nbLivraisons > 0) index.add(lead.id, lead.produit);
      return true;
    });
  }
  for (Entity receiving : ALL_ENTITIES) {
    r.scan(receiving, Family::DELIVERIES, "D", [&](auto, std::string_view value) {
      Delivery d = decodeDelivery(value);
      std::string produit(produits[static_cast<size_t>(d.leadEntity)].find(d.lead));
      if (d.rejet != REJET_EFFACE) addToTable(table, statsOfDelivery(d, produit));
      if (isClientRejection(d)) addToTable(table, statsOfRejection(d, produit));
      return true;
    });
  }
  for (const RunRecord& run : listRuns(r)) {
    for (Entity e : scopeOf(run)) {
      KJ_IF_MAYBE (bytes, r.get(e, Family::STATS, keys::runStatsKey(run.id))) {
        addToTable(table, statsOfRunRecord(e, run.date, decodeRunStats(*bytes)));
      } else {
        // A run from before the counters: only its per-entity duplicates count is known.
        uint32_t count = 0;
        if (run.entity) {
          count = run.doublonsEvites;
        } else if (auto it = run.byEntity.find(e); it != run.byEntity.end()) {
          count = it->second.doublonsEvites;
        }
        if (count > 0) {
          StatsChange change;
          change.entity = e;
          change.date = run.date;
          change.delta.doublonsEvites = count;
          addToTable(table, change);
        }
      }
    }
  }
  // Rows whose changes cancelled out are not stored either.
  std::erase_if(table, [](const auto& row) { return isZero(row.second); });
  return table;
}

std::vector<StatsMismatch> compareStats(const StatsTable& stored, const StatsTable& recounted) {
  std::vector<StatsMismatch> out;
  auto s = stored.begin();
  auto c = recounted.begin();
  const DayCounters zero;
  while (s != stored.end() || c != recounted.end()) {
    bool takeStored = c == recounted.end() || (s != stored.end() && s->first <= c->first);
    bool takeRecount = s == stored.end() || (c != recounted.end() && c->first <= s->first);
    const auto& row = takeStored ? s->first : c->first;
    const DayCounters& a = takeStored ? s->second : zero;
    const DayCounters& b = takeRecount ? c->second : zero;
    if (!(a == b)) out.push_back({row.first, readableKey(row.second), differences(a, b)});
    if (takeStored) ++s;
    if (takeRecount) ++c;
  }
  return out;
}

void rebuildStats(Store& store) {
  StatsTable recounted = recountStats(store);
  auto txn = store.begin();
  for (Entity e : ALL_ENTITIES) {
    std::vector<std::string> old;
    store.scan(e, Family::STATS, "", [&](std::string_view key, auto) {
      if (isCounterRow(key)) old.emplace_back(key);
      return true;
    });
    for (auto& key : old) txn->del(e, Family::STATS, key);
  }
  for (auto& [row, counters] : recounted) {
    txn->put(row.first, Family::STATS, row.second, encode(counters));
  }
  txn->putSystem(keys::STATS_BUILT_KEY, "");
  store.commit(*txn);
}

bool ensureStatsBuilt(Store& store) {
  if (store.getSystem(keys::STATS_BUILT_KEY) != nullptr) return false;
  rebuildStats(store);
  return true;
}

}  // namespace rdz
