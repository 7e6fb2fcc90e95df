// consul_sd_configs entries: Prometheus's keys that a Consul agent without Enterprise uses.
#include "sd/config_reader.h"
#include "sd/providers/consul_provider.h"

namespace muster::sd {

ConsulConfig ConsulConfig::parse(MapReader& entry) {
  ConsulConfig c;
  entry.optional("server", c.server);
  if (!host_port(c.server)) fail(entry.node(), "\"server\": \"" + c.server + "\" is not host:port");
  entry.optional("token", c.token);
  entry.optional("datacenter", c.datacenter);
  entry.optional("services", c.services);
  entry.optional("tags", c.tags);
  if (auto meta = entry["node_meta"]; meta.IsDefined() && !meta.IsNull()) {
    if (!meta.IsMap()) fail(meta, "\"node_meta\" must be a map");
    for (const auto& kv : meta)
      c.node_meta[kv.first.Scalar()] = scalar(kv.second, kv.first.Scalar());
  }
  entry.optional("tag_separator", c.tag_separator);
  entry.optional("allow_stale", c.allow_stale);
  entry.optional("refresh_interval", c.refresh_interval);
  entry.optional("scheme", c.scheme);
  if (c.scheme != "http" && c.scheme != "https")
    fail(entry.node(), "\"scheme\": \"" + c.scheme + "\" must be http or https");
  c.tls = TlsConfig::parse(entry);
  return c;
}

}  // namespace muster::sd
