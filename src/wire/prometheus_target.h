#pragma once
// A muster instance as a Prometheus target, one way for both sides that offer it: muster sd's
// muster provider (sd/providers/muster_provider.cpp) and a node's own HTTP SD endpoint
// (api/prometheus_sd_api.cpp). Threading: pure functions.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::wire {

// Replaces every character outside [a-zA-Z0-9_] with '_' (Prometheus's
// util/strutil.SanitizeLabelName).
std::string sanitize_label_name(std::string_view name);

// host:port of `addr` when it is an address of `scheme` ("http://10.0.0.1:8000/x" gives
// "10.0.0.1:8000" for "http"); "" otherwise.
std::string scrape_address(std::string_view addr, std::string_view scheme);

struct TargetInstance {
  std::string_view appid, env, zone, region, hostname, version;
  int status = 1;
  std::vector<std::pair<std::string_view, std::string_view>> metadata;
};
// __address__ = `address`, and __meta_muster_{appid,env,zone,region,hostname,version,status,
// scheme} and __meta_muster_metadata_<key> (the key sanitised).
std::map<std::string, std::string> muster_target_labels(const TargetInstance& instance,
                                                        std::string_view address,
                                                        std::string_view scheme);

}  // namespace muster::wire
