#include "cluster/cluster_options.h"

namespace muster::cluster {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t at = text.find(sep);
    std::string_view part = text.substr(0, at);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    if (!part.empty()) out.push_back(part);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

// A host:port with a numeric port in 1..65535.
bool valid_addr(std::string_view a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == a.size()) return false;
  int port = 0;
  for (char c : a.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
    if (port > 65535) return false;
  }
  return port > 0;
}

}  // namespace

std::variant<std::vector<std::string>, std::string> parse_nodes(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view a : split(text, ',')) {
    if (!valid_addr(a)) return "\"" + std::string(a) + "\" is not host:port";
    out.emplace_back(a);
  }
  return out;
}

std::variant<ZoneNodes, std::string> parse_zones(std::string_view text) {
  ZoneNodes out;
  for (std::string_view entry : split(text, ',')) {
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return "\"" + std::string(entry) + "\" is not zone=host:port;host:port";
    std::vector<std::string> addrs;
    for (std::string_view a : split(entry.substr(eq + 1), ';')) {
      if (!valid_addr(a)) return "\"" + std::string(a) + "\" is not host:port";
      addrs.emplace_back(a);
    }
    if (addrs.empty()) return "zone " + std::string(entry.substr(0, eq)) + " has no nodes";
    out.emplace_back(std::string(entry.substr(0, eq)), std::move(addrs));
  }
  return out;
}

}  // namespace muster::cluster
