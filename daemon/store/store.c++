#include "daemon/store/store.h"

#include <kj/debug.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_buffer_manager.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "daemon/store/ingest-files.h"
#include "daemon/store/keys.h"
#include "daemon/store/lead-state.h"
#include "daemon/store/rocks-options.h"
#include "daemon/store/rocks-status.h"

namespace rdz {

namespace {

constexpr std::string_view FAMILY_NAMES[FAMILY_COUNT] = {
    "leads",      "index", "history", "clients", "commandes",  "produits",
    "deliveries", "dedup", "quotas",  "batches", "opposition", "stats"};
constexpr std::string_view SYSTEM_FAMILY = "system";

// What a transaction at a snapshot keeps of its write-only part in memory before it spills it to
// a file (setRunSpillBytes): at a million pool leads a run writes ~560 MB there.
std::atomic<size_t> runSpillBytes{size_t{64} << 20};

kj::Maybe<std::string> found(const rocksdb::Status& status, std::string&& value, const char* what) {
  if (status.IsNotFound()) return nullptr;
  check(status, what);
  return kj::mv(value);
}

// The smallest key greater than every key starting with `prefix` ("" when there is none).
std::string prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// Read options bounded to the keys that start with `prefix`: an iterator then never walks past
// the range, e.g. over the thousands of tombstones a run leaves in the `new` pool (the keys after
// the phone index) until they are compacted, which made every ingestion's double-submission scan
// of a phone sorting after all others slow.
class PrefixReadOptions {
 public:
  PrefixReadOptions(const rocksdb::ReadOptions& base, std::string_view prefix)
      : options_(base), lower_(prefix), upper_(prefixEnd(prefix)) {
    if (!lower_.empty()) {
      lowerSlice_ = slice(lower_);
      options_.iterate_lower_bound = &lowerSlice_;
    }
    if (!upper_.empty()) {
      upperSlice_ = slice(upper_);
      options_.iterate_upper_bound = &upperSlice_;
    }
  }
  KJ_DISALLOW_COPY(PrefixReadOptions);
  const rocksdb::ReadOptions& get() const { return options_; }

 private:
  rocksdb::ReadOptions options_;
  std::string lower_, upper_;
  rocksdb::Slice lowerSlice_, upperSlice_;
};

// `after`: forward scans start past this key (the smallest key above it is after + '\0').
void iterate(rocksdb::Iterator& it, std::string_view prefix, ScanFn& fn, bool reverse,
             std::string_view after = {}) {
  if (!reverse) {
    std::string start(prefix);
    if (!after.empty()) start = std::max(start, std::string(after) + '\0');
    for (it.Seek(slice(start)); it.Valid() && it.key().starts_with(slice(prefix)); it.Next()) {
      if (!fn(view(it.key()), view(it.value()))) break;
    }
  } else {
    std::string end = prefixEnd(prefix);
    if (end.empty()) {
      it.SeekToLast();
    } else {
      it.SeekForPrev(slice(end));
      if (it.Valid() && view(it.key()) == end) it.Prev();
    }
    for (; it.Valid() && it.key().starts_with(slice(prefix)); it.Prev()) {
      if (!fn(view(it.key()), view(it.value()))) break;
    }
  }
  check(it.status(), "scan");
}

// A forward scan that re-creates its iterator every SNAPSHOT_SCAN_CHUNK keys, resuming after the
// last key visited: the snapshot makes the pieces one consistent scan, and no iterator lives long
// enough to pin memtables and files for the whole of a long scan.
constexpr size_t SNAPSHOT_SCAN_CHUNK = 8192;

template <typename MakeIterator>
void iterateInChunks(MakeIterator makeIterator, std::string_view prefix, ScanFn& fn,
                     std::string_view after = {}) {
  std::string start(prefix);
  if (!after.empty()) start = std::max(start, std::string(after) + '\0');
  for (;;) {
    std::unique_ptr<rocksdb::Iterator> it(makeIterator());
    size_t visited = 0;
    for (it->Seek(slice(start)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
      if (!fn(view(it->key()), view(it->value()))) return check(it->status(), "scan");
      if (++visited == SNAPSHOT_SCAN_CHUNK) break;
    }
    check(it->status(), "scan");
    if (visited < SNAPSHOT_SCAN_CHUNK || !it->Valid()) return;
    start = std::string(view(it->key())) + '\0';  // the smallest key after the last one visited
  }
}

class RocksStore;

class RocksSnapshot;

class RocksTxn final : public Txn {
 public:
  explicit RocksTxn(RocksStore& store);
  // Reads at `snapshot` (Store::beginAtSnapshot()).
  RocksTxn(RocksStore& store, kj::Own<RocksSnapshot> snapshot);
  ~RocksTxn() noexcept override {
    for (auto& file : files_) removeIngestFile(file.path);  // ingested (linked) or never
  }
  kj::Maybe<std::string> get(Entity e, Family f, std::string_view key) override;
  kj::Maybe<std::string> getSystem(std::string_view key) override;
  void scan(Entity e, Family f, std::string_view prefix, ScanFn fn, bool reverse) override;
  void scanSystem(std::string_view prefix, ScanFn fn) override;
  void scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                 ScanFn fn) override;
  void scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) override;
  void put(Entity e, Family f, std::string_view key, std::string_view value) override;
  void del(Entity e, Family f, std::string_view key) override;
  void merge(Entity e, Family f, std::string_view key, std::string_view operand) override;
  void putSystem(std::string_view key, std::string_view value) override;
  void delSystem(std::string_view key) override;
  size_t size() const override;

  Txn& writeOnly() override;
  void finishWrites() override;

  rocksdb::WriteBatch* writeBatch() { return batch_.GetWriteBatch(); }
  // The writeOnly() writes, in key order (null: not a transaction at a snapshot). Empty when they
  // went to files().
  rocksdb::WriteBatch* unindexed();
  // The writeOnly() writes with the others of their families, as files to ingest (finishWrites),
  // one per family; the other writes stay in writeBatch(). Removed with the transaction.
  const std::vector<IngestFile>& files() const { return files_; }
  bool atSnapshot() const { return snapshot_.get() != nullptr; }

 protected:
  void setBatchSavePoint() override {
    batch_.SetSavePoint();
    if (unindexed_) unindexed_->mark();
  }
  void rollbackBatchToSavePoint() override {
    check(batch_.RollbackToSavePoint(), "rollback to save point");
    if (unindexed_) unindexed_->rollback();
  }
  void popBatchSavePoint() override {
    check(batch_.PopSavePoint(), "pop save point");
    if (unindexed_) unindexed_->unmark();
  }

