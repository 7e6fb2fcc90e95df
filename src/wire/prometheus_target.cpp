#include "wire/prometheus_target.h"

namespace muster::wire {

std::string sanitize_label_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok =
        c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return out;
}

std::string scrape_address(std::string_view addr, std::string_view scheme) {
  if (addr.size() <= scheme.size() + 3 || !addr.starts_with(scheme) ||
      addr.substr(scheme.size(), 3) != "://")
    return "";
  std::string_view host_port = addr.substr(scheme.size() + 3);
  if (const size_t slash = host_port.find('/'); slash != std::string_view::npos)
    host_port = host_port.substr(0, slash);
  return std::string(host_port);
}

std::map<std::string, std::string> muster_target_labels(const TargetInstance& in,
                                                        std::string_view address,
                                                        std::string_view scheme) {
  std::map<std::string, std::string> t{{"__address__", std::string(address)},
                                       {"__meta_muster_appid", std::string(in.appid)},
                                       {"__meta_muster_env", std::string(in.env)},
                                       {"__meta_muster_zone", std::string(in.zone)},
                                       {"__meta_muster_region", std::string(in.region)},
                                       {"__meta_muster_hostname", std::string(in.hostname)},
                                       {"__meta_muster_version", std::string(in.version)},
                                       {"__meta_muster_status", std::to_string(in.status)},
                                       {"__meta_muster_scheme", std::string(scheme)}};
  for (const auto& [k, v] : in.metadata)
    t["__meta_muster_metadata_" + sanitize_label_name(k)] = std::string(v);
  return t;
}

}  // namespace muster::wire
