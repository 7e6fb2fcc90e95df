#include "registry/registry.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace muster::registry {
namespace {

StringList pack_addrs(const std::vector<std::string>& addrs) {
  StringList out;
  for (const auto& a : addrs)
    out.push_back(a);
  out.shrink_to_fit();
  return out;
}

// Sorted by key; on duplicate keys the last one given wins.
StringList pack_metadata(const Metadata& m) {
  std::vector<const std::pair<std::string, std::string>*> order;
  order.reserve(m.size());
  for (const auto& kv : m)
    order.push_back(&kv);
  std::stable_sort(order.begin(), order.end(),
                   [](auto* a, auto* b) { return a->first < b->first; });
  StringList out;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && order[i + 1]->first == order[i]->first) continue;
    out.push_back(order[i]->first);
    out.push_back(order[i]->second);
  }
  out.shrink_to_fit();
  return out;
}

Metadata unpack_metadata(const StringList& list) {
  Metadata m;
  for (const auto [k, v] : list.pairs())
    m.emplace_back(std::string(k), std::string(v));
  return m;
}

}  // namespace

size_t Registry::AppKeyHash::operator()(const AppKey& k) const noexcept {
  const size_t h = std::hash<std::string_view>{}(k.appid);
  return h ^ (std::hash<std::string_view>{}(k.env) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

Registry::Registry(const Clock& clock, Options options)
    : clock_(clock),
      options_(options),
      tombstones_(options.max_tombstones, options.max_tombstone_bytes),
      cancel_marks_(options.max_tombstones, options.max_tombstone_bytes),
      guard_(options.self_protection, options.protect_ratio, options.protect_min_instances),
      next_expect_reset_mono_(clock.mono_ns() + options.expect_reset_interval.count()),
      rng_(options.random_seed != 0 ? options.random_seed : std::random_device{}()) {}

namespace {

// The next timestamp after `t`; saturates rather than overflow (a peer's timestamp may be the
// largest there is).
int64_t after(int64_t t) {
  return t == std::numeric_limits<int64_t>::max() ? t : t + 1;
}

}  // namespace

App* Registry::find_app(std::string_view env, std::string_view appid) const {
  const auto it = apps_.find(AppKey{appid, env});
  return it == apps_.end() ? nullptr : it->second.get();
}

Instance* Registry::find_instance(const InstanceKey& key) const {
  App* app = find_app(key.env, key.appid);
  if (app == nullptr) return nullptr;
  const auto z = app->zones.find(key.zone);
  if (z == app->zones.end()) return nullptr;
  const auto i = z->second.instances.find(key.hostname);
  return i == z->second.instances.end() ? nullptr : &i->second;
}

App& Registry::app_for_write(std::string_view env, std::string_view appid) {
  if (App* app = find_app(env, appid)) return *app;
  auto app = std::make_unique<App>();
  app->appid = appid;
  app->env = env;
  // A re-created app continues above the version it had, so no poller sees time go back.
  app->index = tombstones_.index(appid, env).value_or(0);
  if (const auto latest = tombstones_.take(appid, env)) app->latest_timestamp = *latest;
  App& ref = *app;
  apps_.emplace(AppKey{ref.appid, ref.env}, std::move(app));
  return ref;
}

namespace {

// An instance's name among the cancel marks: zone, appid and hostname with their lengths, so that
// no two identities share one (the env is the marks' second part).
std::string cancel_mark_name(std::string_view zone, std::string_view appid,
                             std::string_view hostname) {
  std::string out;
  out.reserve(zone.size() + appid.size() + hostname.size() + 8);
  for (std::string_view part : {zone, appid}) {
    out += std::to_string(part.size());
    out.push_back(':');
    out.append(part);
  }
  out.append(hostname);
  return out;
}

}  // namespace

uint64_t Registry::index_ceiling() const {
  const int64_t ceiling = clock_.wall_ns() + options_.max_clock_ahead.count();
  return static_cast<uint64_t>(std::max<int64_t>(ceiling / 1000, 1));
}

int64_t Registry::bump(App& app, int64_t version) {
  app.latest_timestamp = std::max(clock_.wall_ns(), after(app.latest_timestamp));
  // A version past the ceiling (a set's or cancel's timestamp from a peer is not bounded on
  // every path) must not pin the index ahead: it counts as the ceiling.
  const uint64_t from_version =
      std::min(static_cast<uint64_t>(std::max<int64_t>(version, 0) / 1000), index_ceiling());
  app.index = std::max(app.index + 1, from_version);
  catalog_index_ = std::max(catalog_index_, app.index);
  app.poll_views.clear();
  generation_.fetch_add(1, std::memory_order_release);
  tell_app_changed(app);
  return app.latest_timestamp;
}

void Registry::wake(std::string_view env, std::string_view appid) {
  const auto it = watchers_.find(AppKey{appid, env});
  if (it == watchers_.end()) return;
  std::unordered_set<ParkedPoll*>& watching = it->second;
  std::vector<std::pair<ParkedPoll*, PollAnswer>> answered;
  answered.reserve(watching.size());
  for (auto w = watching.begin(); w != watching.end();) {
    ParkedPoll* p = *w;
    if (auto answer = evaluate(*p, *p->renderer, /*arrival=*/false)) {
      answered.emplace_back(p, std::move(*answer));
      w = watching.erase(w);
    } else {
      ++w;
    }
  }
  if (watching.empty()) watchers_.erase(it);
  for (auto& [p, answer] : answered) {
    // Already out of this app's set; a poll of several apps also leaves the others' sets.
    if (p->query.appids.size() > 1) leave_watch_lists(*p);
    p->parked = false;
    --parked_count_;
    p->waiter->wake(std::move(answer));
  }
}

void Registry::lease_append(Instance& inst) {
  if (lease_tail_ != nullptr && inst.renew_mono < lease_tail_->renew_mono) {
    // A lease carried in from a peer or the disk, older than the newest here: the list must stay
    // in renew order, so it waits in the ordered set until its next renew.
    inst.carried = true;
    carried_leases_.emplace(inst.renew_mono, &inst);
    return;
  }
  inst.lease_prev = lease_tail_;
  inst.lease_next = nullptr;
  if (lease_tail_ != nullptr)
    lease_tail_->lease_next = &inst;
  else
    lease_head_ = &inst;
  lease_tail_ = &inst;
}

void Registry::lease_unlink(Instance& inst) {
  if (!inst.lease) return;  // never linked
  if (inst.carried) {
    carried_leases_.erase({inst.renew_mono, &inst});
    inst.carried = false;
    return;
  }
  if (inst.lease_prev != nullptr)
    inst.lease_prev->lease_next = inst.lease_next;
  else
    lease_head_ = inst.lease_next;
  if (inst.lease_next != nullptr)
    inst.lease_next->lease_prev = inst.lease_prev;
  else
    lease_tail_ = inst.lease_prev;
  inst.lease_prev = inst.lease_next = nullptr;
}

Instance* Registry::oldest_lease() const {
  if (carried_leases_.empty()) return lease_head_;
  Instance* carried = carried_leases_.begin()->second;
  return lease_head_ == nullptr || carried->renew_mono < lease_head_->renew_mono ? carried
                                                                                 : lease_head_;
}

void Registry::toggle_digest(const Instance& inst) {
  App& app = *inst.zone->app;
  app.digest ^= instance_digest(inst.zone->name, *inst.hostname, inst.dirty_timestamp);
}

void Registry::count_unleased(App& app, int delta) {
  if (delta > 0) {
    if (app.unleased_count++ == 0) unleased_apps_.emplace(app.appid, app.env);
  } else if (--app.unleased_count == 0) {
    unleased_apps_.erase({app.appid, app.env});
  }
}

std::vector<std::pair<std::string, std::string>> Registry::unleased_app_names() const {
  std::lock_guard lock(mu_);
  return {unleased_apps_.begin(), unleased_apps_.end()};
}

void Registry::remove_instance(Instance& inst) {
  lease_unlink(inst);
  if (inst.lease) --leased_count_;
  toggle_digest(inst);
  Zone& zone = *inst.zone;
  App& app = *zone.app;
  if (!inst.lease) count_unleased(app, -1);
  --app.instance_count;
  zone.instances.erase(zone.instances.find(*inst.hostname));
  --instance_count_;
  if (!zone.instances.empty()) return;
  app.zones.erase(app.zones.find(zone.name));
  if (!app.zones.empty()) return;
  tombstones_.add(app.appid, app.env, app.latest_timestamp, clock_.mono_ns(), app.index);
  apps_.erase(apps_.find(AppKey{app.appid, app.env}));
}

RegisterOutcome Registry::register_instance(const RegisterArgs& args) {
  return register_instance(args, [](const Instance&) {});
}

RegisterOutcome Registry::register_instance(const RegisterArgs& args,
                                            FunctionRef<void(const Instance&)> on_applied) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.wall_ns();
  const int64_t now_mono = clock_.mono_ns();
  if (args.dirty_timestamp > 0 && args.dirty_timestamp - now > options_.max_clock_ahead.count())
    return RegisterOutcome::kRefusedAhead;
  const InstanceKey key{args.zone, args.env, args.appid, args.hostname};
  Instance* inst = find_instance(key);
  // The lease this write leaves: renewed now, or the one the copy carries, which never shortens
  // a lease renewed here since (docs/decisions.md §5.7).
  int64_t renew_mono = now_mono;
  if (args.lease_age_ns) {
    const int64_t cap = 2 * options_.evict_ceiling.count();  // no overflow, whatever a peer says
    renew_mono = now_mono - std::clamp<int64_t>(*args.lease_age_ns, 0, cap);
    if (inst != nullptr && inst->lease) renew_mono = std::max(renew_mono, inst->renew_mono);
    if (args.lease && !args.keep_lapsed && now_mono - renew_mono > options_.evict_after.count() &&
        !protected_at_last_run_)
      return RegisterOutcome::kIgnoredLapsed;
  }
  if (inst == nullptr) {
    // A peer's copy (it carries its dirty_timestamp) from before a cancel here stays cancelled;
    // a client's register, or a newer copy, replaces the mark.
    const std::string mark = cancel_mark_name(args.zone, args.appid, args.hostname);
    if (const auto at = cancel_marks_.find(mark, args.env)) {
      if (args.dirty_timestamp > 0 && args.dirty_timestamp <= *at)
        return RegisterOutcome::kIgnoredOlder;
      cancel_marks_.take(mark, args.env);
    }
  }
  if (inst != nullptr && args.dirty_timestamp > 0 &&
      args.dirty_timestamp == inst->dirty_timestamp && args.lease == inst->lease) {
    // The version this node holds: the same content (a syncup or a -404's register of what it
    // has). Only the lease it carries may be news; nothing changes that a reader sees, so no
    // index moves and no watcher wakes (two nodes that synced from each other at start-up moved
    // their Consul indexes past a client's for nothing).
    if (inst->lease && renew_mono > inst->renew_mono) {
      lease_unlink(*inst);
      inst->renew_timestamp = now - (now_mono - renew_mono);
      inst->renew_mono = renew_mono;
      lease_append(*inst);
    }
    return RegisterOutcome::kApplied;
  }
  if (inst != nullptr) {
    const int64_t dirty = args.dirty_timestamp > 0 ? args.dirty_timestamp
                                                   : std::max(now, after(inst->dirty_timestamp));
    if (dirty < inst->dirty_timestamp) return RegisterOutcome::kIgnoredOlder;
    toggle_digest(*inst);
    inst->dirty_timestamp = dirty;
    toggle_digest(*inst);
    lease_unlink(*inst);
    if (inst->lease != args.lease) {  // the guard counts only instances with a lease
      leased_count_ += args.lease ? 1 : -1;
      count_unleased(*inst->zone->app, args.lease ? -1 : 1);
      if (args.lease)
        guard_.on_new_identity();
      else
        guard_.on_cancel();
    }
  } else {
    App& app = app_for_write(args.env, args.appid);
    auto z = app.zones.find(args.zone);
    if (z == app.zones.end()) {
      z = app.zones.emplace(args.zone, Zone{}).first;
      z->second.name = args.zone;
      z->second.app = &app;
    }
    auto i = z->second.instances.emplace(args.hostname, Instance{}).first;
    inst = &i->second;
    inst->zone = &z->second;
    inst->hostname = &i->first;
    inst->up_timestamp = now;
    inst->dirty_timestamp = args.dirty_timestamp > 0 ? args.dirty_timestamp : now;
    toggle_digest(*inst);
    ++app.instance_count;
    ++instance_count_;
    if (args.lease) {
      ++leased_count_;
      guard_.on_new_identity();
    } else {
      count_unleased(app, 1);
    }
  }
  inst->lease = args.lease;
  inst->region = args.region;
  inst->version = args.version;
  inst->addrs = pack_addrs(args.addrs);
  inst->metadata = pack_metadata(args.metadata);
  inst->status = args.status;
  inst->reg_timestamp = now;
  inst->renew_timestamp = now - (now_mono - renew_mono);
  inst->renew_mono = renew_mono;
  if (inst->lease) lease_append(*inst);
  App& app = *inst->zone->app;
  inst->latest_timestamp = bump(app, inst->dirty_timestamp);
  tell_stored(*inst);
  wake(app.env, app.appid);
  on_applied(*inst);
  return RegisterOutcome::kApplied;
}

RenewOutcome Registry::renew(const InstanceKey& key, std::optional<int64_t> replicated_dirty,
                             std::optional<int64_t> lease_age_ns,
                             FunctionRef<void(RenewOutcome, const Instance&)> on_instance) {
  std::lock_guard lock(mu_);
  Instance* inst = find_instance(key);
  if (inst == nullptr) return RenewOutcome::kNotFound;
  const int64_t now_mono = clock_.mono_ns();
  int64_t renew_mono = now_mono;
  if (lease_age_ns) {
    const int64_t cap = 2 * options_.evict_ceiling.count();  // no overflow, whatever a peer says
    renew_mono = std::max(inst->renew_mono, now_mono - std::clamp<int64_t>(*lease_age_ns, 0, cap));
  }
  // Out of the list (or the carried set) by its old renew time, back in at the tail (or in the
  // carried set, for a lease older than the tail's).
  const bool move = inst->lease && inst != lease_tail_;
  if (move) lease_unlink(*inst);
  inst->renew_timestamp = clock_.wall_ns() - (now_mono - renew_mono);
  inst->renew_mono = renew_mono;
  if (move) lease_append(*inst);
  if (inst->lease) guard_.on_renew();
  if (replicated_dirty) {
    if (*replicated_dirty > inst->dirty_timestamp) {
      on_instance(RenewOutcome::kPeerNewer, *inst);  // Bilibili's -404 carries our copy
      return RenewOutcome::kPeerNewer;
    }
    if (*replicated_dirty < inst->dirty_timestamp) {
      on_instance(RenewOutcome::kPeerOlder, *inst);
      return RenewOutcome::kPeerOlder;
    }
  }
  on_instance(RenewOutcome::kOk, *inst);
  return RenewOutcome::kOk;
}

std::optional<int64_t> Registry::cancelled_at(const InstanceKey& key) const {
  std::lock_guard lock(mu_);
  return cancel_marks_.find(cancel_mark_name(key.zone, key.appid, key.hostname), key.env);
}

bool Registry::cancel(const InstanceKey& key, std::optional<int64_t> if_not_newer_than) {
  std::lock_guard lock(mu_);
  Instance* inst = find_instance(key);
  if (inst == nullptr) return false;
  if (if_not_newer_than && inst->dirty_timestamp > *if_not_newer_than) return false;
  const int64_t mark = if_not_newer_than ? *if_not_newer_than
                                         : std::max(clock_.wall_ns(), after(inst->dirty_timestamp));
  cancel_marks_.add(cancel_mark_name(key.zone, key.appid, key.hostname), key.env, mark,
                    clock_.mono_ns());
  withdraw(*inst, mark);
  return true;
}

bool Registry::forget(const InstanceKey& key, int64_t dirty) {
  std::lock_guard lock(mu_);
  Instance* inst = find_instance(key);
  if (inst == nullptr || inst->dirty_timestamp != dirty) return false;
  withdraw(*inst, dirty);  // a reader sees it go: its index moves, as for an eviction
  return true;
}

void Registry::withdraw(Instance& inst, int64_t version) {
  App& app = *inst.zone->app;
  bump(app, version);
  // The removal may drop the app: its polls are answered afterwards, by name.
  const OwnedAppKey changed{app.appid, app.env};
  if (inst.lease) guard_.on_cancel();
  tell_removed(inst);
  remove_instance(inst);
  wake(changed.env, changed.appid);
}

SetOutcome Registry::set(const SetArgs& args) {
  std::lock_guard lock(mu_);
  const size_t n = args.hostnames.size();
  if (n == 0) return {"hostname is required", 0};
  if (!args.statuses.empty() && args.statuses.size() != n)
    return {"status count must be 0 or match the hostname count", 0};
  if (!args.metadatas.empty() && args.metadatas.size() != n)
    return {"metadata count must be 0 or match the hostname count", 0};
  App* app = find_app(args.env, args.appid);
  if (app == nullptr) return {"app " + args.appid + " (env " + args.env + ") not found", 0};
  const auto zone = app->zones.find(args.zone);
  if (zone == app->zones.end()) return {"zone " + args.zone + " not found for " + args.appid, 0};
  std::vector<Instance*> targets;
  targets.reserve(n);
  int64_t max_dirty = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto it = zone->second.instances.find(args.hostnames[i]);
    if (it == zone->second.instances.end())
      return {"instance " + args.hostnames[i] + " not found", 0};
    if (!args.statuses.empty() && args.statuses[i] != kStatusUp && args.statuses[i] != kStatusDown)
      return {"status must be 1 (up) or 2 (down)", 0};
    targets.push_back(&it->second);
    max_dirty = std::max(max_dirty, it->second.dirty_timestamp);
  }
  const int64_t set_ts =
      args.set_timestamp > 0 ? args.set_timestamp : std::max(clock_.wall_ns(), after(max_dirty));
  const int64_t latest = bump(*app, set_ts);
  for (size_t i = 0; i < n; ++i) {
    Instance& inst = *targets[i];
    if (!args.statuses.empty()) {
      inst.status = args.statuses[i];
      if (inst.status == kStatusUp) inst.up_timestamp = set_ts;
    }
    if (!args.metadatas.empty() && !args.metadatas[i].empty()) {
      Metadata merged = unpack_metadata(inst.metadata);
      merged.insert(merged.end(), args.metadatas[i].begin(), args.metadatas[i].end());
      inst.metadata = pack_metadata(merged);
    }
    toggle_digest(inst);
    inst.dirty_timestamp = set_ts;
    toggle_digest(inst);
    inst.latest_timestamp = latest;
    tell_stored(inst);
  }
  wake(app->env, app->appid);
  return {"", set_ts};
}

