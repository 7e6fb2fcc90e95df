#include "api/consul_watch.h"

#include <algorithm>

namespace muster::api {

namespace {

// Apps remembered with their own index; past it the map starts afresh above every index given.
constexpr size_t kMaxRemembered = 1'000'000;

// Indexes count microseconds: Unix time in µs stays below 2^53 (until the year 2255), so
// JavaScript clients and jq hold them exactly (issue 26); nanoseconds did not.
uint64_t now_us(const Clock& clock) {
  return static_cast<uint64_t>(std::max<int64_t>(clock.wall_ns() / 1000, 1));
}

}  // namespace

ConsulWatch::ConsulWatch(const Clock& clock) : clock_(clock), last_(now_us(clock)), floor_(last_) {}

void ConsulWatch::make_key(std::string& out, std::string_view env, std::string_view appid) {
  out.assign(env);
  out.push_back('\0');
  out.append(appid);
}

void ConsulWatch::changed(std::string_view env, std::string_view appid) {
  thread_local std::string key;
  make_key(key, env, appid);
  std::lock_guard lock(mu_);
  last_ = std::max(now_us(clock_), last_ + 1);
  if (auto it = app_index_.find(std::string_view(key)); it != app_index_.end()) {
    it->second = last_;
  } else {
    if (app_index_.size() >= kMaxRemembered) {
      app_index_.clear();
      floor_ = last_;
    }
    app_index_.emplace(key, last_);
  }
  if (by_key_.empty()) return;
  for (auto [it, end] = by_key_.equal_range(std::string_view(key)); it != end; ++it)
    watchers_.at(it->second).wakeup->fire();
  const std::string_view catalog = std::string_view(key).substr(0, env.size() + 1);
  for (auto [it, end] = by_key_.equal_range(catalog); it != end; ++it)
    watchers_.at(it->second).wakeup->fire();
}

uint64_t ConsulWatch::app_index(std::string_view env, std::string_view appid) const {
  thread_local std::string key;
  make_key(key, env, appid);
  std::lock_guard lock(mu_);
  const auto it = app_index_.find(std::string_view(key));
  return it == app_index_.end() ? floor_ : it->second;
}

uint64_t ConsulWatch::catalog_index() const {
  std::lock_guard lock(mu_);
  return last_;
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
