#pragma once
// dns_sd_configs (Prometheus's discovery/dns) through c-ares: every refresh_interval each name is
// looked up (SRV, A or AAAA; the search list and servers of /etc/resolv.conf, or one `nameserver`
// host:port, which lets tests use a DNS server on a loopback port). One group per name, source =
// the name; each record a target with __meta_dns_name, __meta_dns_srv_record_target (with its
// trailing dot), __meta_dns_srv_record_port and __meta_dns_mx_record_target (empty when not
// applicable). NXDOMAIN or no records gives an empty group; a name whose lookup fails is left out,
// so its last group stays.
// Threading: as RefreshProvider; lookups run on the provider's io_context thread.
#include <memory>

#include "sd/config.h"
#include "sd/provider.h"

namespace muster::sd {

MadeProvider make_dns_provider(const DnsConfig& config, ProviderContext context);

}  // namespace muster::sd
