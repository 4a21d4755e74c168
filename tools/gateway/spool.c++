#include "tools/gateway/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <kj/debug.h>
#include <kj/io.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "daemon/domain/fault-point.h"
#include "daemon/service/log.h"

namespace rdz::gateway {

namespace {

constexpr uint32_t ENTRY_MAGIC = 0x315a4452;  // "RDZ1" little-endian
constexpr size_t HEADER_BYTES = 12;
constexpr uint8_t PAYLOAD_VERSION = 2;  // 1: without the request; still read
constexpr uint8_t HONEYPOT_FLAG = 1;

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putString(std::string& out, const std::string& s) {
  putU32(out, static_cast<uint32_t>(s.size()));
  out += s;
}
uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Reads a payload; every read is bounds-checked, so a corrupt payload with a good checksum (a
// bug, not a torn write) throws instead of reading past the end.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view data) : data_(data) {}
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint32_t u32() {
    need(4);
    uint32_t v = getU32(data_.data() + pos_);
    pos_ += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t lo = u32();
    uint64_t hi = u32();
    return lo | (hi << 32);
  }
  std::string string() {
    uint32_t n = u32();
    need(n);
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool atEnd() const { return pos_ == data_.size(); }

 private:
  void need(size_t n) { KJ_REQUIRE(data_.size() - pos_ >= n, "spool entry payload is truncated"); }
  std::string_view data_;
  size_t pos_ = 0;
};

SpoolEntry decodePayload(std::string_view payload) {
  PayloadReader in(payload);
  uint8_t version = in.u8();
  KJ_REQUIRE(version == 1 || version == PAYLOAD_VERSION, "unknown spool entry version", version);
  SpoolEntry entry;
  entry.version = version;
  uint8_t entity = in.u8();
  KJ_REQUIRE(entity <= 1, "bad entity in spool entry", entity);
  entry.entity = static_cast<Entity>(entity);
  entry.receivedAtMicros = static_cast<int64_t>(in.u64());
  entry.idempotencyKey = in.string();
  uint32_t count = in.u32();
  KJ_REQUIRE(count <= Spool::MAX_PAYLOAD_BYTES / 8, "bad field count in spool entry", count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string name = in.string();
    std::string value = in.string();
    entry.fields.push_back({std::move(name), std::move(value)});
  }
  if (version >= 2) {
    entry.request.ip = in.string();
    entry.request.userAgent = in.string();
    entry.request.pageUrl = in.string();
    uint8_t flags = in.u8();
    KJ_REQUIRE((flags & ~HONEYPOT_FLAG) == 0, "unknown flags in spool entry", flags);
    entry.request.honeypot = (flags & HONEYPOT_FLAG) != 0;
  }
  KJ_REQUIRE(in.atEnd(), "trailing bytes in spool entry");
  return entry;
}

uint32_t entryChecksum(uint32_t length, std::string_view payload) {
  char lengthBytes[4];
  for (int i = 0; i < 4; ++i) lengthBytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return crc32c(payload.data(), payload.size(), crc32c(lengthBytes, 4));
}

SpoolIo& kernelIo() {
  static SpoolIo io;
  return io;
}

void writeAll(int fd, std::string_view data, const std::string& what, SpoolIo& io = kernelIo()) {
  while (!data.empty()) {
    ssize_t n;
    KJ_SYSCALL(n = io.write(fd, data.data(), data.size()), what);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads exactly `size` bytes at `offset`; fewer only at end of file.
std::string readAt(int fd, uint64_t offset, size_t size, const std::string& what) {
  std::string out(size, '\0');
  size_t got = 0;
  while (got < size) {
    ssize_t n;
    KJ_SYSCALL(n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(offset + got)),
               what);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

uint64_t fileSize(int fd, const std::string& what) {
  struct stat st;
  KJ_SYSCALL(::fstat(fd, &st), what);
  return static_cast<uint64_t>(st.st_size);
}

// One entry read from a segment: the entry and its total size, or why it is unreadable.
struct ReadOutcome {
  std::optional<SpoolEntry> entry;
  uint64_t bytes = 0;
  const char* problem = nullptr;  // set when entry is empty
};

// The entry at the start of `data` (which runs to the end of what may be read).
ReadOutcome parseEntry(std::string_view data) {
  ReadOutcome out;
  if (data.size() < HEADER_BYTES) {
    out.problem = "short header";
    return out;
  }
  uint32_t magic = getU32(data.data());
  uint32_t length = getU32(data.data() + 4);
  uint32_t checksum = getU32(data.data() + 8);
  if (magic != ENTRY_MAGIC) {
    out.problem = "bad magic";
    return out;
  }
  if (length > Spool::MAX_PAYLOAD_BYTES) {
    out.problem = "bad length";
    return out;
  }
  if (data.size() - HEADER_BYTES < length) {
    out.problem = "short payload";
    return out;
  }
  std::string_view payload = data.substr(HEADER_BYTES, length);
  if (entryChecksum(length, payload) != checksum) {
    out.problem = "bad checksum";
    return out;
  }
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { out.entry = decodePayload(payload); })) {
    out.problem = "undecodable payload";
    return out;
  }
  out.bytes = HEADER_BYTES + length;
  return out;
}

ReadOutcome readEntry(int fd, uint64_t offset, uint64_t limit, const std::string& path) {
  if (limit - offset < HEADER_BYTES) return parseEntry({});
  std::string header = readAt(fd, offset, HEADER_BYTES, path);
  if (header.size() < HEADER_BYTES) return parseEntry(header);
  uint64_t length = getU32(header.data() + 4);
  // A damaged length must not make us read megabytes: parseEntry refuses it from the header.
  if (length > Spool::MAX_PAYLOAD_BYTES || limit - offset - HEADER_BYTES < length) {
    return parseEntry(header);
  }
  return parseEntry(readAt(fd, offset, HEADER_BYTES + length, path));
}

// The offset of the first readable entry in [from, limit) of a segment, or `limit` when there is
// none. A readable entry is a magic number, a plausible length, a matching CRC-32C and a payload
// that decodes: bytes of a damaged entry cannot pass for one short of a 1 in 2^32 accident, or of
// a lead whose own text spells a whole encoded entry (it would then be read as that entry, which
// its poster could as well have posted).
uint64_t nextEntry(int fd, uint64_t from, uint64_t limit, const std::string& path) {
  if (from >= limit) return limit;
  // TODO(perf): reads the rest of the segment (at most a few MiB) at once; damage is rare.
  std::string data = readAt(fd, from, limit - from, path);
  const char magic[4] = {
      static_cast<char>(ENTRY_MAGIC & 0xff), static_cast<char>((ENTRY_MAGIC >> 8) & 0xff),
      static_cast<char>((ENTRY_MAGIC >> 16) & 0xff), static_cast<char>(ENTRY_MAGIC >> 24)};
  std::string_view view = data;
  for (size_t at = view.find(std::string_view(magic, 4)); at != std::string_view::npos;
       at = view.find(std::string_view(magic, 4), at + 1)) {
    if (parseEntry(view.substr(at)).entry) return from + at;
  }
  return from + data.size();  // data is shorter than asked only if the file shrank meanwhile
}

std::string spoolId(SpoolPosition p) { return fmt::format("{}-{}", p.segment, p.offset); }

// mkdir -p with mode 0700 for every directory created.
void makeDirs(const std::string& path) {
  for (size_t slash = 1;; ++slash) {
    slash = path.find('/', slash);
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      int error = errno;
      KJ_FAIL_REQUIRE("cannot create spool directory", prefix, strerror(error));
    }
    if (slash == std::string::npos) return;
  }
}

}  // namespace

ssize_t SpoolIo::write(int fd, const void* data, size_t size) { return ::write(fd, data, size); }
int SpoolIo::fdatasync(int fd) { return ::fdatasync(fd); }
int SpoolIo::fsync(int fd) { return ::fsync(fd); }
int SpoolIo::ftruncate(int fd, off_t size) { return ::ftruncate(fd, size); }

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  static const auto table = []() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  auto p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string Spool::encode(const SpoolEntry& entry) {
  KJ_REQUIRE(entry.version == 1 || entry.version == PAYLOAD_VERSION, "unknown spool entry version",
             entry.version);
  KJ_REQUIRE(entry.version >= 2 || entry.request == HttpRequestProof{},
             "a version 1 spool entry has no request");
  std::string payload;
  payload.push_back(static_cast<char>(entry.version));
  payload.push_back(static_cast<char>(entry.entity));
  putU64(payload, static_cast<uint64_t>(entry.receivedAtMicros));
  putString(payload, entry.idempotencyKey);
  putU32(payload, static_cast<uint32_t>(entry.fields.size()));
  for (const Field& f : entry.fields) {
    putString(payload, f.name);
    putString(payload, f.value);
  }
  if (entry.version >= 2) {
    putString(payload, entry.request.ip);
    putString(payload, entry.request.userAgent);
    putString(payload, entry.request.pageUrl);
    payload.push_back(static_cast<char>(entry.request.honeypot ? HONEYPOT_FLAG : 0));
  }
  KJ_REQUIRE(payload.size() <= MAX_PAYLOAD_BYTES, "lead too large for the spool", payload.size());
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(HEADER_BYTES + payload.size());
  putU32(out, ENTRY_MAGIC);
  putU32(out, length);
  putU32(out, entryChecksum(length, payload));
  out += payload;
  return out;
}

Spool::Spool(std::string dir, SpoolOptions options)
    : dir_(std::move(dir)),
      segmentBytes_(options.segmentBytes),
      maxBytes_(options.maxBytes),
      io_(options.io != nullptr ? *options.io : kernelIo()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  makeDirs(dir_);
  KJ_SYSCALL(dirFd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), dir_);
  std::string lockPath = dir_ + "/LOCK";
  KJ_SYSCALL(lockFd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600), lockPath);
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(lockFd_);
    ::close(dirFd_);
    KJ_REQUIRE(error != EWOULDBLOCK, "the spool directory is in use by another rdz-gateway", dir_);
    KJ_FAIL_SYSCALL("flock", error, lockPath);
  }
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { recover(); })) {
    ::close(lockFd_);
    ::close(dirFd_);
    kj::throwFatalException(kj::mv(*e));
  }
}

