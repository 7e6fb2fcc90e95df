#pragma once
// dns_sd_configs (Prometheus's discovery/dns) through c-ares: every refresh_interval each name is
// looked up (SRV, A or AAAA; the search list and servers of /etc/resolv.conf, or one `nameserver`
// host:port, which lets tests use a DNS server on a loopback port). One group per name, source =
// the name; each record a target with __meta_dns_name, __meta_dns_srv_record_target (with its
// trailing dot), __meta_dns_srv_record_port and __meta_dns_mx_record_target (empty when not
// applicable). NXDOMAIN or no records gives an empty group; a name whose lookup fails is left out,
// so its last group stays.
// Threading: as RefreshProvider; lookups run on the provider's io_context thread.
#include <cstdint>
#include <memory>
#include <string_view>

#include "sd/provider.h"

namespace muster::sd {

class MapReader;

struct DnsConfig {
  static constexpr std::string_view type = "dns", yaml_key = "dns_sd_configs";
  std::vector<std::string> names;
  std::string record_type = "SRV";  // SRV, A, AAAA (the YAML key "type")
  uint16_t port = 0;                // required unless SRV
  milliseconds refresh_interval{std::chrono::seconds(30)};
  std::string nameserver;  // host:port; empty: the system's resolver configuration
  static DnsConfig parse(MapReader& entry);  // dns_config.cpp
  bool operator==(const DnsConfig&) const = default;
};

MadeProvider make_provider(const DnsConfig& config, ProviderContext context);

}  // namespace muster::sd
