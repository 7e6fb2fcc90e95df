// dns_sd_configs entries: {names, type, port, refresh_interval, nameserver}.
#include "sd/config_reader.h"
#include "sd/providers/dns_provider.h"

namespace muster::sd {

DnsConfig DnsConfig::parse(MapReader& entry) {
  const YAML::Node& n = entry.node();
  DnsConfig c;
  c.names = scalars(entry.required("names"), "names");
  if (c.names.empty()) fail(n, "\"names\" must list at least one name");
  entry.optional("type", c.record_type);
  if (c.record_type != "SRV" && c.record_type != "A" && c.record_type != "AAAA")
    fail(n, "\"type\": \"" + c.record_type + "\" must be SRV, A or AAAA");
  if (auto p = entry["port"]; p.IsDefined()) {
    const std::string text = scalar(p, "port");
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoul(text) == 0 ||
        std::stoul(text) > 65535)
      fail(p, "\"port\": \"" + text + "\" is not a port number");
    c.port = static_cast<uint16_t>(std::stoul(text));
  }
  if (c.record_type != "SRV" && c.port == 0)
    fail(n, "\"port\" is required for type " + c.record_type);
  entry.optional("refresh_interval", c.refresh_interval);
  if (auto s = entry["nameserver"]; s.IsDefined()) {
    c.nameserver = scalar(s, "nameserver");
    if (!host_port(c.nameserver))
      fail(s, "\"nameserver\": \"" + c.nameserver + "\" is not host:port");
  }
  return c;
}

}  // namespace muster::sd