 private:
  kj::Maybe<std::string> getFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  void scanFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix, ScanFn& fn, bool reverse,
                std::string_view after = {});
  RocksStore& store_;
  kj::Own<RocksSnapshot> snapshot_;  // null: reads see the committed database as it is
  rocksdb::ReadOptions readOptions_;
  // overwrite_key = true: reads of a key written twice in the batch see the last write.
  mutable rocksdb::WriteBatchWithIndex batch_{rocksdb::BytewiseComparator(), 0, true};

  // writeOnly() of a transaction at a snapshot: no index, and no reads. Its writes are kept in
  // an arena and put in a WriteBatch in key order, family by family, once the transaction is
  // written (finishWrites): a memtable inserts keys that come in order next to the previous one,
  // instead of searching its skip list from the top for each (at a million leads, the writer's
  // one synced write of a run spent most of its seconds in those searches).
  class Unindexed final : public Txn {
   public:
    explicit Unindexed(RocksStore& store) : store_(store) {}
    ~Unindexed() noexcept override {
      if (spilling_) {
        if (spilling_->thread.joinable()) spilling_->thread.join();
        removeIngestFile(spilling_->path);
      }
      for (auto& path : spills_) removeIngestFile(path);
    }
    kj::Maybe<std::string> get(Entity, Family, std::string_view) override { noReads(); }
    kj::Maybe<std::string> getSystem(std::string_view) override { noReads(); }
    void scan(Entity, Family, std::string_view, ScanFn, bool) override { noReads(); }
    void scanSystem(std::string_view, ScanFn) override { noReads(); }
    void scanAfter(Entity, Family, std::string_view, std::string_view, ScanFn) override {
      noReads();
    }
    void scanSystemAfter(std::string_view, std::string_view, ScanFn) override { noReads(); }
    void put(Entity e, Family f, std::string_view key, std::string_view value) override;
    void del(Entity e, Family f, std::string_view key) override;
    void merge(Entity e, Family f, std::string_view key, std::string_view operand) override;
    void putSystem(std::string_view key, std::string_view value) override;
    void delSystem(std::string_view key) override;
    size_t size() const override {
      if (batch_) return batch_->Count();
      if (filed_ > 0) return filed_;
      return entries_.size() + spilled_ + (spilling_ ? spilling_->entries.size() : 0);
    }

    // The writes in key order (two writes of one key in the order they were made). Built once; no
    // write after.
    rocksdb::WriteBatch& batch();
    // Or: the writes in files, one per family, with `others` (the transaction's other writes) of
    // the same families after them; no write after. Null, and nothing changed, when they cannot
    // be (a key with a merge and another write; an I/O error): then batch().
    kj::Maybe<std::vector<IngestFile>> files(const std::vector<Write>& others);
    void mark() { marks_.push_back(entries_.size()); }
    void rollback() {  // the bytes of the writes undone stay in the arena, unused
      KJ_REQUIRE(!marks_.empty() && !batch_);
      entries_.resize(marks_.back());
      marks_.pop_back();
    }
    void unmark() {
      KJ_REQUIRE(!marks_.empty());
      marks_.pop_back();
    }

   protected:
    // The transaction's own save points (RocksTxn) cover this part: none of its own.
    void setBatchSavePoint() override { KJ_UNIMPLEMENTED("save points on the write-only part"); }
    void rollbackBatchToSavePoint() override {
      KJ_UNIMPLEMENTED("save points on the write-only part");
    }
    void popBatchSavePoint() override { KJ_UNIMPLEMENTED("save points on the write-only part"); }

   private:
    using Op = WriteOp;
    // 32 bytes. Sorted by family, then key (its first 8 bytes as a number first), then order.
    struct Entry {
      const char* bytes;  // the key, then the value, in the arena
      uint64_t prefix;    // the key's first 8 bytes, big-endian, zero-padded
      uint32_t keyLength;
      uint32_t valueLength;
      uint32_t order;   // of writing, in the whole part
      uint16_t family;  // index in families_
      Op op;
    };
    // `entries` in that order; `familyIds` by Entry::family.
    static void sortEntries(std::vector<Entry>& entries, const std::vector<uint32_t>& familyIds);
    static Write writeOf(const Entry& entry, const std::vector<uint32_t>& familyIds) {
      return {familyIds[entry.family], std::string_view(entry.bytes, entry.keyLength),
              std::string_view(entry.bytes + entry.keyLength, entry.valueLength), entry.op};
    }
    // A piece of the arena: CHUNK bytes, or one write's bytes when it is larger.
    struct Chunk {
      std::unique_ptr<char[]> bytes;
      size_t size;
    };
    static constexpr size_t CHUNK = size_t{16} << 20;
    // An arena being sorted and written to its spill file by a thread of its own, while the
    // next writes fill a new arena (the two cores work at once; one spill at a time).
    struct Spilling {
      std::vector<Chunk> chunks;
      std::vector<Entry> entries;
      std::vector<uint32_t> familyIds;
      std::string path;
      kj::Maybe<kj::Exception> error;
      std::thread thread;
    };
    // Waits for the spill in progress, if any: its file joins spills_, or, when it could not be
    // written, its writes come back to the arena (and nothing is spilled any more).
    void finishSpill();
    void add(rocksdb::ColumnFamilyHandle* family, Op op, std::string_view key,
             std::string_view value);
    char* allocate(size_t size);
    void sort();     // entries_ as batch() and files() take them
    void release();  // the arena and the entries, once written elsewhere
    // The arena's writes, sorted, to a spill file by a thread of its own (Spilling), when no
    // save point is open (a rollback never reaches into one); on an I/O error they stay in
    // memory.
    void spill();
    // Every write of this part in order — family id, key, then the order they were made — from
    // the spill files and the arena; `fn`'s Write views are valid during the call only.
    template <typename Fn>
    void forEachWrite(Fn&& fn);
    Write write(const Entry& entry) const { return writeOf(entry, familyIds_); }
    [[noreturn]] static void noReads() {
      KJ_FAIL_REQUIRE("a read through writeOnly(): what is read back goes through the transaction");
    }
    RocksStore& store_;
    // Chunks that never move, so entries point into them (a growing string would copy itself
    // at each doubling and fault in its pages again).
    std::vector<Chunk> chunks_;
    // A finished spill's CHUNK-sized chunks and its entries' vector, reused by the next arena:
    // their pages are in memory already (new ones are faulted in page by page). Dropped once the
    // writes are read back (forEachWrite).
    std::vector<std::unique_ptr<char[]>> spareChunks_;
    std::vector<Entry> spareEntries_;
    size_t chunkLeft_ = 0;
    char* chunkNext_ = nullptr;
    size_t bytes_ = 0;
    std::vector<rocksdb::ColumnFamilyHandle*> families_;  // by Entry::family
    std::vector<uint32_t> familyIds_;                     // their ids (set by sort())
    std::vector<Entry> entries_;
    size_t filed_ = 0;                 // the writes put in files()
    size_t arenaBytes_ = 0;            // the arena's and the entries' bytes since the last spill
    std::vector<std::string> spills_;  // spill files, in the order written
    size_t spilled_ = 0;               // the writes in them
    std::unique_ptr<Spilling> spilling_;
    bool spillFailed_ = false;
    uint32_t written_ = 0;  // writes made: the next one's order
    std::vector<size_t> marks_;
    std::unique_ptr<rocksdb::WriteBatch> batch_;
  };
  kj::Own<Unindexed> unindexed_;
  std::vector<IngestFile> files_;
};