Spool::~Spool() noexcept(false) {
  if (activeFd_ >= 0) ::close(activeFd_);
  ::close(lockFd_);  // releases the lock
  ::close(dirFd_);
}

std::string Spool::segmentPath(uint64_t segment) const {
  return fmt::format("{}/{:016}.seg", dir_, segment);
}

std::vector<uint64_t> Spool::listSegments() const {
  std::vector<uint64_t> out;
  DIR* d = ::opendir(dir_.c_str());
  KJ_REQUIRE(d != nullptr, "cannot list the spool directory", dir_, strerror(errno));
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() != 20 || name.substr(16) != ".seg") continue;
    if (!std::all_of(name.begin(), name.begin() + 16,
                     [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    out.push_back(std::stoull(std::string(name.substr(0, 16))));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void Spool::syncDir() {
  KJ_SYSCALL(io_.fsync(dirFd_), dir_);
  dirDirty_ = false;
}

void Spool::writeDone(SpoolPosition done) {
  std::string position = fmt::format("{} {}", done.segment, done.offset);
  std::string text = fmt::format("{} {:08x}\n", position, crc32c(position.data(), position.size()));
  std::string tmp = dir_ + "/done.tmp";
  int fd;
  KJ_SYSCALL(fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), tmp);
  kj::AutoCloseFd closer(fd);
  writeAll(fd, text, tmp);
  KJ_SYSCALL(::fdatasync(fd), tmp);
  KJ_SYSCALL(::rename(tmp.c_str(), (dir_ + "/done").c_str()), tmp);
  syncDir();
}

void Spool::recover() {
  std::optional<SpoolPosition> done;
  std::string donePath = dir_ + "/done";
  int fd = ::open(donePath.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    kj::AutoCloseFd closer(fd);
    std::string text = readAt(fd, 0, 256, donePath);
    unsigned long long segment = 0, offset = 0;
    unsigned checksum = 0;
    if (std::sscanf(text.c_str(), "%llu %llu %x", &segment, &offset, &checksum) == 3) {
      std::string position = fmt::format("{} {}", segment, offset);
      if (crc32c(position.data(), position.size()) == checksum && segment > 0) {
        done = SpoolPosition{segment, offset};
      }
    }
    if (!done) {
      // Cannot happen with rename(); if it does, replaying from the oldest segment is safe: the
      // idempotency keys make rdzd answer entries it already has without storing them again.
      logInfo("spool: {} is unreadable; replaying from the oldest segment", donePath);
    }
  } else {
    KJ_REQUIRE(errno == ENOENT, "cannot read the spool's done file", donePath, strerror(errno));
  }

  std::vector<uint64_t> segments = listSegments();
  if (!done) done = SpoolPosition{segments.empty() ? 1 : segments.front(), 0};
  bool rewriteDone = false;
  for (uint64_t s : segments) {
    if (s < done->segment) {
      KJ_SYSCALL(::unlink(segmentPath(s).c_str()), segmentPath(s));  // already replayed
      dirDirty_ = true;
    }
  }
  segments.erase(std::remove_if(segments.begin(), segments.end(),
                                [&](uint64_t s) { return s < done->segment; }),
                 segments.end());
  if (segments.empty()) {
    // Nothing pending. Appends go to a segment that cannot be confused with the done position.
    active_ = done->offset == 0 ? done->segment : done->segment + 1;
    if (active_ != done->segment) rewriteDone = true;
    done = SpoolPosition{active_, 0};
  } else if (segments.front() > done->segment) {
    done = SpoolPosition{segments.front(), 0};
    rewriteDone = true;
  }

  uint64_t pending = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    uint64_t s = segments[i];
    bool last = i + 1 == segments.size();
    std::string path = segmentPath(s);
    int segFd;
    KJ_SYSCALL(segFd = ::open(path.c_str(), O_RDWR | O_CLOEXEC), path);
    kj::AutoCloseFd closer(segFd);
    uint64_t size = fileSize(segFd, path);
    uint64_t pos = s == done->segment ? std::min(done->offset, size) : 0;
    while (pos < size) {
      ReadOutcome r = readEntry(segFd, pos, size, path);
      if (r.entry) {
        ++pending;
        pos += r.bytes;
        continue;
      }
      // Unreadable bytes are a torn write only when nothing readable follows them; either way
      // they may hold an acknowledged lead (a flipped bit looks like a torn write), so they are
      // copied aside before anything else happens to them.
      uint64_t next = skipDamaged(s, segFd, pos, size, r.problem);
      if (next == size && last) {
        // The tail of the segment appends continue: cut so that they start at a clean boundary
        // (what follows a damaged tail would be unreachable for the resync of a reader).
        KJ_SYSCALL(::ftruncate(segFd, static_cast<off_t>(pos)), path);
        KJ_SYSCALL(::fsync(segFd), path);
        size = pos;
      }
      pos = next;
    }
    if (last) {
      active_ = s;
      activeSize_ = durableSize_ = size;
    }
    sizes_[s] = size;
  }
  if (activeSize_ >= segmentBytes_) {
    ++active_;
    activeSize_ = durableSize_ = 0;
  }
  done_ = *done;
  depth_.store(pending);
  bytes_.store(pendingBytes());
  if (rewriteDone) writeDone(done_);
  if (dirDirty_) syncDir();
}

uint64_t Spool::skipDamaged(uint64_t segment, int fd, uint64_t from, uint64_t limit,
                            const char* problem) {
  std::string path = segmentPath(segment);
  uint64_t next = nextEntry(fd, from + 1, limit, path);
  std::string qdir = dir_ + "/quarantine";
  std::string qpath = fmt::format("{}/{}-{}.bin", qdir, segment, from);
  struct stat st;
  if (::stat(qpath.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == next - from) {
    return next;  // kept by an earlier recovery or read: counted then
  }
  logInfo("spool: segment {} has {} unreadable bytes at offset {} ({}){}; kept in {}", segment,
          next - from, from, problem, next == limit ? ", up to its end" : "", qpath);
  if (::mkdir(qdir.c_str(), 0700) == 0) {
    syncDir();
  } else {
    KJ_REQUIRE(errno == EEXIST, "cannot create the spool's quarantine directory", qdir,
               strerror(errno));
  }
  std::string bytes = readAt(fd, from, next - from, path);
  int qfd;
  KJ_SYSCALL(qfd = ::open(qpath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), qpath);
  kj::AutoCloseFd closer(qfd);
  writeAll(qfd, bytes, qpath);
  KJ_SYSCALL(::fdatasync(qfd), qpath);
  int qdirFd;
  KJ_SYSCALL(qdirFd = ::open(qdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), qdir);
  kj::AutoCloseFd qdirCloser(qdirFd);
  KJ_SYSCALL(::fsync(qdirFd), qdir);
  quarantinedBytes_.fetch_add(bytes.size(), std::memory_order_relaxed);
  quarantinedRanges_.fetch_add(1, std::memory_order_relaxed);
  return next;
}

void Spool::openActive() {
  std::string path = segmentPath(active_);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    KJ_SYSCALL(fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
               path);
    dirDirty_ = true;
  } else if (fd < 0) {
    KJ_FAIL_SYSCALL("open", errno, path);
  }
  activeFd_ = fd;
  activeSize_ = fileSize(fd, path);
}

std::string Spool::append(const SpoolEntry& entry) {
  KJ_REQUIRE(recheck(), "the spool is unhealthy: a failed write could not be cut off", dir_);
  std::string bytes = encode(entry);
  uint64_t total = pendingBytes();
  KJ_REQUIRE(total + bytes.size() <= maxBytes_, "the spool is full", total, maxBytes_);
  if (activeFd_ >= 0 && activeSize_ >= segmentBytes_ && unsynced_ == 0) {
    // Rotate only between groups: everything in the closed segment is durable already, and the
    // unsynced bytes a failure discards are always at the end of the active segment.
    ::close(activeFd_);
    activeFd_ = -1;
    ++active_;
    activeSize_ = durableSize_ = 0;
  }
  if (activeFd_ < 0) openActive();
  SpoolPosition at{active_, activeSize_};
  ++appends_;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions(
                      [&]() { writeAll(activeFd_, bytes, segmentPath(active_), io_); })) {
    // Part of this entry may be in the file: it goes, and the unsynced ones before it with it
    // (a partial entry in front of them would hide nothing, but their group is one promise).
    discardUnsynced(kj::mv(*e));
  }
  activeSize_ += bytes.size();
  sizes_[active_] = activeSize_;
  bytes_.store(pendingBytes());
  ++unsynced_;
  return spoolId(at);
}

