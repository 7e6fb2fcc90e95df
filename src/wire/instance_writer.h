#pragma once
// The registry's instance written as JSON: the one writer of the instance's format, whose reader
// is wire/instance_json.h. Every answer that carries instances (fetch, fetchs, polls, fetch/all,
// a -409), the peers' syncup and the data directory's journal write them with it. Callers hold
// the registry lock (they run inside a Registry visitor, observer or PollRenderer).
// Threading: pure functions.
#include <cstdint>
#include <string>
#include <string_view>

#include "registry/types.h"

namespace muster::wire {

// The metadata key under which an instance keeps its Consul checks, as the JSON array that
// checks::check_list_json() writes (checks/check.h). Consul reserves the "consul-" prefix of
// Meta keys, so no client key can collide with it.
inline constexpr std::string_view kChecksKey = "consul-checks";

// Who reads an answer. A peer (and the data directory) gets every instance whole; any other
// reader gets the Consul checks in its metadata without their Header and Body, which may carry
// credentials (docs/security.md, "Trust boundaries").
enum class Reader { kClient, kPeer };

// A kChecksKey value as a reader who is not a peer sees it (fetch, polls, the CLI): without each
// check's Header and Body (issue 27). Text that is not such a list comes back as "[]".
std::string checks_for_readers(std::string_view checks_json);

// One Instance object, fields in the spec's order. With `wall_offset` (this node's wall clock less
// its monotonic clock, read once for the whole answer), renew_timestamp is rendered from the
// lease's monotonic time, so that the lease a peer reads from it (against X-Muster-Clock, read at
// the same moment) is exact even when the wall clock stepped since the renew
// (docs/decisions.md §5.7). 0: as stored.
void append_instance(std::string& out, const registry::Instance& inst, int64_t wall_offset = 0,
                     Reader reader = Reader::kClient);

}  // namespace muster::wire
