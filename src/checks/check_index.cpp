#include "checks/check_index.h"

namespace muster::checks {
namespace {

std::string joined(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + 1 + b.size());
  out.append(a).push_back('\0');
  out.append(b);
  return out;
}

}  // namespace

std::string CheckIndex::instance_key(const cluster::InstanceId& id) {
  return joined(joined(id.env, id.appid), id.hostname);
}

void CheckIndex::stored(const registry::Instance& inst) {
  if (inst.zone->name != zone_ || (inst.lease && size_.load(std::memory_order_relaxed) == 0))
    return;
  cluster::InstanceId id{zone_, inst.zone->app->env, inst.zone->app->appid, *inst.hostname};
  const std::string key = instance_key(id);
  // Parsed before the index's lock: the registry's lock is held already, the index's need not be.
  std::shared_ptr<Entry> entry;
  if (!inst.lease) {
    entry = std::make_shared<Entry>(Entry{id, checks_of(inst), {}, {}});
    for (const Check& c : entry->checks)
      entry->owner_keys.push_back(joined(key, c.id));
    entry->renewed_ms.assign(entry->checks.size(), 0);
  }
  std::lock_guard lock(mu_);
  forget(key);
  if (!entry) return;  // a native instance (with heartbeat) now: not the Consul agent's
  by_service_[joined(id.env, id.hostname)].insert(id.appid);
  for (const Check& c : entry->checks)
    by_check_[joined(id.env, c.id)].emplace(id.appid, id.hostname);
  entries_.emplace(key, std::move(entry));
  size_.store(entries_.size(), std::memory_order_relaxed);
  listed_.reset();
}

void CheckIndex::removed(const registry::Instance& inst) {
  if (inst.zone->name != zone_ || inst.lease) return;
  const std::string key =
      instance_key({zone_, inst.zone->app->env, inst.zone->app->appid, *inst.hostname});
  std::lock_guard lock(mu_);
  forget(key);
}

void CheckIndex::forget(const std::string& key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  const cluster::InstanceId& id = it->second->id;
  const auto drop = [](auto& map, const std::string& k, const auto& value) {
    const auto m = map.find(k);
    if (m == map.end()) return;
    m->second.erase(value);
    if (m->second.empty()) map.erase(m);
  };
  drop(by_service_, joined(id.env, id.hostname), id.appid);
  for (const Check& c : it->second->checks)
    drop(by_check_, joined(id.env, c.id), std::make_pair(id.appid, id.hostname));
  entries_.erase(it);
  size_.store(entries_.size(), std::memory_order_relaxed);
  listed_.reset();
}

std::optional<cluster::InstanceId> CheckIndex::service(std::string_view env,
                                                       std::string_view id) const {
  std::lock_guard lock(mu_);
  const auto it = by_service_.find(joined(env, id));
  if (it == by_service_.end()) return std::nullopt;
  return cluster::InstanceId{zone_, std::string(env), *it->second.begin(), std::string(id)};
}

std::optional<FoundCheck> CheckIndex::check(std::string_view env, std::string_view check_id) const {
  std::lock_guard lock(mu_);
  const auto it = by_check_.find(joined(env, check_id));
  if (it == by_check_.end()) return std::nullopt;
  const auto& [appid, hostname] = *it->second.begin();
  const auto entry = entries_.find(joined(joined(env, appid), hostname));
  if (entry == entries_.end()) return std::nullopt;
  for (const Check& c : entry->second->checks)
    if (c.id == check_id) return FoundCheck{entry->second->id, c};
  return std::nullopt;
}

std::shared_ptr<const CheckIndex::Entries> CheckIndex::with_checks() const {
  std::lock_guard lock(mu_);
  if (listed_) return listed_;
  auto out = std::make_shared<Entries>();
  out->reserve(entries_.size());
  for (const auto& [key, entry] : entries_)
    if (!entry->checks.empty()) out->push_back(entry);
  listed_ = std::move(out);
  return listed_;
}

size_t CheckIndex::registrations() const {
  return size_.load(std::memory_order_relaxed);
}

}  // namespace muster::checks