bool Registry::read_app(std::string_view env, std::string_view appid,
                        FunctionRef<void(const App&)> fn) const {
  std::lock_guard lock(mu_);
  const App* app = find_app(env, appid);
  if (app == nullptr) return false;
  fn(*app);
  return true;
}

void Registry::add_observer(ChangeObserver* observer, bool tell_existing) {
  std::lock_guard lock(mu_);
  observers_.push_back(observer);
  if (!tell_existing) return;
  for (const auto& [key, app] : apps_)
    for (const auto& [name, zone] : app->zones)
      for (const auto& [hostname, inst] : zone.instances)
        observer->stored(inst);
}

void Registry::remove_observer(ChangeObserver* observer) {
  std::lock_guard lock(mu_);
  std::erase(observers_, observer);
}

bool Registry::read_instance(const InstanceKey& key, FunctionRef<void(const Instance&)> fn) const {
  std::lock_guard lock(mu_);
  const Instance* inst = find_instance(key);
  if (inst == nullptr) return false;
  fn(*inst);
  return true;
}

std::vector<AppDigest> Registry::digests() const {
  std::lock_guard lock(mu_);
  std::vector<AppDigest> out;
  out.reserve(apps_.size());
  for (const auto& [key, app] : apps_)
    out.push_back({app->appid, app->env, app->instance_count, app->digest, app->index});
  return out;
}

