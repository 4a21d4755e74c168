#include "daemon/store/ingest-files.h"

#include <fcntl.h>
#include <kj/debug.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/store/rocks-status.h"

namespace rdz {

std::vector<Write> writesOf(const rocksdb::WriteBatch& batch) {
  struct Collect final : rocksdb::WriteBatch::Handler {
    std::vector<Write> out;
    rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      out.push_back({cf, view(key), view(value), WriteOp::PUT});
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
      out.push_back({cf, view(key), {}, WriteOp::DELETE});
      return rocksdb::Status::OK();
    }
    rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
      out.push_back({cf, view(key), view(value), WriteOp::MERGE});
      return rocksdb::Status::OK();
    }
  } collect;
  collect.out.reserve(batch.Count());
  // RocksDB's handler refuses the kinds not overridden; the count catches one it would skip.
  check(batch.Iterate(&collect), "read a write batch");
  KJ_REQUIRE(collect.out.size() == batch.Count(), "a write batch was not read whole", batch.Count(),
             collect.out.size());
  return kj::mv(collect.out);
}

void sortWrites(std::vector<Write>& writes) {
  std::stable_sort(writes.begin(), writes.end(), [](const Write& a, const Write& b) {
    if (a.family != b.family) return a.family < b.family;
    return a.key < b.key;
  });
}

IngestFiles::IngestFiles(rocksdb::DB& db, std::string dir, std::atomic<uint64_t>& sequence)
    : db_(db), dir_(kj::mv(dir)), sequence_(sequence) {}

IngestFiles::~IngestFiles() {
  writer_.reset();
  if (finished_) return;
  for (auto& file : files_) removeIngestFile(file.path);
}

bool IngestFiles::add(rocksdb::ColumnFamilyHandle* family, const Write* writes, size_t count) {
  KJ_REQUIRE(count > 0 && !finished_);
  const Write* entry = &writes[count - 1];
  if (count > 1) {
    for (size_t i = 0; i < count; ++i) {
      if (writes[i].op == WriteOp::MERGE) return false;
    }
  }
  if (family != open_) {
    close();
    rocksdb::Options options(db_.GetDBOptions(), db_.GetOptions(family));
    writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, family);
    std::string path = dir_ + "/" + std::to_string(sequence_.fetch_add(1)) + ".sst";
    files_.push_back({family, path});
    open_ = family;
    check(writer_->Open(path), "open a file to ingest");
  }
  rocksdb::Slice key = slice(entry->key);
  switch (entry->op) {
    case WriteOp::PUT:
      check(writer_->Put(key, slice(entry->value)), "write a file to ingest");
      break;
    case WriteOp::DELETE:
      check(writer_->Delete(key), "write a file to ingest");
      break;
    case WriteOp::MERGE:
      check(writer_->Merge(key, slice(entry->value)), "write a file to ingest");
      break;
  }
  return true;
}

void IngestFiles::close() {
  if (!writer_) return;
  check(writer_->Finish(), "finish a file to ingest");
  writer_.reset();
  // Synced here whatever RocksDB does: once ingested, the file is the only copy of its writes.
  int fd;
  KJ_SYSCALL(fd = ::open(files_.back().path.c_str(), O_RDONLY | O_CLOEXEC), "open a file to ingest",
             files_.back().path);
  KJ_DEFER(::close(fd));
  KJ_SYSCALL(::fdatasync(fd), "sync a file to ingest", files_.back().path);
}

std::vector<IngestFile> IngestFiles::finish() {
  close();
  finished_ = true;
  return kj::mv(files_);
}

void ingestFiles(rocksdb::DB& db, std::vector<IngestFile> files) {
  KJ_DEFER({
    for (auto& file : files) removeIngestFile(file.path);  // linked into the database, or failed
  });
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (auto& file : files) {
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = file.family;
    arg.external_files = {file.path};
    arg.options.move_files = true;            // a hard link, no copy
    arg.options.snapshot_consistency = true;  // a snapshot taken before does not see them
    arg.options.allow_global_seqno = true;    // newer than everything written before
    arg.options.allow_blocking_flush = true;  // a memtable holding keys of their range first
    args.push_back(kj::mv(arg));
  }
  if (!args.empty()) check(db.IngestExternalFiles(args), "ingest the files");
}

void removeIngestFile(const std::string& path) {
  // Gone already (RocksDB removes the name it moved) is fine; a name left would keep the file's
  // bytes (personal values) after an erasure: said loudly, and Store::purgeOldVersions empties
  // the directory anyway.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    KJ_LOG(ERROR, "could not remove a file written to ingest", path, strerror(errno));
  }
}

void resetIngestDir(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  for (auto& entry : fs::directory_iterator(dir)) fs::remove_all(entry.path());
}

}  // namespace rdz
