#pragma once
// Form bodies of the original per-request replication (docs/decisions.md §6.3): what a node POSTs
// to a peer's /discovery/* route for each write, built with wire/form.h. `replication` is left out;
// the link adds it per target. Threading: pure functions; the Instance overloads run inside a
// registry visitor.
#include <string>

#include "registry/registry.h"

namespace muster::cluster {

// Fields are encoded by wire/form.h, as every sender's are.
// The always-sent fields: region, zone, env, appid, hostname, from_zone=true.
void append_identity(std::string& out, std::string_view region, const registry::InstanceKey& key);

// The lease of an instance that has one is not in these bodies: the link adds it as `renew_age`
// (ns since its last renew here; docs/decisions.md §5.7) when it sends them, from
// PeerItem::renewed_mono (peer_link.h). Bilibili's nodes ignore the field, as any they do not know.
std::string register_form(const registry::Instance& inst);
std::string renew_form(const registry::Instance& inst);
std::string cancel_form(std::string_view region, const registry::InstanceKey& key,
                        int64_t latest_timestamp);
std::string set_form(std::string_view region, const registry::SetArgs& args, int64_t set_timestamp);

registry::InstanceKey key_of(const registry::Instance& inst);

}  // namespace muster::cluster
