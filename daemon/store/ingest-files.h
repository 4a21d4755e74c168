// Writes committed as SST files instead of through the WAL and the memtables: a run's hundreds of
// thousands of writes are put in files, sorted, off the writer (RocksTxn::finishWrites), and the
// writer's commit hands RocksDB every file at once (DB::IngestExternalFiles: one atomic change of
// the database, recorded in the synced MANIFEST; the files are synced before). At a million leads
// that replaced a synced write of ~450 MB and the memtable inserts of ~5 million keys (seconds of
// the writer, every ingestion waiting behind it) by linking a few files.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rdz {

enum class WriteOp : uint8_t { PUT, DELETE, MERGE };

// One write: its column family (by id), key and value viewing bytes kept elsewhere.
struct Write {
  uint32_t family;
  std::string_view key;
  std::string_view value;
  WriteOp op;
};

// The writes of `batch`, in the order they were made, viewing its bytes: puts, deletes and
// merges (the only kinds a transaction of ours makes); any other record throws.
std::vector<Write> writesOf(const rocksdb::WriteBatch& batch);

// The order of SST files and of their ingestion: by family id, then key (bytewise).
inline bool writeBefore(const Write& a, const Write& b) {
  return a.family != b.family ? a.family < b.family : a.key < b.key;
}

// Sorts `writes` by writeBefore; a key's writes stay in the order they were made.
void sortWrites(std::vector<Write>& writes);

// A file written for one column family.
struct IngestFile {
  rocksdb::ColumnFamilyHandle* family;
  std::string path;
};

// SST files being written in `dir`, one per column family, fed in family then key order. One
// entry per key: the last of its writes when they are puts and deletes; a merge is taken only as
// its key's one write (folding it into a put would need the merge operator here). The files not
// handed over by finish() are removed on destruction.
class IngestFiles {
 public:
  IngestFiles(rocksdb::DB& db, std::string dir, std::atomic<uint64_t>& sequence);
  ~IngestFiles();
  IngestFiles(const IngestFiles&) = delete;
  IngestFiles& operator=(const IngestFiles&) = delete;

  // The writes of one key, in the order made (family ids increasing, keys increasing within one
  // family, from one call to the next). False, adding nothing: they cannot be one entry.
  bool add(rocksdb::ColumnFamilyHandle* family, const Write* writes, size_t count);
  // Finishes and syncs every file (throws on an I/O error).
  std::vector<IngestFile> finish();

 private:
  void close();
  rocksdb::DB& db_;
  std::string dir_;
  std::atomic<uint64_t>& sequence_;
  std::vector<IngestFile> files_;
  rocksdb::ColumnFamilyHandle* open_ = nullptr;  // the family of files_.back() being written
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  bool finished_ = false;
};

// Feeds `writes` (sorted by sortWrites) to `files`, a key's writes at a time, each family's
// through `familyOf(id)`. False as soon as add() is.
template <typename FamilyOf>
bool addSorted(IngestFiles& files, const std::vector<Write>& writes, FamilyOf familyOf) {
  for (size_t i = 0; i < writes.size();) {
    size_t end = i + 1;
    while (end < writes.size() && writes[end].family == writes[i].family &&
           writes[end].key == writes[i].key) {
      ++end;
    }
    if (!files.add(familyOf(writes[i].family), &writes[i], end - i)) return false;
    i = end;
  }
  return true;
}

// Sorted writes spilled to a file, so that a transaction of millions of writes keeps a bounded
// part of them in memory (RocksTxn's write-only part), read back in the same order. Not synced:
// read back before the commit and removed with the transaction (or at the next start).
class SpillWriter {
 public:
  explicit SpillWriter(std::string path);
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;
  void add(const Write& write);
  void finish();  // throws on an I/O error

 private:
  std::string path_;
  FILE* file_;
};
class SpillReader {
 public:
  explicit SpillReader(const std::string& path);
  ~SpillReader();
  SpillReader(const SpillReader&) = delete;
  SpillReader& operator=(const SpillReader&) = delete;
  // The next write (false at the end); current() views it until the next call.
  bool next();
  const Write& current() const { return current_; }

 private:
  std::string path_;
  FILE* file_;
  std::string key_, value_;
  Write current_{};
};

// Ingests every file (one per family) in one atomic step, synced; then removes the paths.
void ingestFiles(rocksdb::DB& db, std::vector<IngestFile> files);

// Removes a file written to ingest (ENOENT is fine: ingested files' names may be gone).
void removeIngestFile(const std::string& path);

// Removes every file of `dir`, creating it when missing: at startup (what a crash left there), and
// before an erasure's purge (no transaction that owns such files is open then).
void resetIngestDir(const std::string& dir);

}  // namespace rdz
