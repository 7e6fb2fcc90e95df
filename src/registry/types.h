#pragma once
// The registry's data: apps (appid + env) hold zones, zones hold instances by hostname.
// These are plain structs owned by Registry; code outside the registry sees them only inside a
// visitor that the registry runs under its lock (see registry.h), never keeps a pointer to them.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/string_list.h"

namespace muster::registry {

enum Status : int { kStatusUp = 1, kStatusDown = 2 };

// Metadata as sorted (key, value) pairs: what a JSON object of strings becomes.
using Metadata = std::vector<std::pair<std::string, std::string>>;

struct Zone;
struct App;

struct Instance {
  std::string region;
  std::string version;
  StringList addrs;     // in registration order
  StringList metadata;  // key, value, key, value, ... sorted by key
  int status = kStatusUp;
  int64_t reg_timestamp = 0;
  int64_t up_timestamp = 0;
  int64_t renew_timestamp = 0;
  int64_t dirty_timestamp = 0;
  int64_t latest_timestamp = 0;

  // Lease bookkeeping: the monotonic time of the last renew seen here, and the links of the list
  // that keeps instances in renew order, so that eviction reads only the expired ones.
  int64_t renew_mono = 0;
  Instance* lease_prev = nullptr;
  Instance* lease_next = nullptr;
  Zone* zone = nullptr;                   // owner
  const std::string* hostname = nullptr;  // the key of this instance in zone->instances
};

struct Zone {
  std::string name;
  App* app = nullptr;
  std::map<std::string, Instance, std::less<>> instances;  // by hostname
};

// What a poll answer carries for one app and one zone filter, rendered once per change of the app
// and shared by every poll it answers.
struct PollView {
  std::string zone;  // "" = all zones
  std::shared_ptr<const std::string> bytes;
  size_t up = 0;  // UP instances in scope: a change with none does not answer a poll at once
};

struct App {
  std::string appid;
  std::string env;
  int64_t latest_timestamp = 0;
  std::map<std::string, Zone, std::less<>> zones;
  std::vector<PollView> poll_views;  // cleared on every change
};

struct InstanceKey {
  std::string_view zone;
  std::string_view env;
  std::string_view appid;
  std::string_view hostname;
};

}  // namespace muster::registry
