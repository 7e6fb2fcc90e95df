#pragma once
// The JSON of the Consul API's reads over the registry (docs/api.md, Consul): an instance as a
// /v1/health/service entry and as a /v1/catalog/service entry, by muster's mapping: Service =
// appid, Service.ID and Node = hostname, Datacenter = zone, Namespace = env, Address and Port from
// the instance's first http:// address (else the first with a host and port), Node.Meta = region
// and zone, Service.Meta = metadata but the "consul-" keys, Tags = those of a Consul
// registration (kTagsKey). Its checks are those of its Consul registration (checks/check.h); a
// native instance's one check shows its status: 1 is a passing "muster:status", 2 a critical
// "_service_maintenance:<hostname>" (maintenance, as Consul's aggregate reads it). Threading: pure
// functions, called under the registry lock.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "registry/types.h"

namespace muster::api::consul {

// Where a Consul registration's Tags live in the instance's metadata (a JSON array); Consul
// refuses Meta keys with the "consul-" prefix, so no Meta key can collide with it.
inline constexpr std::string_view kTagsKey = "consul-tags";
// The instance's tags: those of its Consul registration, none for a native one.
std::vector<std::string> tags_of(const registry::Instance& instance);
// A Consul registration's tags as the metadata value (a JSON array of strings).
std::string tags_value(const std::vector<std::string>& tags);

// The host and port Consul clients get; `found` is false when the instance has no address with
// both (Consul allows port 0).
struct HostPort {
  std::string host;
  int port = 0;
  bool found = false;
};
HostPort service_address(const registry::Instance& instance);

struct EntryFilter {
  std::string zone;               // the datacenter; "" = every zone
  bool passing = false;           // ?passing: only instances whose checks all pass (status 1)
  std::vector<std::string> tags;  // ?tag, repeated: the instance must carry every one (any case)
  std::vector<std::pair<std::string, std::string>> node_meta;  // every pair must match
  bool show_checks = true;  // the read shows checks (health); else they are read only for passing
};
// What a read shows of an instance that passes its filter, worked out once per instance.
struct EntryView {
  HostPort address;                   // service_address()
  std::vector<checks::Check> checks;  // checks::checks_of(), when the read shows or needs them
};
// The instance's view when it passes `f` (and has an address a Consul client can use).
std::optional<EntryView> matches(const EntryFilter& f, std::string_view zone,
                                 const registry::Instance& instance);

// Appends one /v1/health/service entry {Node, Service, Checks}; `index` is its Create/ModifyIndex.
void append_health_entry(std::string& out, const registry::App& app, std::string_view zone,
                         const registry::Instance& instance, const EntryView& view, uint64_t index);
// Appends one of the instance's checks, as in a health entry's Checks and /v1/agent/checks.
void append_check(std::string& out, const registry::App& app, const registry::Instance& instance,
                  const checks::Check& check, uint64_t index);
// Appends the instance's checks (`list`, checks::checks_of(instance)), comma-separated: those of
// its Consul registration, and a check showing its native status when they do not say it.
void append_checks(std::string& out, const registry::App& app, const registry::Instance& instance,
                   const std::vector<checks::Check>& list, uint64_t index);
// Whether the instance passes ?passing: status 1 (up) and every check passing.
bool passing(const registry::Instance& instance, const std::vector<checks::Check>& list);
// Appends the instance as a catalog node, as in a health entry's Node (/v1/catalog/nodes).
void append_node(std::string& out, std::string_view zone, const registry::Instance& instance,
                 const HostPort& address, uint64_t index);
// Appends one /v1/agent/services value: {ID, Service, Tags, Meta, Port, Address, Weights, ...}.
void append_agent_service(std::string& out, const registry::App& app, std::string_view zone,
                          const registry::Instance& instance);
// Appends one flat /v1/catalog/service entry.
void append_catalog_entry(std::string& out, const registry::App& app, std::string_view zone,
                          const registry::Instance& instance, const HostPort& address,
                          uint64_t index);

}  // namespace muster::api::consul
