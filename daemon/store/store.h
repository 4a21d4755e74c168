// The RocksDB store (SPEC §10). Synchronous; hides rocksdb/ behind this interface and turns
// rocksdb::Status into kj exceptions in one place.
//
// Column families: "system" plus, per entity, "<slug>.<kind>" for each Family below. A caller
// names the entity on every access; the service derives it from the authenticated token or the
// record itself, never from a default, so one entity's code cannot read the other's by accident.
//
// Thread safety: Store is safe to use from any thread. A Txn belongs to one thread at a time.
#pragma once

#include <kj/function.h>
#include <kj/memory.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

enum class Family : uint8_t {
  LEADS,
  INDEX,
  HISTORY,
  CLIENTS,
  COMMANDES,
  PRODUITS,
  DELIVERIES,
  DEDUP,
  QUOTAS,
  BATCHES,
  OPPOSITION,  // SPEC §7.2: keyed hashes of opposed phones
  STATS,       // SPEC §7.3: daily counters (daemon/store/stats.h)
};
constexpr size_t FAMILY_COUNT = 12;
std::string_view familyName(Family f);  // "leads", "index", …

using ScanFn = kj::FunctionParam<bool(std::string_view key, std::string_view value)>;

// Read access, either to the committed database or through a pending transaction.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual kj::Maybe<std::string> get(Entity e, Family f, std::string_view key) = 0;
  virtual kj::Maybe<std::string> getSystem(std::string_view key) = 0;
  // Visits the keys that start with `prefix`, in key order (or reverse order), until `fn`
  // returns false.
  virtual void scan(Entity e, Family f, std::string_view prefix, ScanFn fn,
                    bool reverse = false) = 0;
  virtual void scanSystem(std::string_view prefix, ScanFn fn) = 0;
  // The keys that start with `prefix` and sort after `after`, in key order, until `fn` returns
  // false: one page of a listing starts where the previous one ended, without reading it again.
  virtual void scanAfter(Entity e, Family f, std::string_view prefix, std::string_view after,
                         ScanFn fn) = 0;
  virtual void scanSystemAfter(std::string_view prefix, std::string_view after, ScanFn fn) = 0;
};

// A pending atomic write. Its reads see the committed database plus its own writes. Nothing is
// visible to others until Store::commit().
class Txn : public Reader {
 public:
  ~Txn() noexcept override;
  virtual void put(Entity e, Family f, std::string_view key, std::string_view value) = 0;
  virtual void del(Entity e, Family f, std::string_view key) = 0;
  // Adds `operand` to the record at `key` of a family whose records take changes (the leads:
  // lead-state.h); reads see the record with its changes applied, in order.
  virtual void merge(Entity e, Family f, std::string_view key, std::string_view operand) = 0;
  virtual void putSystem(std::string_view key, std::string_view value) = 0;
  virtual void delSystem(std::string_view key) = 0;
  virtual size_t size() const = 0;  // number of writes

  // Where to make writes this transaction never reads back (a run's deliveries, history, lead
  // changes: millions at a million leads). Through it, a transaction may skip indexing them for
  // its own reads: its reads may not see them, and its reads throw. They are committed with the
  // rest, atomically; their keys must be none the transaction writes otherwise. A transaction
  // made by Store::beginAtSnapshot() does skip (a RocksDB WriteBatchWithIndex costs a skip-list
  // insert per write: two fifths of writing a run); the others return themselves. Only its put,
  // del and merge are meant: what is registered on it with afterCommit() or deferred() is never
  // run (register those on the transaction itself).
  virtual Txn& writeOnly() { return *this; }
  // No more writes will be made: a transaction at a snapshot puts its write-only ones in the order
  // the commit wants now, on the calling thread (else its committer does, on the writer).
  virtual void finishWrites() {}

  // Nested undo points, so one failed job does not spoil a shared group commit. A rollback also
  // forgets the afterCommit() callbacks registered since its save point.
  void setSavePoint();
  void rollbackToSavePoint();
  void popSavePoint();

  // Runs `fn` once this transaction is committed (synced, when the commit asked for it), on the
  // committing thread, in registration order: never when the commit fails, nor when a rollback
  // undoes the part of the transaction that registered it. For what must follow only a write
  // that really happened outside the database (the metrics). `fn` must not throw.
  void afterCommit(kj::Function<void()> fn);
  // For committers: runs the afterCommit() callbacks and forgets them. Store::commit() calls it
  // once the write succeeded; a committer that skips an empty transaction calls it itself.
  void committed();

  // Writes a transaction puts off: increments that many jobs of one group commit make to the same
  // few rows (the day's stats counters), written when the transaction settles, one read and one
  // write per row instead of one per job. The layer that owns those rows defines them
  // (daemon/store/stats.c++) and reads them only after settle(). A rollback to a save point
  // forgets the increments added since, and undoes a settle() made since (its writes are undone
  // with the batch's, so what it wrote is deferred again).
  class Deferred {
   public:
    virtual ~Deferred() = default;
    virtual size_t size() const = 0;  // increments added so far
    virtual void truncate(size_t size) = 0;
    // Writes the increments [from, size()) into `txn`.
    virtual void write(Txn& txn, size_t from) = 0;
  };
  // The transaction's Deferred, made by `make` on first use (one kind per transaction).
  Deferred& deferred(kj::FunctionParam<std::unique_ptr<Deferred>()> make);
  // Writes what is deferred and not written yet. Store::commit() does it before writing; a
  // committer that checks size() first calls it before that. Throws what the writes throw.
  void settle();

