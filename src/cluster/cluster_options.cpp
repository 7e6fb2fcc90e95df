#include "cluster/cluster_options.h"

#include "wire/node_list.h"

namespace muster::cluster {
using wire::split_list;
using wire::valid_host_port;

std::variant<std::vector<std::string>, std::string> parse_nodes(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view a : split_list(text, ',')) {
    if (!valid_host_port(a)) return "\"" + std::string(a) + "\" is not host:port";
    out.emplace_back(a);
  }
  return out;
}

std::variant<ZoneNodes, std::string> parse_zones(std::string_view text) {
  ZoneNodes out;
  for (std::string_view entry : split_list(text, ',')) {
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return "\"" + std::string(entry) + "\" is not zone=host:port;host:port";
    std::vector<std::string> addrs;
    for (std::string_view a : split_list(entry.substr(eq + 1), ';')) {
      if (!valid_host_port(a)) return "\"" + std::string(a) + "\" is not host:port";
      addrs.emplace_back(a);
    }
    if (addrs.empty()) return "zone " + std::string(entry.substr(0, eq)) + " has no nodes";
    out.emplace_back(std::string(entry.substr(0, eq)), std::move(addrs));
  }
  return out;
}

}  // namespace muster::cluster
