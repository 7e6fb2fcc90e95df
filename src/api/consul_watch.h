#pragma once
// The parked blocking queries of the Consul API (docs/api.md, Consul), and the indexes they
// compare, which the registry keeps (App::index: derived from versions that replicate, so that the
// nodes of a cluster agree, in µs below 2^53). A parked query is woken at the next change of its
// app (or of any app, for the catalog); it then compares indexes itself. Threading: changed()
// (and app_changed(), as the registry's observer) runs on any thread, under the registry lock; it
// takes only this object's mutex and fires wakeups, never the registry. Everything else from any
// thread, not under the registry lock.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "http/message.h"
#include "registry/registry.h"

namespace muster::api {

class ConsulWatch final : public registry::ChangeObserver {
 public:
  explicit ConsulWatch(const registry::Registry& registry);

  void changed(std::string_view env, std::string_view appid);
  void app_changed(std::string_view env, std::string_view appid) override { changed(env, appid); }
  // Registry::app_index() and catalog_index().
  uint64_t app_index(std::string_view env, std::string_view appid) const {
    return registry_.app_index(env, appid);
  }
  uint64_t catalog_index() const { return registry_.catalog_index(); }

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
  const registry::Registry& registry_;
  mutable std::mutex mu_;
  std::map<uint64_t, Watcher> watchers_;              // by id
  std::multimap<Key, uint64_t, std::less<>> by_key_;  // key -> watcher id
  uint64_t next_id_ = 1;
};

}  // namespace muster::api