void Spool::sync() {
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() {
                 if (unsynced_ > 0 && activeFd_ >= 0) {
                   faultPoint("spool.after_append");
                   KJ_SYSCALL(io_.fdatasync(activeFd_), segmentPath(active_));
                 }
                 if (dirDirty_) syncDir();  // a new segment's name must survive a crash too
               })) {
    if (unsynced_ > 0) discardUnsynced(kj::mv(*e));
    kj::throwFatalException(kj::mv(*e));
  }
  durableSize_ = activeSize_;
  depth_.fetch_add(unsynced_);
  unsynced_ = 0;
}

void Spool::discardUnsynced(kj::Exception&& what) {
  logInfo("spool: discarding the unsynced appends to segment {} after: {}", active_,
          what.getDescription().cStr());
  ++discards_;
  unsynced_ = 0;
  activeSize_ = durableSize_;
  sizes_[active_] = activeSize_;
  bytes_.store(pendingBytes());
  healthy_ = false;
  recheck();
  kj::throwFatalException(kj::mv(what));
}

bool Spool::recheck() {
  if (healthy()) return true;
  // The file may hold bytes past durableSize_ (written, maybe partly on disk): cut them, and make
  // the cut durable, or they would be read back as entries after a restart.
  int rc = activeFd_ < 0 ? 0 : io_.ftruncate(activeFd_, static_cast<off_t>(durableSize_));
  if (rc == 0 && activeFd_ >= 0) rc = io_.fsync(activeFd_);
  if (rc != 0) {
    logInfo(
        "spool: cannot cut segment {} back to {} bytes ({}); unhealthy, leads are refused "
        "(503) when rdzd is away",
        active_, durableSize_, strerror(errno));
    return false;
  }
  healthy_ = true;
  logInfo("spool: segment {} cut back to its {} durable bytes; healthy", active_, durableSize_);
  return true;
}

