#pragma once
// JSON for the registry's data (docs/decisions.md §2), written straight into a string. Callers hold
// the registry lock (they run inside a Registry visitor or PollRenderer).
#include <string>
#include <string_view>

#include "registry/registry.h"

namespace muster::api {

// Who reads an answer. A peer (and the data directory) gets every instance whole; any other
// reader gets the Consul checks in its metadata without their Header and Body, which may carry
// credentials (checks::checks_for_readers; docs/security.md, "Trust boundaries").
enum class Reader { kClient, kPeer };

// One Instance object, fields in the spec's order. With `wall_offset` (this node's wall clock less
// its monotonic clock, read once for the whole answer), renew_timestamp is rendered from the
// lease's monotonic time, so that the lease a peer reads from it (against X-Muster-Clock, read at
// the same moment) is exact even when the wall clock stepped since the renew
// (docs/decisions.md §5.7). 0: as stored.
void append_instance(std::string& out, const registry::Instance& inst, int64_t wall_offset = 0,
                     Reader reader = Reader::kClient);

// InstanceInfo: {"instances":{"<zone>":[...]},"latest_timestamp":N}. Zones sorted, instances by
// hostname; `zone` "" means all zones; instances whose status is not in `status_mask` are left out
// (their zone still appears, as []).
void append_instance_info(std::string& out, const registry::App& app, std::string_view zone,
                          int status_mask, int64_t wall_offset = 0,
                          Reader reader = Reader::kClient);

// The brpc-compatible fetchs form (docs/decisions.md §2.3): "instances" as one flat array sorted by
// zone and hostname, plus "zone_instances" as the zone map.
void append_instance_info_flat(std::string& out, const registry::App& app, std::string_view zone,
                               int status_mask);

// What a poll answer carries for an app: its UP instances.
class UpInstancesRenderer final : public registry::PollRenderer {
 public:
  std::string render(const registry::App& app, std::string_view zone) const override;
};

}  // namespace muster::api