uint64_t Registry::app_index(std::string_view env, std::string_view appid) const {
  std::lock_guard lock(mu_);
  if (const App* app = find_app(env, appid)) return app->index;
  return std::max<uint64_t>(tombstones_.index(appid, env).value_or(1), 1);
}

uint64_t Registry::catalog_index() const {
  std::lock_guard lock(mu_);
  return std::max<uint64_t>(catalog_index_, 1);
}

void Registry::raise_index(std::string_view env, std::string_view appid, uint64_t index) {
  std::lock_guard lock(mu_);
  App* app = find_app(env, appid);
  if (app == nullptr || index <= app->index || index > index_ceiling()) return;
  app->index = index;
  catalog_index_ = std::max(catalog_index_, index);
  tell_app_changed(*app);
}

std::vector<std::pair<std::string, std::string>> Registry::app_names() const {
  std::vector<std::pair<std::string, std::string>> names;
  {
    std::lock_guard lock(mu_);
    names.reserve(apps_.size());
    for (const auto& [key, app] : apps_)
      names.emplace_back(app->appid, app->env);
  }
  std::sort(names.begin(), names.end());  // outside the lock
  return names;
}

const PollView& Registry::poll_view(App& app, std::string_view zone, const PollRenderer& renderer) {
  for (const PollView& v : app.poll_views) {
    if (v.renderer == &renderer && v.zone == zone) return v;
  }
  PollView view;
  view.renderer = &renderer;
  view.zone = zone;
  for (const auto& [name, z] : app.zones) {
    if (!zone.empty() && name != zone) continue;
    for (const auto& [host, inst] : z.instances)
      view.up += inst.status == kStatusUp ? 1 : 0;
  }
  view.bytes = std::make_shared<const std::string>(renderer.render(app, zone));
  app.poll_views.push_back(std::move(view));
  return app.poll_views.back();
}

