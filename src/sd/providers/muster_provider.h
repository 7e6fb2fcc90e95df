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

#include "muster/instance.h"
#include "sd/config.h"
#include "sd/provider.h"

namespace muster::sd {

// The provider, or why it cannot be made (a bad node list).
MadeProvider make_muster_provider(const MusterConfig& config, ProviderContext context);

// The group of one app's instances (pure; the provider's conversion).
TargetGroup muster_group(const std::string& appid, const std::vector<Instance>& instances,
                         const std::string& scheme);

}  // namespace muster::sd
