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
  std::stable_sort(writes.begin(), writes.end(), writeBefore);
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

namespace {

constexpr size_t SPILL_BUFFER = size_t{1} << 20;

// A record: family id, key length, value length (3 × 4 bytes, host order: the file never leaves
// the process that wrote it), the op (1 byte), then the key and the value.
constexpr size_t SPILL_HEADER = 13;

FILE* openSpill(const std::string& path, const char* mode) {
  FILE* file = ::fopen(path.c_str(), mode);
  if (file == nullptr) {
    KJ_FAIL_SYSCALL("open a spill file", errno, path);
  }
  ::setvbuf(file, nullptr, _IOFBF, SPILL_BUFFER);
  return file;
}

}  // namespace

SpillWriter::SpillWriter(std::string path) : path_(kj::mv(path)), file_(openSpill(path_, "wbe")) {}

SpillWriter::~SpillWriter() {
  if (file_ != nullptr) ::fclose(file_);
}

void SpillWriter::add(const Write& write) {
  KJ_REQUIRE(write.key.size() <= UINT32_MAX && write.value.size() <= UINT32_MAX);
  uint8_t header[SPILL_HEADER];
  uint32_t lengths[3] = {write.family, static_cast<uint32_t>(write.key.size()),
                         static_cast<uint32_t>(write.value.size())};
  std::memcpy(header, lengths, sizeof lengths);
  header[12] = static_cast<uint8_t>(write.op);
  // One thread per file: the stream's lock is not needed.
  ::fwrite_unlocked(header, 1, SPILL_HEADER, file_);
  ::fwrite_unlocked(write.key.data(), 1, write.key.size(), file_);
  ::fwrite_unlocked(write.value.data(), 1, write.value.size(), file_);
}

void SpillWriter::finish() {
  bool failed = ::ferror(file_) != 0;
  failed = ::fclose(file_) != 0 || failed;
  file_ = nullptr;
  KJ_REQUIRE(!failed, "could not write a spill file", path_);
}

SpillReader::SpillReader(const std::string& path) : path_(path), file_(openSpill(path, "rbe")) {}

SpillReader::~SpillReader() { ::fclose(file_); }

bool SpillReader::next() {
  uint8_t header[SPILL_HEADER];
  size_t got = ::fread_unlocked(header, 1, SPILL_HEADER, file_);
  if (got == 0 && ::feof_unlocked(file_)) return false;
  KJ_REQUIRE(got == SPILL_HEADER, "a spill file cut short", path_);
  uint32_t lengths[3];
  std::memcpy(lengths, header, sizeof lengths);
  key_.resize(lengths[1]);
  value_.resize(lengths[2]);
  KJ_REQUIRE(::fread_unlocked(key_.data(), 1, key_.size(), file_) == key_.size() &&
                 ::fread_unlocked(value_.data(), 1, value_.size(), file_) == value_.size(),
             "a spill file cut short", path_);
  KJ_REQUIRE(header[12] <= static_cast<uint8_t>(WriteOp::MERGE), "a spill file damaged", path_);
  current_ = {lengths[0], key_, value_, static_cast<WriteOp>(header[12])};
  return true;
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
