#pragma once
// The records of a data directory's files (docs/architecture.md, "The data directory"): each is
// framed so that a reader finds where it starts, how long it is and whether it is intact:
//
//   "MREC"  u32 length (little-endian)  u32 CRC-32 of type and payload  type (1 byte)  payload
//
// A torn or damaged stretch (a crash in mid-write, a flipped bit, a file cut short) costs only the
// records it touches: the reader counts it and goes on from the next "MREC" that frames an
// intact record. Threading: pure functions.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/function_ref.h"

namespace muster::store {

enum class RecordType : char {
  kStored = 'U',   // an instance as it now is (its JSON, as fetch/all renders it)
  kRemoved = 'R',  // an instance gone: {"zone","env","appid","hostname"}
  kEnd = 'E',      // the last record of a complete snapshot: {"records":N}
};

struct Record {
  RecordType type;
  std::string_view payload;
};

// Payloads larger than this are not records (an instance is at most about 30 KiB).
inline constexpr size_t kMaxPayload = 1024 * 1024;

// Appends one framed record to `out`.
void append_record(std::string& out, RecordType type, std::string_view payload);

struct ReadReport {
  size_t records = 0;        // intact records read
  size_t damaged = 0;        // stretches skipped: a bad frame, a CRC mismatch, an unknown type
  size_t skipped_bytes = 0;  // bytes in those stretches
  bool truncated = false;    // the data ends inside a record (a write cut short)
};

// Calls `fn` for every intact record of `data`, in order.
ReadReport read_records(std::string_view data, FunctionRef<void(const Record&)> fn);

}  // namespace muster::store
