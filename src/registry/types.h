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

#include "common/stable_hash.h"
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
  // false: no heartbeat (a Consul registration, docs/api.md): never expires, is not in the lease
  // list and is not counted by the self-protection guard; it goes when cancelled.
  bool lease = true;
  int64_t reg_timestamp = 0;
  int64_t up_timestamp = 0;
  int64_t renew_timestamp = 0;
  int64_t dirty_timestamp = 0;
  int64_t latest_timestamp = 0;

  // Lease bookkeeping: the monotonic time of the last renew seen here, and the links of the list
  // that keeps instances in renew order, so that eviction reads only the expired ones.
  int64_t renew_mono = 0;
  // The lease came from a peer or the disk older than the newest lease here, so it is kept in the
  // registry's set of carried leases (ordered by renew_mono) rather than in the list, until its
  // next renew.
  bool carried = false;
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
class PollRenderer;

// One rendering of an app for polls, cached until the app's next change. Keyed by the renderer as
// well as the zone: an internal watcher's renderer (which may render nothing) never fills the
// cache a wire poll reads from.
struct PollView {
  const PollRenderer* renderer = nullptr;
  std::string zone;  // "" = all zones
  std::shared_ptr<const std::string> bytes;
  size_t up = 0;  // UP instances in scope: a change with none does not answer a poll at once
};

struct App {
  std::string appid;
  std::string env;
  int64_t latest_timestamp = 0;
  // Consul's index for the app (X-Consul-Index, ModifyIndex), in µs so that it stays below 2^53
  // (issue 26). Each change sets it to max(index + 1, version / 1000), where version is a
  // timestamp that travels with the change (the instance's dirty_timestamp, a set's or a cancel's
  // timestamp; an eviction's is the evicted copy's dirty_timestamp, so it only adds 1): nodes
  // that apply the same changes in the same order agree without a word, and anti-entropy takes
  // the higher index where the order differed (Registry::raise_index). Rises at every change,
  // never with a renew.
  uint64_t index = 0;
  std::map<std::string, Zone, std::less<>> zones;
  std::vector<PollView> poll_views;  // cleared on every change
  // XOR of instance_digest() over the instances: equal on two nodes that hold the same
  // instances at the same dirty_timestamp, whatever their renew times. Anti-entropy compares it.
  uint64_t digest = 0;
  size_t instance_count = 0;
  size_t unleased_count = 0;  // instances without a lease (Consul registrations)
};

// One instance's part of App::digest: FNV-1a over zone and hostname, mixed with its dirty
// timestamp. Defined here, not std::hash, so that every build agrees.
inline uint64_t instance_digest(std::string_view zone, std::string_view hostname, int64_t dirty) {
  // Byte 0xff after each part: ("ab","c") and ("a","bc") differ.
  const std::string_view separator("\xff", 1);
  const uint64_t h = fnv1a(fnv1a(fnv1a(fnv1a(kFnvOffset, zone), separator), hostname), separator);
  // The finaliser spreads the timestamp's low bits.
  return mix64(h ^ static_cast<uint64_t>(dirty));
}

struct InstanceKey {
  std::string_view zone;
  std::string_view env;
  std::string_view appid;
  std::string_view hostname;
};

}  // namespace muster::registry
