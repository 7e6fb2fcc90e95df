#pragma once
// muster_sd_configs: the instances of appids in a muster cluster, followed by long poll through
// libmuster's Resolver (a change arrives within milliseconds, not at the next refresh). One group
// per appid (source = appid); one target per instance with an address of the configured scheme
// (its host:port), labelled __meta_muster_{appid,env,zone,region,hostname,version,status,scheme}
// and __meta_muster_metadata_<key>. An app with no instance left gives an empty group; a node that
// cannot be reached keeps the last list (the Resolver's rule).
// Threading: created, started and stopped on the sd's io_context thread; the Resolver's callbacks
// run on the client's own thread and hand each list over to the io_context.
#include <memory>
#include <string_view>

#include "muster/instance.h"
#include "sd/provider.h"
#include "sd/providers/tls_config.h"

namespace muster::sd {

class MapReader;

struct MusterConfig {
  static constexpr std::string_view type = "muster", yaml_key = "muster_sd_configs";
  std::vector<std::string> nodes;  // host:port
  std::string env;
  std::vector<std::string> appids;
  std::string zone;             // empty: every zone
  std::string scheme = "http";  // which address of an instance becomes __address__
  std::string token;  // a read token for nodes that have tokens (docs/security.md); "" none
  TlsConfig tls;      // for https:// nodes
  static MusterConfig parse(MapReader& entry);  // muster_config.cpp
  bool operator==(const MusterConfig&) const = default;
};

// The provider, or why it cannot be made (a bad node list).
MadeProvider make_provider(const MusterConfig& config, ProviderContext context);

// The group of one app's instances (pure; the provider's conversion).
TargetGroup muster_group(const std::string& appid, const std::vector<Instance>& instances,
                         const std::string& scheme);

}  // namespace muster::sd