std::optional<PollAnswer> Registry::evaluate(ParkedPoll& p, const PollRenderer& renderer,
                                             bool arrival) {
  const PollQuery& q = p.query;
  if (arrival) p.present_at_park.assign(q.appids.size(), false);
  PollAnswer answer;
  bool trigger = false;
  bool vanished = false;
  for (size_t i = 0; i < q.appids.size(); ++i) {
    App* app = find_app(q.env, q.appids[i]);
    const bool missing = app == nullptr || (!q.zone.empty() && !app->zones.contains(q.zone));
    if (missing) {
      answer.missing.push_back(i);
      if (!arrival && p.present_at_park[i]) vanished = true;
      if (arrival && q.single && i == 0) vanished = true;  // /poll answers -404 at once
      if (arrival && q.report_missing && q.latest[i] > 0) vanished = true;
      continue;
    }
    if (arrival) p.present_at_park[i] = true;
    if (q.latest[i] < app->latest_timestamp) {
      const PollView& view = poll_view(*app, q.zone, renderer);
      answer.changed.emplace_back(i, view.bytes);
      trigger = trigger || view.up > 0;
    }
  }
  if (trigger || vanished) return answer;
  return std::nullopt;
}

void Registry::park(ParkedPoll& p) {
  for (const std::string& appid : p.query.appids) {
    auto it = watchers_.find(AppKey{appid, p.query.env});
    if (it == watchers_.end())
      it = watchers_.emplace(OwnedAppKey{appid, p.query.env}, std::unordered_set<ParkedPoll*>{})
               .first;
    it->second.insert(&p);
  }
  p.parked = true;
  ++parked_count_;
}

