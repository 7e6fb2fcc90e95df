#pragma once
// Reading other nodes' state: an instance as a peer renders it (fetch/all, a -409 answer) turned
// into a replicated register, a whole fetch/all answer applied (docs/decisions.md §6.6), a digests
// answer. Threading: pure parsing; apply_snapshot() locks the registry per instance.
#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "registry/registry.h"

namespace muster::cluster {

// nullopt when `v` is not an instance with an identity and a dirty_timestamp, or holds text that
// is not valid UTF-8. With `sender_clock` (the wall clock of whoever rendered `v`, when it was
// rendered), the copy carries its lease: its age is that clock less its renew_timestamp
// (docs/decisions.md §5.7). Without, it is taken as renewed now (a -409 answer, whose sender has
// just renewed it).
std::optional<registry::RegisterArgs> instance_args(
    const boost::json::value& v, std::optional<int64_t> sender_clock = std::nullopt);

struct SnapshotCounts {
  size_t applied = 0;
  size_t skipped = 0;  // entries that are not readable instances
  size_t lapsed = 0;   // instances whose lease had lapsed where they came from: not taken
};
// Applies every instance of a fetch/all answer with its dirty_timestamp (the newer copy wins) and
// the lease it carries (see instance_args; a copy whose lease lapsed is not taken). nullopt when
// `body` is not a code-0 fetch/all answer.
std::optional<SnapshotCounts> apply_snapshot(registry::Registry& registry, std::string_view body,
                                             std::optional<int64_t> sender_clock = std::nullopt);

// Per app (appid, env): its instance count, digest and Consul index, as /discovery/digests
// reports them (index 0: a node that does not say).
struct DigestSummary {
  size_t instances = 0;
  uint64_t digest = 0;
  uint64_t index = 0;
};
using Digests = std::map<std::pair<std::string, std::string>, DigestSummary>;
// nullopt when `body` is not a code-0 /discovery/digests answer.
std::optional<Digests> parse_digests(std::string_view body);

}  // namespace muster::cluster
