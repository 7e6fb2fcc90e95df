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

// A peer's JSON answer, parsed even where a string is not valid UTF-8 (an older node, or one of
// another make, may hold such an instance): the readers below skip what they cannot use rather
// than lose the whole answer (issue 15.1). A null value when `body` is not JSON.
boost::json::value parse_peer_json(std::string_view body);

// nullopt when `v` is not an instance with an identity and a dirty_timestamp, or holds text that
// is not valid UTF-8.
std::optional<registry::RegisterArgs> instance_args(const boost::json::value& v);

struct SnapshotCounts {
  size_t applied = 0;
  size_t skipped = 0;  // entries that are not readable instances
};
// Applies every instance of a fetch/all answer with its dirty_timestamp (the newer copy wins).
// nullopt when `body` is not a code-0 fetch/all answer.
std::optional<SnapshotCounts> apply_snapshot(registry::Registry& registry, std::string_view body);

// Per app (appid, env): its instance count and digest, as /discovery/digests reports them.
struct DigestSummary {
  size_t instances = 0;
  uint64_t digest = 0;
};
using Digests = std::map<std::pair<std::string, std::string>, DigestSummary>;
// nullopt when `body` is not a code-0 /discovery/digests answer.
std::optional<Digests> parse_digests(std::string_view body);

}  // namespace muster::cluster