// Store::snapshot(): reads at one sequence number, released (and the purge gate opened) on
// destruction.
class RocksSnapshot final : public Reader {
 public:
  RocksSnapshot(RocksStore& store, const rocksdb::Snapshot* snapshot);
  ~RocksSnapshot();
  KJ_DISALLOW_COPY(RocksSnapshot);
  kj::Maybe<std::string> get(Entity e, Family f, std::string_view key) override;
  kj::Maybe<std::string> getSystem(std::string_view key) override;
  void scan(Entity e, Family f, std::string_view prefix, ScanFn fn, bool reverse) override;
  void scanSystem(std::string_view prefix, ScanFn fn) override;
  void scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                 ScanFn fn) override;
  void scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) override;
  const rocksdb::ReadOptions& options() const { return options_; }

 private:
  kj::Maybe<std::string> getFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  void scanFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix, ScanFn& fn,
                std::string_view after = {});
  RocksStore& store_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions options_;
};

constexpr size_t BLOCK_CACHE_BYTES = size_t{256} << 20;

class RocksStore final : public Store {
 public:
  explicit RocksStore(const std::string& dir) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.paranoid_checks = true;
    options.IncreaseParallelism(2);
    options.keep_log_file_num = 5;
    // No WAL recycling (the default, said here because erasure depends on it): a recycled WAL
    // file would keep old records' bytes after the records are flushed (SPEC §7.2).
    options.recycle_log_file_num = 0;
    // A new MANIFEST at every version change (flush, compaction), so that erasure can leave one
    // that names no deleted key (purgeOldVersions). TODO(perf): each flush or compaction
    // rewrites the list of live files (~100 bytes per SST file), a few KB to a few hundred.
    options.max_manifest_file_size = 1;
    // One block cache for every family, big enough that the index blocks of a database of
    // millions of leads and deliveries stay in it (RocksDB's default is 8 MiB: a run's random
    // duplicate lookups then read and decompress an index block per lookup).
    auto cache = rocksdb::NewLRUCache(BLOCK_CACHE_BYTES, 4, false, 0.5);  // 16 shards
    // Every memtable together about 128 MiB (past it RocksDB flushes a family's, the oldest
    // first; memtables being flushed may add to it: a soft limit, and no write stalls on it),
    // counted in the block cache's size: the two are one budget. Without it the families written
    // all day (leads, index, history, system, for both entities, 64 MiB each and one more being
    // flushed) and the cache took rdzd past a gigabyte while a run's batches went out.
    options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(size_t{128} << 20, cache);

