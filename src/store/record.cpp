#include "store/record.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>

namespace muster::store {
namespace {

constexpr std::string_view kMagic = "MREC";
constexpr size_t kHeader = 4 + 4 + 4 + 1;  // magic, length, CRC, type

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// zlib's CRC-32 (the common polynomial): several times faster than Boost.CRC's byte table, which
// was 7 % of a registration's time with a data directory (perf).
uint32_t crc_of(char type, std::string_view payload) {
  const auto t = static_cast<unsigned char>(type);
  uLong crc = crc32(0L, &t, 1);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<uint32_t>(crc);
}

bool known_type(char t) {
  return t == static_cast<char>(RecordType::kStored) ||
         t == static_cast<char>(RecordType::kRemoved) || t == static_cast<char>(RecordType::kEnd);
}

// Whether an intact record starts at `pos`.
bool intact_at(std::string_view data, size_t pos) {
  const std::string_view rest = data.substr(pos);
  if (rest.size() < kHeader || rest.substr(0, 4) != kMagic) return false;
  const uint32_t length = get_u32(rest.data() + 4);
  if (length > kMaxPayload || kHeader + length > rest.size()) return false;
  const char type = rest[12];
  return known_type(type) && get_u32(rest.data() + 8) == crc_of(type, rest.substr(kHeader, length));
}

// Whether an intact record starts anywhere after `pos`.
bool intact_after(std::string_view data, size_t pos) {
  for (size_t next = data.find(kMagic, pos + 1); next != std::string_view::npos;
       next = data.find(kMagic, next + 1))
    if (intact_at(data, next)) return true;
  return false;
}

}  // namespace

void append_record(std::string& out, RecordType type, std::string_view payload) {
  out.append(kMagic);
  put_u32(out, static_cast<uint32_t>(payload.size()));
  put_u32(out, crc_of(static_cast<char>(type), payload));
  out.push_back(static_cast<char>(type));
  out.append(payload);
}

ReadReport read_records(std::string_view data, FunctionRef<void(const Record&)> fn) {
  ReadReport report;
  size_t at = 0;
  size_t damage_from = std::string_view::npos;  // where the current damaged stretch began
  const auto end_damage = [&](size_t upto) {
    if (damage_from == std::string_view::npos) return;
    ++report.damaged;
    report.skipped_bytes += upto - damage_from;
    damage_from = std::string_view::npos;
  };
  while (at < data.size()) {
    const std::string_view rest = data.substr(at);
    const bool framed = rest.size() >= kHeader && rest.substr(0, 4) == kMagic;
    if (framed) {
      const uint32_t length = get_u32(rest.data() + 4);
      if (length <= kMaxPayload && kHeader + length > rest.size() &&
          damage_from == std::string_view::npos && !intact_after(data, at)) {
        // A frame that runs past the end with nothing intact after it: the last write was cut
        // short. (With intact records after it, its length is what is damaged: issue 27.8.)
        report.truncated = true;
        report.skipped_bytes += rest.size();
        return report;
      }
      if (length <= kMaxPayload && kHeader + length <= rest.size()) {
        const char type = rest[12];
        const std::string_view payload = rest.substr(kHeader, length);
        if (known_type(type) && get_u32(rest.data() + 8) == crc_of(type, payload)) {
          end_damage(at);
          ++report.records;
          fn(Record{static_cast<RecordType>(type), payload});
          at += kHeader + length;
          continue;
        }
      }
    }
    // Not an intact record here: skip to the next place that may start one.
    if (damage_from == std::string_view::npos) damage_from = at;
    const size_t next = data.find(kMagic, at + 1);
    at = next == std::string_view::npos ? data.size() : next;
  }
  end_damage(data.size());
  return report;
}

}  // namespace muster::store
