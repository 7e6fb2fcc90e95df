#include "sd/manager.h"

#include <malloc.h>

#include <algorithm>
#include <numeric>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "sd/providers/static_provider.h"

namespace muster::sd {

namespace {

constexpr size_t kTrimAfterTargets = 50'000;

// An update's groups, shared, sorted by source; of two with one source the later counts. The
// update's array is what is shared: each pointer keeps the whole array alive (Prometheus's
// providers send whole lists, and a merge stores the new group even when an equal one is stored,
// so an array lives about as long as its update is current). No block per group: with 1,000,000
// groups that is 64 MB less, and no second copy of the groups while they are shared.
SharedGroups by_source(Groups groups) {
  const auto all = std::make_shared<const Groups>(std::move(groups));
  std::vector<uint32_t> order(all->size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return (*all)[a].source < (*all)[b].source; });
  SharedGroups unique;
  unique.reserve(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    // Of a run of one source, only the last (the later in the update) is kept.
    if (k + 1 < order.size() && (*all)[order[k + 1]].source == (*all)[order[k]].source) continue;
    unique.emplace_back(all, &(*all)[order[k]]);  // aliasing: owns the array
  }
  return unique;
}

// Merges a sorted update into the sorted groups of one (job, provider): a group replaces the
// group of its source, a group without targets deletes its source (no leak). True if anything
// changed.
bool merge_update(SharedGroups& stored, const SharedGroups& update) {
  if (update.empty()) return false;
  SharedGroups out;
  out.reserve(stored.size() + update.size());
  bool changed = false;
  auto old = stored.begin();
  for (const auto& g : update) {
    while (old != stored.end() && (*old)->source < g->source)
      out.push_back(std::move(*old++));
    const bool same_source = old != stored.end() && (*old)->source == g->source;
    if (g->targets.empty()) {
      changed |= same_source;
    } else {
      // The new one even when it equals the stored one: the old update's array can go.
      changed |= !(same_source && **old == *g);
      out.push_back(g);
    }
    if (same_source) ++old;
  }
  while (old != stored.end())
    out.push_back(std::move(*old++));
  out.shrink_to_fit();
  stored = std::move(out);
  return changed;
}

}  // namespace

namespace asio = boost::asio;

struct Manager::Entry {
  Entry(std::string name, ProviderConfig config)
      : name(std::move(name)), config(std::move(config)) {}
  std::string name;  // "type/n"
  ProviderConfig config;
  std::unique_ptr<Provider> provider;
  std::shared_ptr<ProviderStats> stats;
  std::set<std::string> subs;      // jobs fed
  std::set<std::string> new_subs;  // jobs gathered during apply()
  bool started = false;
  // Until `heard`, the jobs fed are held (see Manager) up to `hold_until`; none: never held.
  bool heard = false;
  std::optional<std::chrono::steady_clock::time_point> hold_until;
};

Manager::Manager(asio::io_context& io, milliseconds throttle, Consumer consumer, Factory factory)
    : io_(io),
      throttle_(throttle),
      consumer_(std::move(consumer)),
      factory_(std::move(factory)),
      timer_(io),
      hold_timer_(io) {}

Manager::~Manager() {
  stop();
}

void Manager::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  hold_timer_.cancel();
  for (auto& e : providers_)
    e->provider->stop();
}

std::vector<std::string> Manager::apply(const std::vector<JobConfig>& jobs) {
  std::vector<std::string> failures;
  const size_t existing = providers_.size();
  // Registers one config for `job`: an identical provider gets the job, else a new provider.
  auto register_config = [&](const std::string& job, const ProviderConfig& config) -> bool {
    for (auto& e : providers_) {
      if (e->config == config) {
        e->new_subs.insert(job);
        return true;
      }
    }
    auto stats = std::make_shared<ProviderStats>();
    const std::string name = std::string(config.type()) + "/" + std::to_string(last_provider_);
    auto made = factory_(config, ProviderContext{io_, stats, name});
    if (auto* problem = std::get_if<std::string>(&made)) {
      spdlog::error("job {}: cannot start {} provider: {}", job, std::string(config.type()),
                    *problem);
      failures.push_back("job " + job + ": " + std::string(config.type()) + ": " + *problem);
      return false;
    }
    ++last_provider_;
    auto e = std::make_unique<Entry>(name, config);
    e->provider = std::move(std::get<std::unique_ptr<Provider>>(made));
    e->stats = std::move(stats);
    e->new_subs.insert(job);
    providers_.push_back(std::move(e));
    return true;
  };
  for (const auto& job : jobs) {
    bool any = false;
    for (const auto& config : job.providers)
      any = register_config(job.name, config) || any;
    // A job without a working provider still appears, with one empty group (source "").
    if (!any) register_config(job.name, StaticConfig{{TargetGroup{}}});
  }
  failed_configs.set(static_cast<int64_t>(failures.size()));

  std::vector<std::unique_ptr<Entry>> kept;
  for (size_t i = 0; i < providers_.size(); ++i) {
    auto& e = providers_[i];
    if (i < existing && e->new_subs.empty()) {
      e->provider->stop();
      for (const auto& sub : e->subs)
        targets_.erase({sub, e->name});
      continue;
    }
    if (i < existing) {
      // A job added to a running provider gets its targets at once (from any job it fed), before
      // the jobs it no longer feeds lose theirs (a renamed job is both).
      SharedGroups current;
      if (!e->subs.empty()) {
        if (auto it = targets_.find({*e->subs.begin(), e->name}); it != targets_.end())
          current = it->second;
      }
      for (const auto& sub : e->new_subs)
        if (!e->subs.contains(sub) && !current.empty()) targets_[{sub, e->name}] = current;
      for (const auto& sub : e->subs)
        if (!e->new_subs.contains(sub)) targets_.erase({sub, e->name});
    }
    e->subs = std::move(e->new_subs);
    e->new_subs.clear();
    kept.push_back(std::move(e));
  }
  providers_ = std::move(kept);
  for (const auto& job : jobs)
    dirty_.insert(job.name);
  for (auto& e : providers_) {
    if (e->started) continue;
    e->started = true;
    if (first_update_timeout_.count() > 0)
      e->hold_until = std::chrono::steady_clock::now() + first_update_timeout_;
    Entry* entry = e.get();
    e->provider->start([this, entry](Groups groups) { on_update(*entry, std::move(groups)); });
  }
  if (!providers_.empty()) trigger();
  return failures;
}

