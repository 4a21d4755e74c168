// The RocksDB options every family of the store is written with, in one place: Store::open uses
// them, and the bulk loader (bulk-load.h) writes its SST files in the same table format, so a
// loaded database reads as one that grew by ingestion.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <memory>
#include <string_view>

namespace rdz {

// The options of the column family `name` ("zr7.leads", "system", …) on top of `base`: the
// block-based table format (index and filter blocks in `cache`, which may be null: RocksDB's own
// small cache), and the memtables'.
rocksdb::ColumnFamilyOptions familyOptions(const rocksdb::Options& base,
                                           std::shared_ptr<rocksdb::Cache> cache,
                                           std::string_view name);

// Whether most point reads of family `name` look for a key that is not there: a new idempotency
// key (system), a phone not on the opposition list, a person no client got (dedup). Only those
// families' SST files carry a Bloom filter: a filter costs 10 bits per key in the block cache,
// and at ten million deliveries the other families' filters (leads, index, history: read by key
// that exists, or scanned) would crowd the index blocks out of it.
bool pointReadsMostlyMiss(std::string_view name);

}  // namespace rdz
