#pragma once
// consul_sd_configs: the Consul HTTP API calls Prometheus 2.42 makes (discovery/consul):
// /v1/agent/self for the datacenter when none is configured; /v1/catalog/services as a blocking
// query when no services are listed or tags are set (a watcher per matching service, a vanished
// service's group emptied); /v1/health/service/<name> as a blocking query per service; `index`
// and `wait=120000ms`, `node-meta=key:value` per node_meta entry, `stale=` unless allow_stale is
// false, `tag=` per tag, the token as X-Consul-Token. An answer whose X-Consul-Index equals the
// last one is ignored (so a server that never sends the header is never read, as in Prometheus).
// One group per service, source = the service name, __meta_consul_* labels as Prometheus sets
// them. Namespaces and partitions (Consul Enterprise) are not sent.
// Threading: everything runs on the provider's io_context thread.
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "sd/provider.h"
#include "sd/providers/tls_config.h"

namespace muster::sd {

class MapReader;

struct ConsulConfig {
  static constexpr std::string_view type = "consul", yaml_key = "consul_sd_configs";
  std::string server = "localhost:8500";
  std::string token, datacenter;
  std::vector<std::string> services, tags;
  std::map<std::string, std::string> node_meta;  // sent as node-meta=key:value
  std::string tag_separator = ",";
  bool allow_stale = true;
  milliseconds refresh_interval{std::chrono::seconds(30)};
  std::string scheme = "http";  // "https": TLS to the agent, with `tls`
  TlsConfig tls;
  static ConsulConfig parse(MapReader& entry);  // consul_config.cpp
  bool operator==(const ConsulConfig&) const = default;
};

std::unique_ptr<Provider> make_provider(const ConsulConfig& config, ProviderContext context);

// Whether a service the catalog lists is watched: one of the configured services (any, when
// none is configured) carrying every configured tag. Prometheus's shouldWatch.
bool consul_should_watch(const ConsulConfig& config, const std::string& name,
                         const std::vector<std::string>& tags);

// The group of one /v1/health/service answer (pure; the provider's conversion), or why the body
// cannot be read.
std::variant<TargetGroup, std::string> consul_group(std::string_view body,
                                                    const std::string& service,
                                                    const std::string& datacenter,
                                                    const std::string& tag_separator);

}  // namespace muster::sd