void Manager::on_update(Entry& entry, Groups groups) {
  if (stopped_) return;
  received_updates.inc();
  entry.stats->updates.inc();
  // The first update releases the jobs held for it, even if it changes nothing (no targets).
  const bool releases = !entry.heard && entry.hold_until;
  entry.heard = true;
  bool changed = releases;
  if (releases) dirty_.insert(entry.subs.begin(), entry.subs.end());
  // Each group is stored once, shared by the jobs of the provider and by the sends.
  const SharedGroups update = by_source(std::move(groups));
  for (const auto& sub : entry.subs) {
    auto& stored = targets_[{sub, entry.name}];
    if (merge_update(stored, update)) {
      dirty_.insert(sub);
      changed = true;
    }
  }
  // What the read freed (its buffers, the order of the sort) is given back before the send
  // renders the outputs, so that the two do not add up.
  if (update.size() >= kTrimAfterTargets) ::malloc_trim(0);
  if (changed) trigger();
}

void Manager::trigger() {
  pending_ = true;
  if (scheduled_ || stopped_) return;
  scheduled_ = true;
  const auto now = std::chrono::steady_clock::now();
  const auto due = last_sent_ ? *last_sent_ + throttle_ : now;  // the first send is not held
  if (throttle_.count() == 0 || due <= now) {
    // Still through the loop, so that the updates of this turn go out together.
    asio::post(io_, [this, alive = std::weak_ptr<void>(alive_)] {
      if (alive.lock()) send();
    });
    return;
  }
  timer_.expires_at(due);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) send();
  });
}

void Manager::send() {
  scheduled_ = false;
  if (stopped_ || !pending_) return;
  pending_ = false;
  const auto now = std::chrono::steady_clock::now();
  last_sent_ = now;
  Delta delta;
  std::optional<std::chrono::steady_clock::time_point> next_release;
  delta.held = held_jobs(now, next_release);
  for (const auto& e : providers_) {
    if (!e->heard) delta.waiting.insert(e->subs.begin(), e->subs.end());
    for (const auto& sub : e->subs) {
      delta.jobs.insert(sub);
      if (!dirty_.contains(sub) || delta.held.contains(sub)) continue;
      SharedGroups& groups = delta.changed[sub];  // present even when empty
      auto it = targets_.find({sub, e->name});
      if (it == targets_.end()) continue;
      groups.insert(groups.end(), it->second.begin(), it->second.end());
    }
  }
  for (auto it = dirty_.begin(); it != dirty_.end();)
    it = delta.held.contains(*it) ? std::next(it) : dirty_.erase(it);
  if (next_release) {
    hold_timer_.expires_at(*next_release);
    hold_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) trigger();
    });
  } else {
    hold_timer_.cancel();  // nothing held: no send at a timeout that no longer matters
  }
  for (auto it = discovered_.begin(); it != discovered_.end();)
    it = delta.jobs.contains(it->first) ? std::next(it) : discovered_.erase(it);
  for (const auto& [job, groups] : delta.changed) {
    size_t n = 0;
    for (const auto& g : groups)
      n += g->targets.size();
    discovered_[job] = n;
  }
  updates.inc();
  consumer_(delta);
  size_t sent_targets = 0;
  for (const auto& [job, groups] : delta.changed)
    sent_targets += discovered_[job];
  delta = {};
  // A large send leaves the freed copies of the read scattered over the heap, which glibc keeps
  // mapped; give back what is free so that what stays is what is kept (a 1,000,000-group source).
  if (sent_targets >= kTrimAfterTargets) ::malloc_trim(0);
}

std::set<std::string> Manager::held_jobs(
    std::chrono::steady_clock::time_point now,
    std::optional<std::chrono::steady_clock::time_point>& next) const {
  std::set<std::string> held;
  for (const auto& e : providers_) {
    if (e->heard || !e->hold_until || *e->hold_until <= now) continue;
    held.insert(e->subs.begin(), e->subs.end());
    if (!next || *e->hold_until < *next) next = e->hold_until;
  }
  return held;
}

size_t Manager::stored_sources() const {
  size_t n = 0;
  for (const auto& [key, sources] : targets_)
    n += sources.size();
  return n;
}

std::vector<Manager::ProviderView> Manager::providers() const {
  std::vector<ProviderView> out;
  for (const auto& e : providers_)
    out.push_back({e->name, std::string(e->config.type()), e->subs, e->stats});
  return out;
}

}  // namespace muster::sd
