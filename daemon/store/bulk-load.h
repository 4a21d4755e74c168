// Filling a database fast, for benchmarks only (rdz-bench run): rdzd never uses this.
//
// The records are written by the ordinary record functions (records.h, stats.h) into the Txn
// that txn() returns, so they are exactly the records and index entries rdzd writes — an index
// added to putLead is loaded with the rest. That Txn does not write to RocksDB: the writes are
// buffered per column family and first two key bytes (a stream), sorted (a key written twice
// keeps its last value) and written as SST files (rocksdb::SstFileWriter) on a thread of the
// loader's own; finish() merges the files of a stream whose key ranges overlap (a stream written
// out of key order, e.g. by phone) into one sorted run, and ingests every file
// (IngestExternalFile, moved into the database), so the loaded data lands in the bottommost
// level with no WAL, memtable or compaction. Writing in key order where it is cheap (ids in time
// order) saves the merge.
//
// What it cannot do: read (every read throws: a loader knows what it writes), delete, roll back
// to a save point. Nothing is visible in the database before finish(), and nothing is synced
// until then (a crash mid-load leaves the database as it was, plus temporary files).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "daemon/store/store.h"

namespace rdz {

struct BulkLoadFigures {
  uint64_t entries = 0;      // writes received (a key written twice counts twice)
  uint64_t bytes = 0;        // keys and values, as written
  uint32_t files = 0;        // SST files ingested
  uint32_t mergedFamilies = 0;  // column families with a stream whose files overlapped (merged)
};

class BulkLoad {
 public:
  // `dbDir`: a database made by Store::open and closed since; no Store may open it until
  // finish() returns. Temporary files go to DB_DIR.bulk-load.tmp (same file system, so ingestion
  // moves them). `chunkBytes`: what one stream buffers before it is sorted into a file (memory:
  // up to this per stream written, plus two chunks queued for the writing thread).
  explicit BulkLoad(const std::string& dbDir, size_t chunkBytes = size_t{64} << 20);
  // Without finish(): the temporary files are deleted and the database is left untouched.
  ~BulkLoad();
  BulkLoad(const BulkLoad&) = delete;
  BulkLoad& operator=(const BulkLoad&) = delete;

  // The writes of the load. One thread at a time; valid until finish().
  Txn& txn();
  // Writes what is buffered, merges overlapping files, ingests them all into the database
  // (synced), then runs the txn's afterCommit() callbacks. Throws on a RocksDB failure.
  BulkLoadFigures finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rdz