void Registry::unpark_locked(ParkedPoll& p) {
  if (!p.parked) return;
  leave_watch_lists(p);
  p.parked = false;
  --parked_count_;
}

void Registry::leave_watch_lists(ParkedPoll& p) {
  for (const std::string& appid : p.query.appids) {
    const auto it = watchers_.find(AppKey{appid, p.query.env});
    if (it == watchers_.end()) continue;
    it->second.erase(&p);
    if (it->second.empty()) watchers_.erase(it);
  }
}

std::optional<PollAnswer> Registry::poll(ParkedPoll& p, const PollRenderer& renderer) {
  std::lock_guard lock(mu_);
  p.renderer = &renderer;
  auto answer = evaluate(p, renderer, /*arrival=*/true);
  if (!answer) park(p);
  return answer;
}

void Registry::unpark(ParkedPoll& p) {
  std::lock_guard lock(mu_);
  unpark_locked(p);
}

bool Registry::expired(const Instance& inst, int64_t now_mono, bool protecting) const {
  const int64_t age = now_mono - inst.renew_mono;
  return (!protecting && age > options_.evict_after.count()) ||
         age > options_.evict_ceiling.count();
}

// One eviction tick in named steps: plan (guard, tombstones, victims) under one hold of the lock,
// then remove in chunks with the lock dropped in between.
EvictionReport Registry::tick() {
  EvictionReport report;
  EvictionPlan plan = plan_eviction(report);
  if (plan.capped)
    evict_chosen(plan, report);
  else
    evict_expired_prefix(plan, report);
  return report;
}