    // Every family that exists must be opened; ours are created when missing.
    std::vector<std::string> names;
    auto listed = rocksdb::DB::ListColumnFamilies(options, dir, &names);
    if (!listed.ok()) names.clear();  // a new database: nothing to list yet
    auto want = [&](std::string name) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    };
    want(rocksdb::kDefaultColumnFamilyName);
    want(std::string(SYSTEM_FAMILY));
    for (Entity e : ALL_ENTITIES) {
      for (auto f : FAMILY_NAMES) want(fmtName(e, f));
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (auto& n : names) descriptors.emplace_back(n, familyOptions(options, cache, n));
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(options, dir, descriptors, &handles, &db), "open database");
    db_.reset(db);
    // Files a run wrote and a crash kept from being ingested: never part of the database.
    ingestDir_ = dir + "/ingest";
    resetIngestDir(ingestDir_);
    handles_.assign(handles.begin(), handles.end());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == SYSTEM_FAMILY) system_ = handles[i];
      for (Entity e : ALL_ENTITIES) {
        for (size_t f = 0; f < FAMILY_COUNT; ++f) {
          if (names[i] == fmtName(e, FAMILY_NAMES[f])) {
            families_[static_cast<size_t>(e)][f] = handles[i];
          }
        }
      }
    }
  }

  ~RocksStore() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    auto status = db_->Close();
    // Nothing to undo at this point; say it loudly. Synced writes are durable regardless.
    if (!status.ok()) KJ_LOG(ERROR, "closing the database failed", status.ToString());
  }

  static std::string fmtName(Entity e, std::string_view family) {
    return std::string(entitySlug(e)) + "." + std::string(family);
  }

  rocksdb::ColumnFamilyHandle* family(Entity e, Family f) {
    return families_[static_cast<size_t>(e)][static_cast<size_t>(f)];
  }
  rocksdb::ColumnFamilyHandle* system() { return system_; }
  rocksdb::ColumnFamilyHandle* familyById(uint32_t id) {  // null: none
    for (auto* h : handles_) {
      if (h->GetID() == id) return h;
    }
    return nullptr;
  }
  rocksdb::DB& db() { return *db_; }
  const std::string& ingestDir() const { return ingestDir_; }
  std::atomic<uint64_t>& ingestSequence() { return ingestSequence_; }

  kj::Maybe<std::string> get(Entity e, Family f, std::string_view key) override {
    return getFrom(family(e, f), key);
  }
  kj::Maybe<std::string> getSystem(std::string_view key) override { return getFrom(system_, key); }
  void scan(Entity e, Family f, std::string_view prefix, ScanFn fn, bool reverse) override {
    scanFrom(family(e, f), prefix, fn, reverse);
  }
  void scanSystem(std::string_view prefix, ScanFn fn) override {
    scanFrom(system_, prefix, fn, false);
  }
  void scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                 ScanFn fn) override {
    scanFrom(family(e, f), prefix, fn, false, after);
  }
  void scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) override {
    scanFrom(system_, prefix, fn, false, after);
  }

  kj::Own<Txn> begin() override { return kj::heap<RocksTxn>(*this); }
  kj::Own<Txn> beginAtSnapshot() override;

  void commit(Txn& txn, bool sync) override {
    txn.settle();
    auto& own = static_cast<RocksTxn&>(txn);
    KJ_REQUIRE(!own.atSnapshot(), "a transaction at a snapshot is include()d, not committed");
    rocksdb::WriteBatch* batch = own.writeBatch();
    if (txn.included() != nullptr && !static_cast<RocksTxn*>(txn.included())->files().empty()) {
      commitWithFiles(own, *static_cast<RocksTxn*>(txn.included()));
      txn.committed();
      return;
    }
    if (Txn* included = txn.included()) {
      // One atomic write: the included transaction's (large: a run's) writes — its write-only
      // ones, then the others, disjoint — then this one's (a group's), copied after them. The
      // included one is never read again.
      auto& prepared = *static_cast<RocksTxn*>(included);
      rocksdb::WriteBatch* first = prepared.writeBatch();
      rocksdb::WriteBatch* unindexed = prepared.unindexed();
      if (unindexed != nullptr && unindexed->Count() > 0) {
        appendWrites(*first, *unindexed);
        first = unindexed;
      }
      appendWrites(*batch, *first);
      batch = first;
    }
    rocksdb::WriteOptions options;
    options.sync = sync;
    check(db_->Write(options, batch), "commit");
    txn.committed();
  }

  // The included transaction's files, and one more per family the rest writes (its writes not in
  // files, then this transaction's: a run's counters applied on the writer), ingested at once:
  // one atomic change, synced (the files, then the MANIFEST), like a synced write.
  void commitWithFiles(RocksTxn& own, RocksTxn& prepared) {
    std::vector<IngestFile> files = prepared.files();
    auto inFiles = [&](uint32_t id) {
      return std::any_of(files.begin(), files.end(),
                         [&](const IngestFile& f) { return f.family->GetID() == id; });
    };
    std::vector<Write> rest;
    for (const Write& w : writesOf(*prepared.writeBatch())) {
      if (!inFiles(w.family)) rest.push_back(w);
    }
    for (const Write& w : writesOf(*own.writeBatch())) {
      // Its group holds it alone (Group::ALONE): only the run's own writes on the writer.
      KJ_REQUIRE(!inFiles(w.family), "a write committed with a run's files to a family they hold",
                 w.family);
      rest.push_back(w);
    }
    sortWrites(rest);
    IngestFiles more(*db_, ingestDir_, ingestSequence_);
    KJ_REQUIRE(addSorted(more, rest, [this](uint32_t id) { return familyById(id); }),
               "a key written with a merge and another write, committed with a run's files");
    for (auto& file : more.finish()) files.push_back(kj::mv(file));
    ingestFiles(*db_, kj::mv(files));
  }

  StoreSize size() override {
    StoreSize size;
    // Summed over every column family; a property RocksDB does not know leaves 0.
    if (!db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize,
                                       &size.liveSstBytes)) {
      size.liveSstBytes = 0;
    }
    rocksdb::VectorLogPtr wals;
    check(db_->GetSortedWalFiles(wals), "list WAL files");
    for (auto& wal : wals) size.walBytes += wal->SizeFileBytes();
    return size;
  }

  void checkpoint(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(filesMutex_);
    rocksdb::Checkpoint* raw = nullptr;
    check(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint");
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    // A log size threshold of 0 flushes the memtables first, so the copy needs no WAL replay.
    check(cp->CreateCheckpoint(dir, 0), "checkpoint");
  }

  kj::Own<Reader> snapshot() override { return openSnapshot(); }

  kj::Own<RocksSnapshot> openSnapshot() {
    {
      std::unique_lock<std::mutex> lock(gateMutex_);
      gateChanged_.wait(lock, [this] { return purges_ == 0; });
      ++snapshots_;
    }
    return kj::heap<RocksSnapshot>(*this, db_->GetSnapshot());
  }

  // Copies the writes of `from` at the end of `to`: puts, deletes and merges, the only kinds a
  // RocksTxn makes. Any other record fails the copy (RocksDB's handler refuses the kinds not
  // overridden; the count check catches one it would skip), and so the commit, before anything is
  // written.
  void appendWrites(rocksdb::WriteBatch& from, rocksdb::WriteBatch& to) {
    struct Copy final : rocksdb::WriteBatch::Handler {
      RocksStore& store;
      rocksdb::WriteBatch& to;
      Copy(RocksStore& s, rocksdb::WriteBatch& t) : store(s), to(t) {}
      rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
        auto* family = store.familyById(cf);
        if (family == nullptr) return rocksdb::Status::Corruption("unknown column family");
        return to.Put(family, key, value);
      }
      rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
        auto* family = store.familyById(cf);
        if (family == nullptr) return rocksdb::Status::Corruption("unknown column family");
        return to.Delete(family, key);
      }
      rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& key,
                              const rocksdb::Slice& value) override {
        auto* family = store.familyById(cf);
        if (family == nullptr) return rocksdb::Status::Corruption("unknown column family");
        return to.Merge(family, key, value);
      }
    } copy(*this, to);
    uint32_t before = to.Count();
    check(from.Iterate(&copy), "append a write batch");
    KJ_REQUIRE(to.Count() == before + from.Count(), "a write batch was not copied whole",
               from.Count(), to.Count() - before);
  }

  // Called by ~RocksSnapshot once its snapshot is released.
  void snapshotReleased() {
    std::lock_guard<std::mutex> lock(gateMutex_);
    --snapshots_;
    gateChanged_.notify_all();
  }

  void purgeOldVersions(const std::vector<KeyRange>& ranges) override {
    // Snapshots first (Store::snapshot): none may be open while the old versions are dropped
    // and the old files deleted, and none opens until that is done.
    {
      std::unique_lock<std::mutex> lock(gateMutex_);
      ++purges_;
      gateChanged_.wait(lock, [this] { return snapshots_ == 0; });
    }
    KJ_DEFER({
      std::lock_guard<std::mutex> lock(gateMutex_);
      --purges_;
      gateChanged_.notify_all();
    });
    std::lock_guard<std::mutex> lock(filesMutex_);
    // 0. Files written to ingest belong to a transaction at a snapshot, and none is open now: any
    //    left is a stray copy of writes, personal values included.
    resetIngestDir(ingestDir_);
    // 1. Every memtable to an SST file: then no live WAL holds a record written before, and the
    //    old WAL files are obsolete (WAL recycling is off: recycle_log_file_num = 0).
    rocksdb::FlushOptions flush;
    flush.wait = true;
    flush.allow_write_stall = true;
    check(db_->Flush(flush, handles_), "flush");
    check(db_->FlushWAL(true), "flush WAL");
    // 2. The ranges down to the bottommost level, forced: the compaction keeps only the newest
    //    version of each key and drops tombstones (no snapshot is held by rdzd across this).
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    compact.allow_write_stall = true;
    for (const KeyRange& r : ranges) {
      rocksdb::Slice first = slice(r.first), last = slice(r.last);
      check(db_->CompactRange(compact, family(r.entity, r.family), &first, &last), "compact");
    }
    // 3. The MANIFEST lists the first and last key of every SST file it ever recorded, and keys
    //    of ours hold phones (index, dedup). With max_manifest_file_size at 1 byte, every version
    //    change starts a new MANIFEST holding the state before it plus the change; so one more
    //    version change after the compaction (a flush of the system family, with a marker of
    //    when files were last purged) leaves a MANIFEST that lists only live files, and the
    //    older ones are obsolete.
    std::string now;
    keys::appendTime(now, Timestamp(std::chrono::duration_cast<Duration>(
                              std::chrono::system_clock::now().time_since_epoch())));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    check(db_->Put(sync, system_, "Xpurged", now), "purge marker");
    check(db_->Flush(flush, system_), "flush");
    // 4. The obsolete files now, not at some later background job: re-enabling file deletions
    //    makes RocksDB scan the directory and delete every file no live version needs, before
    //    returning (filesMutex_ keeps a checkpoint from holding deletions at the same time).
    check(db_->DisableFileDeletions(), "disable file deletions");
    check(db_->EnableFileDeletions(/*force=*/false), "enable file deletions");
  }

 private:
  kj::Maybe<std::string> getFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
    std::string value;
    auto status = db_->Get(rocksdb::ReadOptions(), cf, slice(key), &value);
    return found(status, kj::mv(value), "get");
  }

  void scanFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix, ScanFn& fn, bool reverse,
                std::string_view after = {}) {
    PrefixReadOptions options(rocksdb::ReadOptions(), prefix);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options.get(), cf));
    iterate(*it, prefix, fn, reverse, after);
  }

  std::mutex filesMutex_;  // purgeOldVersions and checkpoint, one at a time
  std::string ingestDir_;  // files being written to ingest (ingest-files.h)
  std::atomic<uint64_t> ingestSequence_{0};
  // The gate between snapshots and purges (Store::snapshot): open snapshots, and purges waiting
  // or running.
  std::mutex gateMutex_;
  std::condition_variable gateChanged_;
  int snapshots_ = 0;
  int purges_ = 0;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* system_ = nullptr;
  std::array<std::array<rocksdb::ColumnFamilyHandle*, FAMILY_COUNT>, 2> families_{};
};