uint64_t Spool::pendingBytes() const {
  uint64_t total = 0;
  for (auto& [segment, size] : sizes_) total += size;
  return total;
}

std::vector<SpooledEntry> Spool::readPending(size_t max) {
  std::vector<SpooledEntry> out;
  SpoolPosition pos = done_;
  while (out.size() < max && pos.segment <= active_) {
    std::string path = segmentPath(pos.segment);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      KJ_REQUIRE(errno == ENOENT, "cannot read spool segment", path, strerror(errno));
      if (pos.segment == active_) break;  // created by the next append
      pos = {pos.segment + 1, 0};
      continue;
    }
    kj::AutoCloseFd closer(fd);
    uint64_t limit = pos.segment == active_ ? durableSize_ : fileSize(fd, path);
    while (out.size() < max && pos.offset < limit) {
      ReadOutcome r = readEntry(fd, pos.offset, limit, path);
      if (!r.entry) {
        // Damage (recovery quarantined it already unless it happened since): resync past it, as
        // recovery did when it counted the pending entries.
        pos.offset = skipDamaged(pos.segment, fd, pos.offset, limit, r.problem);
        if (!out.empty() && out.back().next.segment == pos.segment) out.back().next = pos;
        continue;
      }
      SpooledEntry e{spoolId(pos), {pos.segment, pos.offset + r.bytes}, std::move(*r.entry)};
      pos = e.next;
      out.push_back(std::move(e));
    }
    if (pos.offset < limit || pos.segment == active_) break;
    // End of a closed segment: the next entry is at the start of the next one.
    pos = {pos.segment + 1, 0};
    if (!out.empty()) out.back().next = pos;
  }
  return out;
}