Registry::EvictionPlan Registry::plan_eviction(EvictionReport& report) {
  std::lock_guard lock(mu_);
  EvictionPlan plan;
  plan.now_mono = clock_.mono_ns();
  guard_.roll();
  if (plan.now_mono >= next_expect_reset_mono_) {
    guard_.reset_expected(leased_count_);
    next_expect_reset_mono_ = plan.now_mono + options_.expect_reset_interval.count();
  }
  tombstones_.expire_before(plan.now_mono - options_.tombstone_ttl.count());
  cancel_marks_.expire_before(plan.now_mono - options_.tombstone_ttl.count());
  report.protecting = plan.protecting = guard_.protecting(leased_count_);
  protected_at_last_run_ = plan.protecting;
  // Without the guard nothing caps eviction: the expired prefix of the lease list is simply
  // removed (evict_expired_prefix). With it, the prefix is read to choose the victims when there
  // are more than the cap.
  if (!options_.self_protection) return plan;
  // The lease list and the carried set are each in renew order: their expired prefixes.
  std::vector<Instance*> expired_now;
  for (Instance* inst = lease_head_;
       inst != nullptr && expired(*inst, plan.now_mono, plan.protecting); inst = inst->lease_next) {
    expired_now.push_back(inst);
  }
  for (const auto& [mono, inst] : carried_leases_) {
    if (!expired(*inst, plan.now_mono, plan.protecting)) break;
    expired_now.push_back(inst);
  }
  report.expired = expired_now.size();
  const auto size = static_cast<size_t>(leased_count_);
  const auto keep =
      static_cast<size_t>(std::floor(static_cast<double>(size) * options_.protect_ratio));
  const size_t limit = size - keep;
  plan.capped = limit < expired_now.size();
  if (!plan.capped) return plan;
  // Partial Fisher-Yates: the first `limit` entries become a uniform random choice. Only the
  // chosen ones are copied out, since the lock is released between removal chunks.
  for (size_t i = 0; i < limit; ++i) {
    std::uniform_int_distribution<size_t> pick(i, expired_now.size() - 1);
    std::swap(expired_now[i], expired_now[pick(rng_)]);
    const Instance& inst = *expired_now[i];
    const App& app = *inst.zone->app;
    plan.victims.push_back({app.appid, app.env, inst.zone->name, *inst.hostname});
  }
  return plan;
}

