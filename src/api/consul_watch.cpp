#include "api/consul_watch.h"

namespace muster::api {

ConsulWatch::ConsulWatch(const registry::Registry& registry) : registry_(registry) {}

void ConsulWatch::make_key(std::string& out, std::string_view env, std::string_view appid) {
  out.assign(env);
  out.push_back('\0');
  out.append(appid);
}

void ConsulWatch::changed(std::string_view env, std::string_view appid) {
  thread_local std::string key;
  make_key(key, env, appid);
  std::lock_guard lock(mu_);
  if (by_key_.empty()) return;
  for (auto [it, end] = by_key_.equal_range(std::string_view(key)); it != end; ++it)
    watchers_.at(it->second).wakeup->fire();
  const std::string_view catalog = std::string_view(key).substr(0, env.size() + 1);
  for (auto [it, end] = by_key_.equal_range(catalog); it != end; ++it)
    watchers_.at(it->second).wakeup->fire();
}

uint64_t ConsulWatch::watch(std::string_view env, std::string_view appid,
                            std::shared_ptr<http::Wakeup> wakeup) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  Key key;
  make_key(key, env, appid);
  by_key_.emplace(key, id);
  watchers_.emplace(id, Watcher{std::move(key), std::move(wakeup)});
  return id;
}

void ConsulWatch::unwatch(uint64_t id) {
  std::lock_guard lock(mu_);
  const auto w = watchers_.find(id);
  if (w == watchers_.end()) return;
  for (auto [it, end] = by_key_.equal_range(w->second.key); it != end; ++it) {
    if (it->second == id) {
      by_key_.erase(it);
      break;
    }
  }
  watchers_.erase(w);
}

size_t ConsulWatch::watching() const {
  std::lock_guard lock(mu_);
  return watchers_.size();
}

}  // namespace muster::api