RocksSnapshot::RocksSnapshot(RocksStore& store, const rocksdb::Snapshot* snapshot)
    : store_(store), snapshot_(snapshot) {
  options_.snapshot = snapshot_;
  options_.fill_cache = false;
}

RocksSnapshot::~RocksSnapshot() {
  store_.db().ReleaseSnapshot(snapshot_);
  store_.snapshotReleased();
}

kj::Maybe<std::string> RocksSnapshot::getFrom(rocksdb::ColumnFamilyHandle* cf,
                                              std::string_view key) {
  std::string value;
  auto status = store_.db().Get(options_, cf, slice(key), &value);
  return found(status, kj::mv(value), "get");
}

void RocksSnapshot::scanFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix, ScanFn& fn,
                             std::string_view after) {
  PrefixReadOptions options(options_, prefix);
  iterateInChunks([&] { return store_.db().NewIterator(options.get(), cf); }, prefix, fn, after);
}

kj::Maybe<std::string> RocksSnapshot::get(Entity e, Family f, std::string_view key) {
  return getFrom(store_.family(e, f), key);
}
kj::Maybe<std::string> RocksSnapshot::getSystem(std::string_view key) {
  return getFrom(store_.system(), key);
}
void RocksSnapshot::scan(Entity e, Family f, std::string_view prefix, ScanFn fn, bool reverse) {
  if (reverse) {
    // Reverse scans are short (the last key of a range): one iterator.
    PrefixReadOptions options(options_, prefix);
    std::unique_ptr<rocksdb::Iterator> it(
        store_.db().NewIterator(options.get(), store_.family(e, f)));
    iterate(*it, prefix, fn, true);
  } else {
    scanFrom(store_.family(e, f), prefix, fn);
  }
}
void RocksSnapshot::scanSystem(std::string_view prefix, ScanFn fn) {
  scanFrom(store_.system(), prefix, fn);
}
void RocksSnapshot::scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                              ScanFn fn) {
  scanFrom(store_.family(e, f), prefix, fn, after);
}
void RocksSnapshot::scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) {
  scanFrom(store_.system(), prefix, fn, after);
}

RocksTxn::RocksTxn(RocksStore& store) : store_(store) {}

RocksTxn::RocksTxn(RocksStore& store, kj::Own<RocksSnapshot> snapshot)
    : store_(store),
      snapshot_(kj::mv(snapshot)),
      readOptions_(snapshot_->options()),
      unindexed_(kj::heap<Unindexed>(store)) {  // made now: every save point covers it
  // Unlike an audit's snapshot, what this transaction reads (a run's pools and duplicate
  // entries) is read again by its own writes and soon after by the next reads: it fills the
  // block cache (consecutive leads of one block are decompressed once, not once per lead).
  readOptions_.fill_cache = true;
}

size_t RocksTxn::size() const {
  size_t own = batch_.GetWriteBatch()->Count() + (unindexed_ ? unindexed_->size() : 0);
  const Txn* with = included();
  return with == nullptr ? own : own + with->size();
}

kj::Maybe<std::string> RocksTxn::getFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  std::string value;
  // Nothing written yet (a run planning on its snapshot: a million lookups): the database alone.
  auto status = batch_.GetWriteBatch()->Count() == 0
                    ? store_.db().Get(readOptions_, cf, slice(key), &value)
                    : batch_.GetFromBatchAndDB(&store_.db(), readOptions_, cf, slice(key), &value);
  return found(status, kj::mv(value), "get");
}

void RocksTxn::scanFrom(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix, ScanFn& fn,
                        bool reverse, std::string_view after) {
  PrefixReadOptions options(readOptions_, prefix);
  std::unique_ptr<rocksdb::Iterator> base(store_.db().NewIterator(options.get(), cf));
  // Nothing written yet (a run reading its pools on its snapshot): the database alone.
  if (batch_.GetWriteBatch()->Count() == 0) return iterate(*base, prefix, fn, reverse, after);
  // The batch iterator takes ownership of the base iterator.
  std::unique_ptr<rocksdb::Iterator> it(batch_.NewIteratorWithBase(cf, base.release()));
  iterate(*it, prefix, fn, reverse, after);
}