void Spool::markDone(SpoolPosition next, uint64_t entries) {
  KJ_REQUIRE(next >= done_, "spool done position goes backwards");
  uint64_t depth = depth_.load();
  depth_.store(depth >= entries ? depth - entries : 0);
  done_ = next;
  if (done_.segment == active_ && done_.offset > 0 && done_.offset == activeSize_ &&
      unsynced_ == 0) {
    // Drained: the next entry starts a new segment and this one (all replayed) goes away.
    if (activeFd_ >= 0) ::close(activeFd_);
    activeFd_ = -1;
    ++active_;
    activeSize_ = durableSize_ = 0;
    done_ = {active_, 0};
  }
  writeDone(done_);
  sizes_.erase(sizes_.begin(), sizes_.lower_bound(done_.segment));
  bytes_.store(pendingBytes());
  for (uint64_t s : listSegments()) {
    if (s >= done_.segment) break;
    // Already recorded as replayed: a failed unlink only leaves a file recovery deletes later.
    if (::unlink(segmentPath(s).c_str()) != 0) {
      logInfo("spool: cannot delete replayed segment {}: {}", s, strerror(errno));
    }
  }
}

void Spool::refuse(const SpooledEntry& entry) {
  std::string path = dir_ + "/refused.seg";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    KJ_SYSCALL(fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600), path);
    dirDirty_ = true;
  } else if (fd < 0) {
    KJ_FAIL_SYSCALL("open", errno, path);
  }
  kj::AutoCloseFd closer(fd);
  writeAll(fd, encode(entry.entry), path);
  KJ_SYSCALL(::fdatasync(fd), path);
  if (dirDirty_) syncDir();
}

