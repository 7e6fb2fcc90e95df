#pragma once
// The indexes of the Consul API and its parked blocking queries (docs/api.md, Consul).
// Each app (env, appid) has an index, set at each of its changes from one node-wide counter that
// starts at the node's start time in microseconds (below 2^53) and only rises (max(now,
// last + 1)): so an index never goes backwards on a node, across restarts included, and an app
// that leaves and comes back keeps rising. The catalog's index is that counter. A parked query is
// woken at the next change of its app (or of any app, for the catalog); it then compares indexes
// itself. Threading: changed() is the registry's change listener (any thread, under the registry
// lock; it takes only this object's mutex and fires wakeups); everything else from any thread.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "http/message.h"

namespace muster::api {

class ConsulWatch {
 public:
  explicit ConsulWatch(const Clock& clock);

  void changed(std::string_view env, std::string_view appid);
  // The app's index: its last change, or the floor below every index given since (an app this
  // node has not seen change).
  uint64_t app_index(std::string_view env, std::string_view appid) const;
  uint64_t catalog_index() const;

  // Fires `wakeup` at each change of (env, appid) from now on; an empty appid: of any app.
  // Returns an id for unwatch().
  uint64_t watch(std::string_view env, std::string_view appid,
                 std::shared_ptr<http::Wakeup> wakeup);
  void unwatch(uint64_t id);
  size_t watching() const;

 private:
  // env + '\0' + appid: one string, so that a change builds its key once, in a reused buffer,
  // and allocates only for an app not seen before. ("env\0" is the catalog watchers' key.)
  using Key = std::string;
  static void make_key(std::string& out, std::string_view env, std::string_view appid);
  struct Watcher {
    Key key;
    std::shared_ptr<http::Wakeup> wakeup;
  };
  const Clock& clock_;
  mutable std::mutex mu_;
  uint64_t last_;   // the catalog index
  uint64_t floor_;  // the index of apps not in app_index_
  std::map<Key, uint64_t, std::less<>> app_index_;
  std::map<uint64_t, Watcher> watchers_;              // by id
  std::multimap<Key, uint64_t, std::less<>> by_key_;  // key -> watcher id
  uint64_t next_id_ = 1;
};

}  // namespace muster::api
