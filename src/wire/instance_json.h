#pragma once
// Reading the registry's JSON answers, one way for every reader: an instance as fetch, fetchs,
// polls, fetch/all and a -409 answer render it (libmuster, the CLI, a node's syncup and
// anti-entropy), and an answer's envelope. A reader skips what it cannot read rather than fail a
// whole answer (docs/decisions.md); readable() says whether an instance may be passed on.
// Threading: pure functions.
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::wire {

// The string at `key`; empty when absent or not a string.
std::string json_string(const boost::json::object& o, std::string_view key);
// The integer at `key`; 0 when absent or not an integer.
int64_t json_int(const boost::json::object& o, std::string_view key);

struct InstanceRecord {
  std::string region, zone, env, appid, hostname, version;
  std::vector<std::string> addrs;  // the strings of "addrs", in order
  // Sorted by key. A value that is not a JSON string is kept as its JSON text.
  std::vector<std::pair<std::string, std::string>> metadata;
  int64_t status = 0, latest_timestamp = 0, dirty_timestamp = 0, renew_timestamp = 0;
  bool lease = true;  // "lease":false marks an instance without heartbeat (muster's own field)

  // Every text is valid UTF-8 (issue 15.1: one instance that is not costs only itself).
  bool readable() const;
  // Every field within the limits a client's write is held to (field_limits.h): what a peer
  // sends is held to them too (issue 27.2).
  bool within_limits() const;
};
// Missing or mistyped fields stay empty or 0.
InstanceRecord read_instance(const boost::json::object& o);

// Moves the record's identity, version and addresses into `out`: any type with those member
// names (libmuster's Instance, the registry's RegisterArgs). Metadata and numbers are the
// caller's, as their types differ.
template <class Out>
void move_texts(InstanceRecord& record, Out& out) {
  out.region = std::move(record.region);
  out.zone = std::move(record.zone);
  out.env = std::move(record.env);
  out.appid = std::move(record.appid);
  out.hostname = std::move(record.hostname);
  out.version = std::move(record.version);
  out.addrs = std::move(record.addrs);
}

// An answer's envelope: {"code": N, "message": "...", "data": ..., "error": ...}.
struct Envelope {
  int code = 0;
  std::string message;
  boost::json::value data, error;  // null when absent
};
// nullopt when `body` is not a JSON object with an integer code. Parsed leniently
// (common/lenient_json.h): text that is not valid UTF-8 does not fail the whole answer.
std::optional<Envelope> read_envelope(std::string_view body);

}  // namespace muster::wire