kj::Maybe<std::string> RocksTxn::get(Entity e, Family f, std::string_view key) {
  return getFrom(store_.family(e, f), key);
}
kj::Maybe<std::string> RocksTxn::getSystem(std::string_view key) {
  return getFrom(store_.system(), key);
}
void RocksTxn::scan(Entity e, Family f, std::string_view prefix, ScanFn fn, bool reverse) {
  scanFrom(store_.family(e, f), prefix, fn, reverse);
}
void RocksTxn::scanSystem(std::string_view prefix, ScanFn fn) {
  scanFrom(store_.system(), prefix, fn, false);
}
void RocksTxn::scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                         ScanFn fn) {
  scanFrom(store_.family(e, f), prefix, fn, false, after);
}
void RocksTxn::scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) {
  scanFrom(store_.system(), prefix, fn, false, after);
}
void RocksTxn::put(Entity e, Family f, std::string_view key, std::string_view value) {
  check(batch_.Put(store_.family(e, f), slice(key), slice(value)), "put");
}
void RocksTxn::del(Entity e, Family f, std::string_view key) {
  check(batch_.Delete(store_.family(e, f), slice(key)), "delete");
}
void RocksTxn::merge(Entity e, Family f, std::string_view key, std::string_view operand) {
  check(batch_.Merge(store_.family(e, f), slice(key), slice(operand)), "merge");
}
rocksdb::WriteBatch* RocksTxn::unindexed() {
  return unindexed_.get() == nullptr ? nullptr : &unindexed_->batch();
}
Txn& RocksTxn::writeOnly() {
  if (!atSnapshot()) return *this;
  return *unindexed_;
}
void RocksTxn::finishWrites() {
  if (!unindexed_) return;
  if (unindexed_->size() > 0 && !store_.ingestDir().empty()) {
    KJ_IF_MAYBE (files, unindexed_->files(writesOf(*batch_.GetWriteBatch()))) {
      files_ = kj::mv(*files);
      // Their families' memtables flushed now, off the writer: the ingestion, which must first
      // flush a memtable holding keys of a file's range, then flushes only what came since.
      std::vector<rocksdb::ColumnFamilyHandle*> families;
      for (auto& file : files_) families.push_back(file.family);
      auto flushed = store_.db().Flush(rocksdb::FlushOptions(), families);
      if (!flushed.ok()) KJ_LOG(WARNING, "flushing before a run's commit", flushed.ToString());
      return;
    }
  }
  unindexed_->batch();
}
char* RocksTxn::Unindexed::allocate(size_t size) {
  if (size > chunkLeft_) {
    size_t length = std::max(CHUNK, size);
    std::unique_ptr<char[]> bytes;
    if (length == CHUNK && !spareChunks_.empty()) {
      bytes = kj::mv(spareChunks_.back());
      spareChunks_.pop_back();
    } else {
      bytes.reset(new char[length]);  // not zeroed: all written
    }
    chunks_.push_back({kj::mv(bytes), length});
    chunkNext_ = chunks_.back().bytes.get();
    chunkLeft_ = length;
  }
  char* out = chunkNext_;
  chunkNext_ += size;
  chunkLeft_ -= size;
  return out;
}
void RocksTxn::Unindexed::add(rocksdb::ColumnFamilyHandle* family, Op op, std::string_view key,
                              std::string_view value) {
  KJ_REQUIRE(!batch_, "a write after the transaction's writes were finished");
  KJ_REQUIRE(key.size() <= UINT32_MAX && value.size() <= UINT32_MAX && written_ < UINT32_MAX,
             "too large a write-only part");
  char* bytes = allocate(key.size() + value.size());
  // A delete's value is an empty view whose data() may be null: memcpy must not see it.
  if (!key.empty()) memcpy(bytes, key.data(), key.size());
  if (!value.empty()) memcpy(bytes + key.size(), value.data(), value.size());
  bytes_ += key.size() + value.size();
  uint64_t prefix = 0;
  for (size_t i = 0; i < 8; ++i) {
    prefix = (prefix << 8) | (i < key.size() ? static_cast<uint8_t>(key[i]) : 0);
  }
  auto known = std::find(families_.begin(), families_.end(), family);
  if (known == families_.end()) known = families_.insert(families_.end(), family);
  entries_.push_back({bytes, prefix, static_cast<uint32_t>(key.size()),
                      static_cast<uint32_t>(value.size()), written_++,
                      static_cast<uint16_t>(known - families_.begin()), op});
  arenaBytes_ += key.size() + value.size() + sizeof(Entry);
  if (arenaBytes_ >= runSpillBytes.load(std::memory_order_relaxed) && marks_.empty() &&
      !spillFailed_) {
    spill();
  }
}
void RocksTxn::Unindexed::spill() {
  finishSpill();
  if (spillFailed_) return;
  auto job = std::make_unique<Spilling>();
  job->chunks = kj::mv(chunks_);
  job->entries = kj::mv(entries_);
  for (auto* family : families_) job->familyIds.push_back(family->GetID());
  job->path =
      store_.ingestDir() + "/" + std::to_string(store_.ingestSequence().fetch_add(1)) + ".spill";
  chunks_.clear();  // moved to the job
  chunkLeft_ = 0;
  chunkNext_ = nullptr;
  entries_ = kj::mv(spareEntries_);  // empty; the capacity of the spill before, if any
  spareEntries_ = {};
  arenaBytes_ = 0;
  Spilling* spilling = job.get();
  auto work = [spilling]() {
    spilling->error = kj::runCatchingExceptions([spilling]() {
      sortEntries(spilling->entries, spilling->familyIds);
      SpillWriter out(spilling->path);
      for (const Entry& entry : spilling->entries) out.add(writeOf(entry, spilling->familyIds));
      out.finish();
    });
  };
  try {
    job->thread = std::thread(work);  // it inherits this one's priority (a run's worker is niced)
  } catch (const std::system_error& e) {
    KJ_LOG(WARNING, "no thread to spill a run's writes: spilled on this one", e.what());
    work();
  }
  spilling_ = kj::mv(job);
}
void RocksTxn::Unindexed::finishSpill() {
  if (!spilling_) return;
  if (spilling_->thread.joinable()) spilling_->thread.join();
  std::unique_ptr<Spilling> done = kj::mv(spilling_);
  KJ_IF_MAYBE (e, done->error) {
    removeIngestFile(done->path);
    KJ_LOG(WARNING, "could not spill a run's writes to a file: they stay in memory", *e);
    spillFailed_ = true;
    // Back before the arena's (their order says which of a key's writes came first); the open
    // save points' marks move with the arena's entries.
    for (auto& chunk : done->chunks) chunks_.push_back(kj::mv(chunk));
    entries_.insert(entries_.begin(), done->entries.begin(), done->entries.end());
    for (auto& mark : marks_) mark += done->entries.size();
    return;
  }
  spills_.push_back(kj::mv(done->path));
  spilled_ += done->entries.size();
  for (auto& chunk : done->chunks) {
    if (chunk.size == CHUNK) spareChunks_.push_back(kj::mv(chunk.bytes));
  }
  done->entries.clear();
  spareEntries_ = kj::mv(done->entries);
}
template <typename Fn>
void RocksTxn::Unindexed::forEachWrite(Fn&& fn) {
  finishSpill();
  spareChunks_.clear();  // no arena fills any more
  spareEntries_ = {};
  sort();
  // The sources: the spills in the order written, then the arena (index readers.size()).
  std::vector<std::unique_ptr<SpillReader>> readers;
  for (auto& path : spills_) readers.push_back(std::make_unique<SpillReader>(path));
  const size_t arena = readers.size();
  size_t next = 0;  // in entries_
  Write memory{};   // entries_[next]
  auto head = [&](size_t source) -> const Write& {
    return source == arena ? memory : readers[source]->current();
  };
  // Moves `source` to its next write; false when it has none left.
  auto advance = [&](size_t source) {
    if (source != arena) return readers[source]->next();
    if (next == entries_.size()) return false;
    memory = write(entries_[next++]);
    return true;
  };
  // A min-heap of the sources by head write; on a tie, the earliest written source first.
  auto after = [&](size_t a, size_t b) {
    if (writeBefore(head(b), head(a))) return true;
    if (writeBefore(head(a), head(b))) return false;
    return a > b;
  };
  std::vector<size_t> heap;
  for (size_t source = 0; source <= arena; ++source) {
    if (advance(source)) heap.push_back(source);
  }
  std::make_heap(heap.begin(), heap.end(), after);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), after);
    const size_t source = heap.back();
    fn(head(source));
    if (advance(source)) {
      std::push_heap(heap.begin(), heap.end(), after);
    } else {
      heap.pop_back();
    }
  }
}
void RocksTxn::Unindexed::sortEntries(std::vector<Entry>& entries,
                                      const std::vector<uint32_t>& familyIds) {
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    if (a.family != b.family) return familyIds[a.family] < familyIds[b.family];
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    int c = std::string_view(a.bytes, a.keyLength).compare(std::string_view(b.bytes, b.keyLength));
    if (c != 0) return c < 0;
    return a.order < b.order;
  });
}
void RocksTxn::Unindexed::sort() {
  familyIds_.clear();
  for (auto* family : families_) familyIds_.push_back(family->GetID());
  sortEntries(entries_, familyIds_);
}
void RocksTxn::Unindexed::release() {
  std::vector<Entry>().swap(entries_);
  chunks_.clear();
  spareChunks_.clear();
  spareEntries_ = {};
  chunkLeft_ = 0;
  chunkNext_ = nullptr;
}
rocksdb::WriteBatch& RocksTxn::Unindexed::batch() {
  if (batch_) return *batch_;
  KJ_REQUIRE(filed_ == 0, "the write-only part went to files");
  finishSpill();
  // Built aside, kept only whole: a spill that cannot be read leaves no half batch behind.
  auto batch =
      std::make_unique<rocksdb::WriteBatch>(bytes_ + 16 * (entries_.size() + spilled_) + 64);
  forEachWrite([&](const Write& w) {
    rocksdb::ColumnFamilyHandle* family = store_.familyById(w.family);
    switch (w.op) {
      case Op::PUT:
        check(batch->Put(family, slice(w.key), slice(w.value)), "put");
        break;
      case Op::DELETE:
        check(batch->Delete(family, slice(w.key)), "delete");
        break;
      case Op::MERGE:
        check(batch->Merge(family, slice(w.key), slice(w.value)), "merge");
        break;
    }
  });
  batch_ = kj::mv(batch);
  release();
  for (auto& path : spills_) removeIngestFile(path);
  spills_.clear();
  return *batch_;
}
kj::Maybe<std::vector<IngestFile>> RocksTxn::Unindexed::files(const std::vector<Write>& others) {
  KJ_REQUIRE(!batch_ && filed_ == 0, "the write-only part was written already");
  finishSpill();
  std::vector<uint32_t> ids;  // every family written, spilled or not (forEachWrite sorts)
  for (auto* family : families_) ids.push_back(family->GetID());
  std::vector<Write> mine;  // the others of those families, sorted
  for (const Write& w : others) {
    if (std::find(ids.begin(), ids.end(), w.family) != ids.end()) mine.push_back(w);
  }
  sortWrites(mine);
  std::vector<IngestFile> written;
  size_t count = 0;
  auto fileAll = [&]() -> bool {
    IngestFiles out(store_.db(), store_.ingestDir(), store_.ingestSequence());
    // One key's writes: this part's (copied: a spill reader reuses its buffers), then the
    // others' of that key.
    struct Owned {
      uint32_t family;
      std::string key, value;
      WriteOp op;
    };
    std::vector<Owned> group;
    size_t held = 0;
    std::vector<Write> views;
    size_t j = 0;  // in mine
    bool ok = true;
    rocksdb::ColumnFamilyHandle* family = nullptr;  // of the last id looked up
    auto addViews = [&]() {
      if (ok && !views.empty()) {
        if (family == nullptr || family->GetID() != views.front().family) {
          family = store_.familyById(views.front().family);
        }
        ok = out.add(family, views.data(), views.size());
      }
      views.clear();
    };
    // mine's keys before `limit` (all of them when null), a key at a time.
    auto othersBefore = [&](const Write* limit) {
      while (ok && j < mine.size() && (limit == nullptr || writeBefore(mine[j], *limit))) {
        size_t end = j + 1;
        while (end < mine.size() && mine[end].family == mine[j].family &&
               mine[end].key == mine[j].key) {
          ++end;
        }
        views.assign(mine.begin() + static_cast<ptrdiff_t>(j),
                     mine.begin() + static_cast<ptrdiff_t>(end));
        addViews();
        j = end;
      }
    };
    auto closeGroup = [&]() {
      if (held == 0) return;
      for (size_t i = 0; i < held; ++i) {
        views.push_back({group[i].family, group[i].key, group[i].value, group[i].op});
      }
      for (; j < mine.size() && mine[j].family == group[0].family && mine[j].key == group[0].key;
           ++j) {
        views.push_back(mine[j]);
      }
      addViews();
      held = 0;
    };
    forEachWrite([&](const Write& w) {
      ++count;
      if (!ok) return;
      if (held > 0 && (w.family != group[0].family || w.key != group[0].key)) closeGroup();
      if (held == 0) othersBefore(&w);
      if (group.size() == held) group.emplace_back();
      Owned& own = group[held++];
      own.family = w.family;
      own.key.assign(w.key);
      own.value.assign(w.value);
      own.op = w.op;
    });
    closeGroup();
    othersBefore(nullptr);
    if (!ok) return false;
    written = out.finish();
    return true;
  };
  bool filed = false;
  // An I/O error (a full disk) leaves the batch to try: its failure is then the commit's, as it
  // always was.
  KJ_IF_MAYBE (error, kj::runCatchingExceptions([&]() { filed = fileAll(); })) {
    KJ_LOG(WARNING, "a run's writes could not be put in files: committed as one batch", *error);
    return nullptr;
  }
  if (!filed) return nullptr;
  filed_ = count;
  release();
  for (auto& path : spills_) removeIngestFile(path);
  spills_.clear();
  return kj::mv(written);
}
void RocksTxn::Unindexed::put(Entity e, Family f, std::string_view key, std::string_view value) {
  add(store_.family(e, f), Op::PUT, key, value);
}
void RocksTxn::Unindexed::del(Entity e, Family f, std::string_view key) {
  add(store_.family(e, f), Op::DELETE, key, {});
}
void RocksTxn::Unindexed::merge(Entity e, Family f, std::string_view key,
                                std::string_view operand) {
  add(store_.family(e, f), Op::MERGE, key, operand);
}
void RocksTxn::Unindexed::putSystem(std::string_view key, std::string_view value) {
  add(store_.system(), Op::PUT, key, value);
}
void RocksTxn::Unindexed::delSystem(std::string_view key) {
  add(store_.system(), Op::DELETE, key, {});
}
void RocksTxn::putSystem(std::string_view key, std::string_view value) {
  check(batch_.Put(store_.system(), slice(key), slice(value)), "put");
}
void RocksTxn::delSystem(std::string_view key) {
  check(batch_.Delete(store_.system(), slice(key)), "delete");
}

