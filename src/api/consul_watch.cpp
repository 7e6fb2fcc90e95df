#include "api/consul_watch.h"

#include <algorithm>

namespace muster::api {

namespace {

// Apps remembered with their own index; past it the map starts afresh above every index given.
constexpr size_t kMaxRemembered = 1'000'000;

}  // namespace

ConsulWatch::ConsulWatch(const Clock& clock)
    : clock_(clock),
      last_(static_cast<uint64_t>(std::max<int64_t>(clock.wall_ns(), 1))),
      floor_(last_) {}

void ConsulWatch::changed(std::string_view env, std::string_view appid) {
  std::lock_guard lock(mu_);
  last_ = std::max(static_cast<uint64_t>(std::max<int64_t>(clock_.wall_ns(), 0)), last_ + 1);
  if (app_index_.size() >= kMaxRemembered) {
    app_index_.clear();
    floor_ = last_;
  }
  Key key{std::string(env), std::string(appid)};
  app_index_[key] = last_;
  for (auto [it, end] = by_key_.equal_range(key); it != end; ++it)
    watchers_.at(it->second).wakeup->fire();
  for (auto [it, end] = by_key_.equal_range(Key{std::string(env), ""}); it != end; ++it)
    watchers_.at(it->second).wakeup->fire();
}

uint64_t ConsulWatch::app_index(std::string_view env, std::string_view appid) const {
  std::lock_guard lock(mu_);
  const auto it = app_index_.find(Key{std::string(env), std::string(appid)});
  return it == app_index_.end() ? floor_ : it->second;
}

uint64_t ConsulWatch::catalog_index() const {
  std::lock_guard lock(mu_);
  return last_;
}

uint64_t ConsulWatch::watch(std::string env, std::string appid,
                            std::shared_ptr<http::Wakeup> wakeup) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  Key key{std::move(env), std::move(appid)};
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