  // Takes `prepared` (made by Store::beginAtSnapshot(), on another thread, and done with) into
  // this transaction: its writes are committed in the same atomic write as this one's, before
  // them, and its afterCommit() callbacks run after this one's. This transaction's reads do not
  // see them, so it is sealed from then on: its committer commits it without running more work
  // in it (the WriteQueue ends the group). A rollback to a save point set before undoes it.
  void include(kj::Own<Txn> prepared);
  bool sealed() const { return included_.get() != nullptr; }
  Txn* included() { return included_.get(); }
  const Txn* included() const { return included_.get(); }

 protected:
  virtual void setBatchSavePoint() = 0;
  virtual void rollbackBatchToSavePoint() = 0;
  virtual void popBatchSavePoint() = 0;

 private:
  struct SavePoint {
    size_t afterCommit;  // afterCommit_.size()
    size_t deferred;     // deferred_->size()
    size_t settled;      // settled_
    bool sealed;         // sealed()
  };
  std::vector<kj::Function<void()>> afterCommit_;
  std::vector<SavePoint> savePoints_;  // one per open save point
  std::unique_ptr<Deferred> deferred_;
  size_t settled_ = 0;  // deferred increments already written into the batch
  kj::Own<Txn> included_;
};

// The database's size on disk, from RocksDB's own accounting (no scan of the data).
struct StoreSize {
  uint64_t liveSstBytes = 0;  // SST files of the current version, every column family
  uint64_t walBytes = 0;      // WAL files still kept (live and archived)
};

// A key range of one family, both ends included.
struct KeyRange {
  Entity entity;
  Family family;
  std::string first;
  std::string last;
};

// How many bytes of a transaction at a snapshot's write-only part (Txn::writeOnly) stay in
// memory before they are sorted and spilled to a file under the database directory; the whole
// part is read back in order by finishWrites(). 64 MiB by default; tests set it low.
void setRunSpillBytes(size_t bytes);

class Store : public Reader {
 public:
  // Opens (creating it and any missing column family) the database in `dir`.
  static std::unique_ptr<Store> open(const std::string& dir);
  virtual kj::Own<Txn> begin() = 0;
  // A transaction whose reads see a snapshot() (the same rules: it waits while a purge runs, and
  // holds the snapshot until destroyed) plus its own writes: work prepared off the writer on one
  // consistent state, then include()d in a writer's transaction. Never committed on its own.
  virtual kj::Own<Txn> beginAtSnapshot() = 0;
  // Applies every write of `txn` atomically (its deferred ones settled first). With `sync`,
  // returns only once the WAL is synced to disk. Throws on failure; then nothing of `txn` was
  // applied.
  virtual void commit(Txn& txn, bool sync = true) = 0;
  // Cheap (properties and the WAL file list, no data read): fit for the event loop.
  virtual StoreSize size() = 0;
  // A consistent online copy of the database in `dir` (which must not exist yet).
  virtual void checkpoint(const std::string& dir) = 0;
  // A read-only view of the committed database as it is now, across every family, until the
  // returned Reader is destroyed: for long reads on a worker thread (the audit) that must see
  // one state while writes go on. Scans through it do not fill the block cache (they would
  // evict what ingestion and runs use) and re-create their iterator every few thousand keys
  // (a long-lived iterator pins memtables and files).
  //
  // An open snapshot keeps the versions it sees from compactions, and its iterators keep the
  // files they read: a snapshot open across purgeOldVersions would leave an erased person's
  // values in the files. So the two exclude each other: purgeOldVersions waits until every
  // open snapshot is released, and snapshot() waits while a purge is waiting or running (a
  // purge is never starved by a stream of audits). Blocks: call it from a worker thread.
  // The Reader may be used from one thread at a time.
  virtual kj::Own<Reader> snapshot() = 0;
  // Makes the values overwritten or deleted in `ranges` unrecoverable from the database's files
  // (SPEC §7.2): flushes every memtable (so the WAL files holding them become obsolete),
  // compacts the ranges down to the bottommost level (forced, dropping old versions and
  // tombstones), and deletes the obsolete SST and WAL files before it returns. Slow (it rewrites
  // files): call it from a worker thread, never the event loop or the writer. An iterator or
  // snapshot open meanwhile keeps the versions it sees: it first waits for every snapshot()
  // to be released (an audit, seconds), and rdzd's other reads are short. Runs one at a
  // time, and never during a checkpoint.
  virtual void purgeOldVersions(const std::vector<KeyRange>& ranges) = 0;
};

}  // namespace rdz
