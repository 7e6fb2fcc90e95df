#pragma once
// An instance of a service as the SDK sees it: what the registry's fetch and poll answers carry.
// Threading: a plain value.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace muster {

struct Instance {
  std::string region, zone, env, appid, hostname, version;
  std::vector<std::string> addrs;  // "scheme://host:port", in registration order
  std::map<std::string, std::string> metadata;
  int status = 1;  // 1 up, 2 down
  int64_t latest_timestamp = 0;

  bool up() const { return status == 1; }
  // metadata "weight" as a positive integer; 100 when absent or not a positive number.
  uint32_t weight() const;
};

}  // namespace muster
