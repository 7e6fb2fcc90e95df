#include "cluster/snapshot.h"

#include <algorithm>
#include <boost/json/parse.hpp>

#include "wire/instance_json.h"

namespace muster::cluster {

// An instance as rendered by fetch/all or a -409 answer, as a replicated register: the peer's
// dirty_timestamp decides which copy wins.
std::optional<registry::RegisterArgs> instance_args(const boost::json::value& v,
                                                    std::optional<int64_t> sender_clock) {
  if (!v.is_object()) return std::nullopt;
  wire::InstanceRecord r = wire::read_instance(v.get_object());
  if (r.zone.empty() || r.env.empty() || r.appid.empty() || r.hostname.empty()) return std::nullopt;
  // Held to what a client's write is held to: a peer cannot put in what a route refuses.
  if (r.dirty_timestamp <= 0 || !r.readable() || !r.within_limits()) return std::nullopt;
  registry::RegisterArgs a;
  wire::move_texts(r, a);
  a.metadata = std::move(r.metadata);  // sorted by key, as the registry keeps it
  a.status = r.status == registry::kStatusDown ? registry::kStatusDown : registry::kStatusUp;
  a.dirty_timestamp = r.dirty_timestamp;
  a.lease = r.lease;
  if (sender_clock && r.renew_timestamp > 0)
    a.lease_age_ns = std::max<int64_t>(0, *sender_clock - r.renew_timestamp);
  return a;
}

std::optional<SnapshotCounts> apply_snapshot(registry::Registry& registry, std::string_view body,
                                             std::optional<int64_t> sender_clock) {
  const auto envelope = wire::read_envelope(body);
  if (!envelope || envelope->code != 0 || !envelope->data.is_object()) return std::nullopt;
  SnapshotCounts counts;
  for (const auto& [appid, list] : envelope->data.get_object()) {
    if (!list.is_array()) {
      ++counts.skipped;
      continue;
    }
    for (const auto& inst : list.get_array()) {
      if (auto args = instance_args(inst, sender_clock)) {
        const auto outcome = registry.register_instance(*args);
        if (outcome == registry::RegisterOutcome::kIgnoredLapsed)
          ++counts.lapsed;
        else if (outcome == registry::RegisterOutcome::kRefusedAhead)
          ++counts.skipped;
        else
          ++counts.applied;
      } else {
        ++counts.skipped;
      }
    }
  }
  return counts;
}

std::optional<Digests> parse_digests(std::string_view body) {
  const auto envelope = wire::read_envelope(body);
  if (!envelope || envelope->code != 0 || !envelope->data.is_array()) return std::nullopt;
  Digests out;
  for (const auto& item : envelope->data.get_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    const auto* appid = o.if_contains("appid");
    const auto* env = o.if_contains("env");
    const auto* digest = o.if_contains("digest");
    const auto* count = o.if_contains("instances");
    if (appid == nullptr || !appid->is_string() || env == nullptr || !env->is_string() ||
        digest == nullptr || !digest->is_string() || count == nullptr || !count->is_int64())
      continue;
    DigestSummary s;
    s.instances = static_cast<size_t>(count->get_int64());
    s.digest = std::strtoull(std::string(digest->get_string()).c_str(), nullptr, 16);
    if (const auto* index = o.if_contains("index"); index != nullptr && index->is_int64())
      s.index = static_cast<uint64_t>(std::max<int64_t>(index->get_int64(), 0));
    out[{std::string(appid->get_string()), std::string(env->get_string())}] = s;
  }
  return out;
}

}  // namespace muster::cluster
