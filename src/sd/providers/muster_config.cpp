// muster_sd_configs entries: {nodes, env, appids, zone, scheme, token, tls_config}.
#include "sd/config_reader.h"
#include "sd/providers/muster_provider.h"

namespace muster::sd {

MusterConfig MusterConfig::parse(MapReader& entry) {
  const YAML::Node& n = entry.node();
  MusterConfig c;
  c.nodes = scalars(entry.required("nodes"), "nodes");
  for (const auto& node : c.nodes) {
    const std::string_view addr =
        node.starts_with("https://") ? std::string_view(node).substr(8) : std::string_view(node);
    if (!host_port(std::string(addr)))
      fail(n, "node \"" + node + "\" is not host:port (or https://host:port)");
  }
  if (c.nodes.empty()) fail(n, "\"nodes\" must list at least one node");
  c.env = scalar(entry.required("env"), "env");
  c.appids = scalars(entry.required("appids"), "appids");
  if (c.appids.empty()) fail(n, "\"appids\" must list at least one appid");
  entry.optional("zone", c.zone);
  entry.optional("scheme", c.scheme);
  entry.optional("token", c.token);
  for (char ch : c.token)
    if (ch <= ' ' || ch > '~') fail(n, "\"token\" must be visible ASCII without spaces");
  c.tls = TlsConfig::parse(entry);
  return c;
}

}  // namespace muster::sd