kj::Own<Txn> RocksStore::beginAtSnapshot() { return kj::heap<RocksTxn>(*this, openSnapshot()); }

}  // namespace

void setRunSpillBytes(size_t bytes) { runSpillBytes.store(bytes, std::memory_order_relaxed); }

bool pointReadsMostlyMiss(std::string_view name) {
  auto endsWith = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return name == SYSTEM_FAMILY || endsWith(".dedup") || endsWith(".opposition");
}

rocksdb::ColumnFamilyOptions familyOptions(const rocksdb::Options& base,
                                           std::shared_ptr<rocksdb::Cache> cache,
                                           std::string_view name) {
  rocksdb::BlockBasedTableOptions table;
  // Index and filter blocks live in the block cache (memory bounded by its size, whatever the
  // data's), in its high-priority part. They are partitioned: a file's index and filter are split
  // in blocks of about 4 KiB under a small top level, pinned, so a lookup loads the one partition
  // it needs. Unpartitioned, the index or filter of a 64 MiB file is a block of a megabyte or
  // more: at ten million deliveries such blocks evicted each other, and every duplicate lookup of
  // a run read one back from the file (perf: 60 % of the planning thread copying pages).
  table.cache_index_and_filter_blocks = true;
  if (cache) table.block_cache = std::move(cache);
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Where point reads of keys that do not exist are the common case, a Bloom filter per SST file
  // answers most of them without reading a block (and one over each memtable, below, everywhere).
  if (pointReadsMostlyMiss(name)) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Every file's filter and index partitions held by its reader, not only a flushed file's: a
    // lookup then finds its partition without asking the block cache (a run's duplicate lookups
    // spent a third of their time there). Read when a file is opened (all of them at startup);
    // still counted in the block cache. At ten million deliveries ~12 MB of the dedup family's
    // filters and a few of index; an opposition list costs as much per ten million numbers.
    table.metadata_cache_options.partition_pinning = rocksdb::PinningTier::kAll;
  }
  rocksdb::ColumnFamilyOptions cfOptions(base);
  cfOptions.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cfOptions.memtable_prefix_bloom_size_ratio = 0.02;  // with no prefix extractor: whole keys
  cfOptions.memtable_whole_key_filtering = true;
  // A group commit inserts, lead after lead, keys of several kinds into one family's memtable:
  // in `index` a status key (time-ordered) then a phone key (anywhere), in `system` an
  // idempotency record (anywhere) then its expiry entry (time-ordered). The memtable keeps
  // an insert position per first byte of the key, so the time-ordered kinds insert next to
  // their previous key instead of searching the skip list from the top each time.
  cfOptions.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
  // A run's changes of a lead's state are merged into its record (lead-state.h).
  if (name.ends_with(".leads")) cfOptions.merge_operator = leadStateMergeOperator();
  return cfOptions;
}