void Registry::evict_one(Instance& inst, std::vector<OwnedAppKey>& watched,
                         EvictionReport& report) {
  App& app = *inst.zone->app;
  // Its own dirty_timestamp, which is below the app's index: the index rises by one, as on every
  // node that evicts the same copy, whenever it does.
  bump(app, inst.dirty_timestamp);
  // Apps with parked polls that lost instances in the current chunk: their polls are answered
  // once per chunk, when its removals are done (wake_all).
  const AppKey key{app.appid, app.env};
  if (watchers_.contains(key) &&
      std::none_of(watched.begin(), watched.end(),
                   [&](const OwnedAppKey& k) { return AppKeyEq{}(k, key); }))
    watched.push_back({app.appid, app.env});
  tell_removed(inst);
  remove_instance(inst);
  ++report.evicted;
  ++evicted_total_;
}

void Registry::wake_all(std::vector<OwnedAppKey>& watched) {
  for (const OwnedAppKey& k : watched)
    wake(k.env, k.appid);
  watched.clear();
}

void Registry::evict_expired_prefix(const EvictionPlan& plan, EvictionReport& report) {
  // Every expired instance goes: take them from the head of the lease list, chunk by chunk,
  // dropping the lock in between so that requests keep flowing during a mass eviction.
  std::vector<OwnedAppKey> watched;
  for (bool more = true; more;) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < options_.evict_chunk; ++i) {
      Instance* inst = oldest_lease();
      if (inst == nullptr || !expired(*inst, plan.now_mono, plan.protecting)) {
        more = false;
        break;
      }
      evict_one(*inst, watched, report);
    }
    wake_all(watched);
  }
  if (!options_.self_protection) report.expired = report.evicted;
}

