#pragma once
// What the registry remembers of apps that emptied: their last latest_timestamp and Consul index,
// so that an app registered again continues above them and no poller or watcher sees its version
// go back. Kept for a TTL
// (an hour), and bounded in number and bytes (issue 15.2: fresh appids registered and cancelled
// in a loop used to grow memory for an hour): past a bound the oldest is forgotten, which costs
// only this: an app re-created after its tombstone went starts from the wall clock, which is
// above its old version unless the clock stepped back.
// Threading: none; the Registry calls it under its lock.
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace muster::registry {

class Tombstones {
 public:
  Tombstones(size_t max_count, size_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Remembers (or refreshes) the app's last version and index, deleted at monotonic time `mono`.
  void add(std::string_view appid, std::string_view env, int64_t latest, int64_t mono,
           uint64_t index = 0);
  // The app's last version, forgotten as it is read; nullopt when none is kept.
  std::optional<int64_t> take(std::string_view appid, std::string_view env);
  // The same, kept.
  std::optional<int64_t> find(std::string_view appid, std::string_view env) const;
  // The app's last index, kept; nullopt when none is kept.
  std::optional<uint64_t> index(std::string_view appid, std::string_view env) const;
  // Forgets every tombstone deleted before `mono`.
  void expire_before(int64_t mono);

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t dropped() const { return dropped_; }  // forgotten early, for a bound

 private:
  using Key = std::string;  // appid, its length as 4 bytes, env: unambiguous for any bytes
  struct Entry {
    int64_t latest;
    int64_t deleted_mono;
    uint64_t index;
    std::list<const Key*>::iterator order;
  };
  static Key key(std::string_view appid, std::string_view env);
  static size_t cost(const Key& k);
  void erase(std::unordered_map<Key, Entry>::iterator it);

  const size_t max_count_;
  const size_t max_bytes_;
  std::unordered_map<Key, Entry> entries_;
  std::list<const Key*> order_;  // oldest first; points at the keys in entries_ (stable)
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace muster::registry
