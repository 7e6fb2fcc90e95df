#pragma once
// The JSON of the Consul API's reads over the registry (docs/api.md, Consul): an instance as a
// /v1/health/service entry and as a /v1/catalog/service entry, by muster's mapping: Service =
// appid, Service.ID and Node = hostname, Datacenter = zone, Namespace = env, Address and Port from
// the instance's first http:// address (else the first with a host and port), Node.Meta = region
// and zone, Service.Meta = metadata, Tags = []. Its one check shows its status: 1 is a passing
// "muster:status", 2 a critical "_service_maintenance:<hostname>" (maintenance, as Consul's
// aggregate reads it). Threading: pure functions, called under the registry lock.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/types.h"

namespace muster::api::consul {

// host and port of the address Consul clients get, or nullopt-like {"", 0} when it has none.
struct HostPort {
  std::string host;
  int port = 0;
};
HostPort service_address(const registry::Instance& instance);

struct EntryFilter {
  std::string zone;       // the datacenter; "" = every zone
  bool passing = false;   // ?passing: only instances whose checks all pass (status 1)
  bool has_tags = false;  // ?tag given: no instance has tags, so nothing matches
  std::vector<std::pair<std::string, std::string>> node_meta;  // every pair must match
};
bool matches(const EntryFilter& f, std::string_view zone, const registry::Instance& instance);

// Appends one /v1/health/service entry {Node, Service, Checks}; `index` is its Create/ModifyIndex.
void append_health_entry(std::string& out, const registry::App& app, std::string_view zone,
                         const registry::Instance& instance, uint64_t index);
// Appends the instance's one check, as in a health entry's Checks (/v1/health/checks/<name>).
void append_check(std::string& out, const registry::App& app, const registry::Instance& instance,
                  uint64_t index);
// Appends the instance as a catalog node, as in a health entry's Node (/v1/catalog/nodes).
void append_node(std::string& out, std::string_view zone, const registry::Instance& instance,
                 uint64_t index);
// Appends one flat /v1/catalog/service entry.
void append_catalog_entry(std::string& out, const registry::App& app, std::string_view zone,
                          const registry::Instance& instance, uint64_t index);

}  // namespace muster::api::consul