void Registry::evict_chosen(const EvictionPlan& plan, EvictionReport& report) {
  std::vector<OwnedAppKey> watched;
  for (size_t start = 0; start < plan.victims.size(); start += options_.evict_chunk) {
    std::lock_guard lock(mu_);
    const size_t end = std::min(plan.victims.size(), start + options_.evict_chunk);
    for (size_t i = start; i < end; ++i) {
      const Expired& v = plan.victims[i];
      Instance* inst = find_instance({v.zone, v.env, v.appid, v.hostname});
      // Renewed or replaced since it was chosen: it stays.
      if (inst == nullptr || !expired(*inst, plan.now_mono, plan.protecting)) continue;
      evict_one(*inst, watched, report);
    }
    wake_all(watched);
  }
}

Stats Registry::stats() const {
  std::lock_guard lock(mu_);
  Stats s;
  s.instances = instance_count_;
  s.apps = static_cast<int64_t>(apps_.size());
  s.parked_polls = parked_count_;
  s.expected_renews = guard_.expected();
  s.renew_threshold = guard_.threshold();
  s.renews_last_interval = guard_.last_interval();
  s.protecting = guard_.protecting(leased_count_);
  s.self_protection = guard_.enabled();
  s.evicted_total = evicted_total_;
  s.tombstones = static_cast<int64_t>(tombstones_.size());
  s.tombstone_bytes = static_cast<int64_t>(tombstones_.bytes());
  s.tombstones_dropped = tombstones_.dropped();
  return s;
}

}  // namespace muster::registry
