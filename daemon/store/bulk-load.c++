#include "daemon/store/bulk-load.h"

#include <kj/debug.h>
#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/store/rocks-options.h"
#include "daemon/store/rocks-status.h"

namespace rdz {

namespace {

void checkLoad(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) {
    kj::throwFatalException(KJ_EXCEPTION(FAILED, "bulk load failed", what, status.ToString()));
  }
}

// Every entity family (entity-major, as Family is numbered), then the system family. The names
// are the column families Store::open creates.
constexpr size_t SLOTS = 2 * FAMILY_COUNT + 1;
constexpr size_t SYSTEM_SLOT = 2 * FAMILY_COUNT;

std::string slotName(size_t slot) {
  if (slot == SYSTEM_SLOT) return "system";
  return std::string(entitySlug(ALL_ENTITIES[slot / FAMILY_COUNT])) + "." +
         std::string(familyName(static_cast<Family>(slot % FAMILY_COUNT)));
}

// A merged file is cut once it passes this size on disk: RocksDB's own compactions make files of
// about this size (target_file_size_base), and a lookup reads the index block of the file it
// falls in (its size grows with the file), so a database of bigger files would not read like
// rdzd's.
constexpr uint64_t MERGED_FILE_BYTES = uint64_t{64} << 20;

// Keys of a family are buffered by their first STREAM_PREFIX bytes (a stream): a loader writing
// in time order makes most streams sorted already (ids, 'S' statut recu_le id, 'D' id, 'L' lead
// id…), and the files of a sorted stream never overlap, so only the streams written out of order
// (phones) are merged. Files of different streams never overlap.
constexpr size_t STREAM_PREFIX = 2;

std::string_view streamOf(std::string_view key) { return key.substr(0, STREAM_PREFIX); }

// The writes of one stream of a family since its last chunk, in write order.
struct Chunk {
  struct Entry {
    uint64_t at;
    uint32_t keySize;
    uint32_t valueSize;
  };
  size_t slot = 0;
  std::string stream;
  uint64_t seq = 0;  // chunks of a stream in write order: a later one wins on an equal key
  std::string arena;
  std::vector<Entry> entries;

  std::string_view key(const Entry& e) const { return {arena.data() + e.at, e.keySize}; }
  std::string_view value(const Entry& e) const {
    return {arena.data() + e.at + e.keySize, e.valueSize};
  }
};

struct SstFile {
  std::string path;
  std::string smallest;
  std::string largest;
  uint64_t seq = 0;
};

}  // namespace