std::string_view familyName(Family f) { return FAMILY_NAMES[static_cast<size_t>(f)]; }

void Txn::setSavePoint() {
  setBatchSavePoint();
  savePoints_.push_back({afterCommit_.size(), deferred_.get() == nullptr ? 0 : deferred_->size(),
                         settled_, sealed()});
}

void Txn::rollbackToSavePoint() {
  KJ_REQUIRE(!savePoints_.empty(), "no save point to roll back to");
  rollbackBatchToSavePoint();
  const SavePoint& point = savePoints_.back();
  afterCommit_.erase(afterCommit_.begin() + static_cast<ptrdiff_t>(point.afterCommit),
                     afterCommit_.end());
  if (deferred_.get() != nullptr) deferred_->truncate(point.deferred);
  settled_ = point.settled;
  if (!point.sealed) included_ = nullptr;
  savePoints_.pop_back();
}

void Txn::popSavePoint() {
  KJ_REQUIRE(!savePoints_.empty(), "no save point to pop");
  popBatchSavePoint();
  savePoints_.pop_back();
}

void Txn::afterCommit(kj::Function<void()> fn) { afterCommit_.push_back(kj::mv(fn)); }

Txn::Deferred& Txn::deferred(kj::FunctionParam<std::unique_ptr<Deferred>()> make) {
  if (deferred_.get() == nullptr) deferred_ = make();
  return *deferred_;
}

void Txn::settle() {
  if (deferred_.get() == nullptr) return;
  size_t size = deferred_->size();
  if (settled_ == size) return;
  deferred_->write(*this, settled_);
  settled_ = size;
}

Txn::~Txn() noexcept {}

void Txn::include(kj::Own<Txn> prepared) {
  KJ_REQUIRE(!sealed(), "a transaction includes one other at most");
  KJ_REQUIRE(prepared->savePoints_.empty() && prepared->deferred_.get() == nullptr,
             "an included transaction has no open save point and nothing deferred");
  for (auto& fn : prepared->afterCommit_) afterCommit_.push_back(kj::mv(fn));
  prepared->afterCommit_.clear();
  included_ = kj::mv(prepared);
}

void Txn::committed() {
  auto callbacks = kj::mv(afterCommit_);
  afterCommit_.clear();
  savePoints_.clear();
  for (auto& fn : callbacks) fn();
}

std::unique_ptr<Store> Store::open(const std::string& dir) {
  return std::make_unique<RocksStore>(dir);
}

}  // namespace rdz