// ---- SpoolQueue --------------------------------------------------------------------------------

SpoolQueue::SpoolQueue(Spool& spool) : spool_(spool) {
  thread_ = kj::heap<kj::Thread>([this]() { loop(); });
}

SpoolQueue::~SpoolQueue() noexcept(false) {
  shared_.lockExclusive()->stopping = true;
  thread_ = nullptr;  // joins once every queued job ran
}

template <typename T>
kj::Promise<T> SpoolQueue::run(kj::Function<T(Spool&)> fn) {
  // The result is written on the spool thread before the fulfiller fires and read after it; it is
  // shared because the caller may drop its promise while the job is still queued.
  auto result = std::make_shared<kj::Maybe<T>>();
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  {
    auto lock = shared_.lockExclusive();
    KJ_REQUIRE(!lock->stopping, "rdz-gateway is shutting down");
    lock->jobs.push_back(
        {[result, fn = kj::mv(fn)](Spool& spool) mutable { *result = fn(spool); },
         [fulfiller = kj::mv(paf.fulfiller)](kj::Maybe<kj::Exception> error) mutable {
           KJ_IF_MAYBE(e, error) {
             fulfiller->reject(kj::mv(*e));
           } else {
             fulfiller->fulfill();
           }
         }});
  }
  return paf.promise.then([result = kj::mv(result)]() mutable -> T {
    KJ_IF_MAYBE(value, *result) {
      return kj::mv(*value);
    }
    KJ_FAIL_ASSERT("spool job finished without a result");
  });
}

