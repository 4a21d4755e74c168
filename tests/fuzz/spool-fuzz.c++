// Fuzzes the gateway spool's segment reading (tools/gateway/spool) through its public API only:
// the input is written as segment `0000000000000001.seg` in a fresh directory, a Spool is opened
// on it (recovery), and everything pending is read with readPending and acknowledged with
// markDone. The same is done a second time with every entry's CRC-32C recomputed, so that the
// fuzzer also reaches the payload decoder behind the checksum.
//
// Properties: opening never throws on a damaged segment (damage is quarantined and skipped);
// depth() equals what readPending returns; every entry re-encodes to the exact bytes at the offset
// its id names, in order; after
// everything is acknowledged, depth is 0, and a Spool reopened on the directory has nothing
// pending; a Spool reopened before acknowledging has the same entries pending.
#include <stdint.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/fuzz-support.h"
#include "tools/gateway/spool.h"

using namespace rdz;
using namespace rdz::gateway;

namespace {

constexpr size_t HEADER_BYTES = 12;  // magic, length, CRC-32C of (length, payload): spool.h

uint32_t getU32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

// Rewrites the checksum of every entry whose header and payload fit, in place.
void fixChecksums(std::string& segment) {
  size_t pos = 0;
  while (segment.size() - pos >= HEADER_BYTES) {
    uint32_t length = getU32(segment, pos + 4);
    if (segment.size() - pos - HEADER_BYTES < length) break;
    uint32_t crc = crc32c(segment.data() + pos + 4, 4);
    crc = crc32c(segment.data() + pos + HEADER_BYTES, length, crc);
    for (int i = 0; i < 4; ++i) segment[pos + 8 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    pos += HEADER_BYTES + length;
  }
}

void runOne(const std::string& segment, size_t segmentBytes) {
  SpoolOptions options;
  options.segmentBytes = segmentBytes;
  std::string dir = fuzz::makeTempDir("rdz-fuzz-spool-");
  { std::ofstream(dir + "/0000000000000001.seg", std::ios::binary) << segment; }
  // Entries in the order they are read, checked against the bytes of the segment.
  std::vector<SpooledEntry> pending;
  uint64_t depth = 0;
  {
    Spool spool(dir, options);
    depth = spool.depth();
    pending = spool.readPending(SIZE_MAX);
    if (pending.size() != depth) fuzz::fail("depth() differs from what readPending returns");
    // Damaged ranges are skipped (quarantined), so entries need not be contiguous; each is where
    // its id says, after the one before it.
    uint64_t end = 0;
    for (const SpooledEntry& e : pending) {
      unsigned long long seg = 0, offset = 0;
      if (sscanf(e.id.c_str(), "%llu-%llu", &seg, &offset) != 2 || seg != 1 || offset < end) {
        fuzz::fail("an entry id out of order or not in segment 1", e.id);
      }
      std::string bytes = Spool::encode(e.entry);
      if (segment.compare(offset, bytes.size(), bytes) != 0) {
        fuzz::fail("an entry does not re-encode to the bytes it was read from", e.id);
      }
      end = offset + bytes.size();
    }
    // Acknowledge the first entries only: the rest must survive a reopen.
    size_t acknowledged = std::min<size_t>(pending.size(), 7);
    if (acknowledged > 0) {
      spool.markDone(pending[acknowledged - 1].next, acknowledged);
      if (spool.depth() != depth - acknowledged) fuzz::fail("depth after markDone");
    }
  }
  {
    // Reopened: the first batch is gone, the others are still there, in order.
    Spool spool(dir, options);
    size_t acknowledged = std::min<size_t>(pending.size(), 7);
    if (spool.depth() != pending.size() - acknowledged) fuzz::fail("depth after reopen");
    size_t i = acknowledged;
    for (int rounds = 0;; ++rounds) {
      if (rounds > 100000) fuzz::fail("readPending never runs dry");
      auto batch = spool.readPending(64);
      if (batch.empty()) break;
      for (const SpooledEntry& e : batch) {
        if (i >= pending.size() || !(e.entry == pending[i].entry)) {
          fuzz::fail("reopened spool reads other entries", e.id);
        }
        ++i;
      }
      spool.markDone(batch.back().next, batch.size());
    }
    if (i != pending.size()) fuzz::fail("reopened spool lost entries");
    if (spool.depth() != 0) fuzz::fail("depth after draining");
  }
  {
    Spool spool(dir, options);
    if (spool.depth() != 0 || !spool.readPending(1).empty()) {
      fuzz::fail("drained spool has entries again after reopening");
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string segment(reinterpret_cast<const char*>(data), size);
  // Small segments too (odd input lengths), so that a recovered segment already over its size
  // limit is part of the game: appends then go to segment 2, and segment 1 is read as closed.
  size_t segmentBytes = size % 2 == 1 ? 64 : SpoolOptions{}.segmentBytes;
  runOne(segment, segmentBytes);
  fixChecksums(segment);
  runOne(segment, segmentBytes);
  return 0;
}
