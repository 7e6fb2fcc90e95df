#pragma once
// JSON for the registry's apps (docs/decisions.md §2), written straight into a string, each
// instance by wire::append_instance. Callers hold the registry lock (they run inside a Registry
// visitor or PollRenderer).
#include <string>
#include <string_view>

#include "registry/registry.h"
#include "wire/instance_writer.h"

namespace muster::api {

// The instance's own writer and who reads it (wire/instance_writer.h).
using wire::append_instance;
using wire::Reader;

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