class BulkLoad::Impl final : public Txn {
 public:
  Impl(const std::string& dbDir, size_t chunkBytes)
      : dbDir_(dbDir), tmpDir_(dbDir + ".bulk-load.tmp"), chunkBytes_(chunkBytes) {
    KJ_REQUIRE(std::filesystem::exists(dbDir_ + "/CURRENT"), "not a database", dbDir_);
    std::filesystem::remove_all(tmpDir_);
    std::filesystem::create_directories(tmpDir_);
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "rdz-bulk-sst");
      writeChunks();
    });
  }

  ~Impl() {
    stopWriter();
    std::error_code ignored;  // best effort: nothing depends on the temporary files
    std::filesystem::remove_all(tmpDir_, ignored);
  }

  // ---- Txn ----------------------------------------------------------------------------------
  kj::Maybe<std::string> get(Entity, Family, std::string_view) override { noReads(); }
  kj::Maybe<std::string> getSystem(std::string_view) override { noReads(); }
  void scan(Entity, Family, std::string_view, ScanFn, bool) override { noReads(); }
  void scanSystem(std::string_view, ScanFn) override { noReads(); }
  void scanAfter(Entity, Family, std::string_view, std::string_view, ScanFn) override { noReads(); }
  void scanSystemAfter(std::string_view, std::string_view, ScanFn) override { noReads(); }
  void put(Entity e, Family f, std::string_view key, std::string_view value) override {
    add(static_cast<size_t>(e) * FAMILY_COUNT + static_cast<size_t>(f), key, value);
  }
  void putSystem(std::string_view key, std::string_view value) override {
    add(SYSTEM_SLOT, key, value);
  }
  void del(Entity, Family, std::string_view) override {
    KJ_FAIL_REQUIRE("a bulk load only writes new records (no delete)");
  }
  void delSystem(std::string_view) override {
    KJ_FAIL_REQUIRE("a bulk load only writes new records (no delete)");
  }
  void merge(Entity, Family, std::string_view, std::string_view) override {
    KJ_FAIL_REQUIRE("a bulk load only writes whole new records (no merge)");
  }
  size_t size() const override { return figures_.entries; }

  BulkLoadFigures finish() {
    KJ_REQUIRE(!finished_, "finish() was called already");
    finished_ = true;
    for (auto& streams : open_) {
      for (auto& chunk : streams) {
        if (!chunk->entries.empty()) submit(kj::mv(chunk));
      }
      streams.clear();
    }
    stopWriter();
    rethrowWriterError();

    // Streams whose files overlap are merged, two at a time.
    std::vector<std::pair<size_t, std::vector<SstFile>*>> toMerge;  // slot, files
    std::set<size_t> mergedSlots;
    for (auto& [stream, files] : files_) {
      std::sort(files.begin(), files.end(),
                [](const SstFile& a, const SstFile& b) { return a.smallest < b.smallest; });
      for (size_t i = 1; i < files.size(); ++i) {
        if (files[i].smallest <= files[i - 1].largest) {
          toMerge.push_back({stream.first, &files});
          mergedSlots.insert(stream.first);
          break;
        }
      }
    }
    figures_.mergedFamilies = static_cast<uint32_t>(mergedSlots.size());
    std::atomic<size_t> next{0};
    std::vector<std::exception_ptr> errors(toMerge.size());
    auto mergeSome = [&] {
      for (size_t i = next++; i < toMerge.size(); i = next++) {
        try {
          *toMerge[i].second = merge(toMerge[i].first, *toMerge[i].second);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    std::thread helper(mergeSome);
    mergeSome();
    helper.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }

    ingest();
    committed();
    return figures_;
  }

 private:
  [[noreturn]] static void noReads() {
    KJ_FAIL_REQUIRE("a bulk load cannot read: the loader computes what it writes");
  }

  void setBatchSavePoint() override { KJ_FAIL_REQUIRE("a bulk load has no save points"); }
  void rollbackBatchToSavePoint() override { KJ_FAIL_REQUIRE("a bulk load has no save points"); }
  void popBatchSavePoint() override { KJ_FAIL_REQUIRE("a bulk load has no save points"); }

  void add(size_t slot, std::string_view key, std::string_view value) {
    KJ_REQUIRE(!finished_, "the bulk load is finished");
    auto& streams = open_[slot];  // a few per family: a linear search
    auto at = std::find_if(streams.begin(), streams.end(),
                           [&](const auto& c) { return c->stream == streamOf(key); });
    if (at == streams.end()) {
      streams.push_back(std::make_unique<Chunk>());
      at = streams.end() - 1;
      (*at)->slot = slot;
      (*at)->stream = streamOf(key);
    }
    auto& chunk = *at;
    if (chunk->arena.empty()) {
      chunk->seq = nextSeq_++;
      chunk->arena.reserve(chunkBytes_ + (size_t{1} << 20));
    }
    chunk->entries.push_back({chunk->arena.size(), static_cast<uint32_t>(key.size()),
                              static_cast<uint32_t>(value.size())});
    chunk->arena.append(key);
    chunk->arena.append(value);
    figures_.entries += 1;
    figures_.bytes += key.size() + value.size();
    if (chunk->arena.size() >= chunkBytes_) {
      auto next = std::make_unique<Chunk>();
      next->slot = slot;
      next->stream = chunk->stream;
      submit(std::exchange(chunk, kj::mv(next)));
    }
  }

  // Hands a full chunk to the writing thread; waits while two are queued (bounded memory).
  void submit(std::unique_ptr<Chunk> chunk) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return queue_.size() < 2 || writerError_ != nullptr; });
    if (writerError_ != nullptr) {
      lock.unlock();
      rethrowWriterError();
    }
    queue_.push_back(kj::mv(chunk));
    changed_.notify_all();
  }

  void rethrowWriterError() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (writerError_ != nullptr) std::rethrow_exception(writerError_);
  }

  void stopWriter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!finished_) queue_.clear();  // abandoned: nothing more to write
      stopping_ = true;
      changed_.notify_all();
    }
    if (writer_.joinable()) writer_.join();
  }

  // The writing thread: sorts each chunk and writes it as one SST file.
  void writeChunks() {
    for (;;) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        chunk = kj::mv(queue_.front());
        queue_.pop_front();
        changed_.notify_all();
      }
      try {
        SstFile file = writeChunk(*chunk);
        std::lock_guard<std::mutex> lock(mutex_);
        files_[{chunk->slot, chunk->stream}].push_back(kj::mv(file));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        writerError_ = std::current_exception();
        queue_.clear();
        changed_.notify_all();
        return;
      }
    }
  }

  std::string newPath(size_t slot) {
    std::lock_guard<std::mutex> lock(pathMutex_);
    return tmpDir_ + "/" + slotName(slot) + "-" + std::to_string(fileNumber_++) + ".sst";
  }

  SstFile writeChunk(Chunk& chunk) {
    auto& entries = chunk.entries;
    // Stable: of the writes of one key, the last stays last, and is the one kept.
    auto before = [&](const auto& a, const auto& b) { return chunk.key(a) < chunk.key(b); };
    if (!std::is_sorted(entries.begin(), entries.end(), before)) {
      std::stable_sort(entries.begin(), entries.end(), before);
    }
    SstFile file;
    file.path = newPath(chunk.slot);
    file.seq = chunk.seq;
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options_[chunk.slot]);
    checkLoad(writer.Open(file.path), "open an SST file");
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i + 1 < entries.size() && chunk.key(entries[i]) == chunk.key(entries[i + 1])) continue;
      checkLoad(writer.Put(slice(chunk.key(entries[i])), slice(chunk.value(entries[i]))), "put");
    }
    checkLoad(writer.Finish(), "finish an SST file");
    file.smallest = chunk.key(entries.front());
    file.largest = chunk.key(entries.back());
    return file;
  }

  // One sorted run of `inputs` (files of one stream whose keys interleave): a k-way merge, the
  // later chunk winning on an equal key, into files of about MERGED_FILE_BYTES. The inputs are
  // deleted.
  std::vector<SstFile> merge(size_t slot, const std::vector<SstFile>& inputs) {
    std::vector<std::unique_ptr<rocksdb::SstFileReader>> readers;
    std::vector<std::unique_ptr<rocksdb::Iterator>> its;
    rocksdb::ReadOptions read;
    read.fill_cache = false;
    read.verify_checksums = false;
    for (auto& in : inputs) {
      readers.push_back(std::make_unique<rocksdb::SstFileReader>(options_[slot]));
      checkLoad(readers.back()->Open(in.path), "open an SST file to merge");
      its.emplace_back(readers.back()->NewIterator(read));
      its.back()->SeekToFirst();
    }
    // The top is the smallest key, and of equal keys the latest chunk.
    auto after = [&](size_t a, size_t b) {
      int c = its[a]->key().compare(its[b]->key());
      return c > 0 || (c == 0 && inputs[a].seq < inputs[b].seq);
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(after)> heap(after);
    for (size_t i = 0; i < its.size(); ++i) {
      if (its[i]->Valid()) heap.push(i);
      checkLoad(its[i]->status(), "read an SST file to merge");
    }
    std::vector<SstFile> out;
    std::unique_ptr<rocksdb::SstFileWriter> writer;
    std::string last;
    auto close = [&] {
      checkLoad(writer->Finish(), "finish a merged SST file");
      out.back().largest = last;
      writer.reset();
    };
    auto advance = [&](size_t i) {
      its[i]->Next();
      checkLoad(its[i]->status(), "read an SST file to merge");
      if (its[i]->Valid()) heap.push(i);
    };
    while (!heap.empty()) {
      size_t top = heap.top();
      heap.pop();
      if (writer != nullptr && writer->FileSize() >= MERGED_FILE_BYTES) close();
      if (writer == nullptr) {
        writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options_[slot]);
        out.push_back({inputs.front().path + ".merged" + std::to_string(out.size()),
                       std::string(view(its[top]->key())), "", 0});
        checkLoad(writer->Open(out.back().path), "open a merged SST file");
      }
      last.assign(view(its[top]->key()));
      checkLoad(writer->Put(its[top]->key(), its[top]->value()), "put");
      advance(top);
      while (!heap.empty() && view(its[heap.top()]->key()) == last) {
        size_t same = heap.top();  // an older write of the same key: dropped
        heap.pop();
        advance(same);
      }
    }
    if (writer != nullptr) close();
    its.clear();
    readers.clear();
    for (auto& in : inputs) std::filesystem::remove(in.path);
    return out;
  }

  void ingest() {
    rocksdb::Options options = options_[SYSTEM_SLOT];
    std::vector<std::string> names;
    checkLoad(rocksdb::DB::ListColumnFamilies(options, dbDir_, &names), "list column families");
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (auto& n : names) {
      descriptors.emplace_back(n, familyOptions(rocksdb::Options(), nullptr, n));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    checkLoad(rocksdb::DB::Open(options, dbDir_, descriptors, &handles, &raw), "open the database");
    std::unique_ptr<rocksdb::DB> db(raw);
    KJ_DEFER({
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      db->Close();  // the ingestion is synced already; a failure to close loses nothing
    });
    std::vector<std::string> paths[SLOTS];
    for (auto& [stream, files] : files_) {
      for (auto& f : files) paths[stream.first].push_back(f.path);
    }
    for (size_t slot = 0; slot < SLOTS; ++slot) {
      if (paths[slot].empty()) continue;
      auto at = std::find(names.begin(), names.end(), slotName(slot));
      KJ_REQUIRE(at != names.end(), "the database lacks a column family", slotName(slot));
      rocksdb::IngestExternalFileOptions io;
      io.move_files = true;
      checkLoad(db->IngestExternalFile(handles[at - names.begin()], paths[slot], io), "ingest");
      figures_.files += static_cast<uint32_t>(paths[slot].size());
    }
  }

  const std::string dbDir_;
  const std::string tmpDir_;
  const size_t chunkBytes_;
  // Store::open's table format per family (Bloom filters where it has them), without its cache.
  const std::vector<rocksdb::Options> options_ = [] {
    std::vector<rocksdb::Options> options;
    for (size_t slot = 0; slot < SLOTS; ++slot) {
      options.emplace_back(rocksdb::DBOptions(),
                           familyOptions(rocksdb::Options(), nullptr, slotName(slot)));
    }
    return options;
  }();
  bool finished_ = false;
  BulkLoadFigures figures_;
  std::vector<std::unique_ptr<Chunk>> open_[SLOTS];  // by stream
  uint64_t nextSeq_ = 0;

  // Shared with the writing thread.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Chunk>> queue_;
  bool stopping_ = false;
  std::exception_ptr writerError_;
  std::map<std::pair<size_t, std::string>, std::vector<SstFile>> files_;  // by (slot, stream)
  std::mutex pathMutex_;
  uint64_t fileNumber_ = 0;
  std::thread writer_;
};

BulkLoad::BulkLoad(const std::string& dbDir, size_t chunkBytes)
    : impl_(std::make_unique<Impl>(dbDir, chunkBytes)) {}
BulkLoad::~BulkLoad() = default;
Txn& BulkLoad::txn() { return *impl_; }
BulkLoadFigures BulkLoad::finish() { return impl_->finish(); }

}  // namespace rdz