kj::Promise<std::string> SpoolQueue::append(SpoolEntry entry) {
  return run<std::string>([entry = kj::mv(entry)](Spool& spool) { return spool.append(entry); });
}

kj::Promise<std::vector<SpooledEntry>> SpoolQueue::readPending(size_t max) {
  return run<std::vector<SpooledEntry>>([max](Spool& spool) { return spool.readPending(max); });
}

kj::Promise<void> SpoolQueue::markDone(SpoolPosition next, uint64_t entries) {
  return run<bool>([next, entries](Spool& spool) {
           spool.markDone(next, entries);
           return true;
         })
      .ignoreResult();
}

kj::Promise<void> SpoolQueue::refuse(SpooledEntry entry) {
  return run<bool>([entry = kj::mv(entry)](Spool& spool) {
           spool.refuse(entry);
           return true;
         })
      .ignoreResult();
}

void SpoolQueue::loop() {
  for (;;) {
    std::vector<Job> group;
    {
      auto lock = shared_.lockExclusive();
      lock.wait([](const Shared& s) { return !s.jobs.empty() || s.stopping; });
      if (lock->jobs.empty()) return;  // stopping, and nothing left to do
      while (!lock->jobs.empty()) {
        group.push_back(kj::mv(lock->jobs.front()));
        lock->jobs.pop_front();
      }
    }
    // An append's job succeeds once the sync after the group succeeded, unless a failure
    // discarded it first: a failed write discards every unsynced append before it (Spool::sync()),
    // a failed sync all of them.
    std::vector<kj::Maybe<kj::Exception>> errors(group.size());
    std::vector<size_t> unsynced;  // jobs whose entry waits for the sync below
    for (size_t i = 0; i < group.size(); ++i) {
      uint64_t appends = spool_.appends();
      uint64_t discards = spool_.discards();
      errors[i] = kj::runCatchingExceptions([&]() { group[i].fn(spool_); });
      if (spool_.discards() != discards) {
        for (size_t j : unsynced) {
          errors[j] = KJ_EXCEPTION(FAILED, "spool write failed; this entry was discarded with it");
        }
        unsynced.clear();
      } else if (spool_.appends() != appends && errors[i] == nullptr) {
        unsynced.push_back(i);
      }
    }
    if (spool_.hasUnsynced()) {
      KJ_IF_MAYBE (e, kj::runCatchingExceptions([&]() { spool_.sync(); })) {
        for (size_t j : unsynced) errors[j] = kj::cp(*e);
      }
    }
    for (size_t i = 0; i < group.size(); ++i) group[i].done(kj::mv(errors[i]));
  }
}

kj::Promise<bool> SpoolQueue::recheck() {
  return run<bool>([](Spool& spool) { return spool.recheck(); });
}

}  // namespace rdz::gateway
