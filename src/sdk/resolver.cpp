#include "muster/resolver.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

#include "poll_loop.h"

namespace muster {

namespace asio = boost::asio;

namespace {

// FNV-1a, 64 bits: a stable hash of the client's hostname for the subset.
uint64_t fingerprint(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool has_scheme(const std::string& addr, const std::vector<std::string>& schemes) {
  const size_t at = addr.find("://");
  if (at == std::string::npos) return false;
  return std::find(schemes.begin(), schemes.end(), addr.substr(0, at)) != schemes.end();
}

}  // namespace

std::vector<Instance> subset(std::vector<Instance> instances, size_t size,
                             const std::string& client_hostname) {
  if (size == 0 || instances.size() <= size) return instances;
  std::sort(instances.begin(), instances.end(),
            [](const Instance& a, const Instance& b) { return a.hostname < b.hostname; });
  // Clients are grouped in rounds of `count`; each round shuffles the list the same way (seeded
  // by the round), and each client of the round takes its own slice of `size`: so the clients of
  // one round cover every instance once.
  const uint64_t count = instances.size() / size;
  const uint64_t id = fingerprint(client_hostname);
  std::mt19937_64 rng(id / count);
  for (size_t i = instances.size() - 1; i > 0; --i)  // Fisher-Yates with the generator's raw output
    std::swap(instances[i], instances[rng() % (i + 1)]);
  const size_t start = static_cast<size_t>(id % count) * size;
  return {std::make_move_iterator(instances.begin() + static_cast<ptrdiff_t>(start)),
          std::make_move_iterator(instances.begin() + static_cast<ptrdiff_t>(start + size))};
}

std::vector<Instance> filter_instances(std::vector<Instance> instances, const Filter& filter,
                                       const std::string& client_hostname) {
  std::vector<Instance> out;
  for (Instance& i : instances) {
    if (!filter.zone.empty() && i.zone != filter.zone) continue;
    if (filter.up_only && !i.up()) continue;
    if (!filter.schemes.empty()) {
      std::erase_if(i.addrs, [&](const std::string& a) { return !has_scheme(a, filter.schemes); });
      if (i.addrs.empty()) continue;
    }
    const bool metadata_matches =
        std::all_of(filter.metadata.begin(), filter.metadata.end(), [&](const auto& kv) {
          auto it = i.metadata.find(kv.first);
          return it != i.metadata.end() && it->second == kv.second;
        });
    if (!metadata_matches) continue;
    out.push_back(std::move(i));
  }
  return subset(std::move(out), filter.subset, client_hostname);
}

struct Resolver::State : std::enable_shared_from_this<Resolver::State> {
  explicit State(detail::ClientCore* c) : core(c) {}

  struct Subscription {
    WatchOptions options;
    InstancesCallback on_change;
    uint64_t generation = 0;  // which subscribe() this is: a replaced one hears nothing more
    uint64_t listener = 0;    // its id in the poll loop
    std::shared_ptr<const std::vector<Instance>> list = std::make_shared<std::vector<Instance>>();
    bool ready = false;
  };

  // Not owned: the Client outlives its resolvers (as for Registrar::State).
  detail::ClientCore* core;
  mutable std::mutex mu;  // guards subs (lists and readiness are read from any thread)
  mutable std::condition_variable ready_changed;
  std::map<std::string, Subscription> subs;
  bool closed = false;       // core thread only
  uint64_t generations = 0;  // core thread only

  // Core thread: a new raw list of `appid` from the poll loop. The subscription is ready (for
  // wait_ready) once its callback has seen the list, so that a caller waiting for it finds the
  // callback's effects (a balancer filled) in place.
  void deliver(const std::string& appid, uint64_t generation, const std::vector<Instance>& raw) {
    InstancesCallback on_change;
    std::shared_ptr<const std::vector<Instance>> list;
    {
      std::lock_guard lock(mu);
      auto it = subs.find(appid);
      if (closed || it == subs.end() || it->second.generation != generation) return;
      Subscription& sub = it->second;
      auto filtered = filter_instances(raw, sub.options.filter, core->options().hostname);
      const bool keep = filtered.empty() && sub.options.keep_last_on_empty && !sub.list->empty();
      if (!keep) {
        sub.list = std::make_shared<const std::vector<Instance>>(std::move(filtered));
        list = sub.list;
        on_change = sub.on_change;
      }
    }
    if (on_change) on_change(*list);
    std::lock_guard lock(mu);
    auto it = subs.find(appid);
    if (it != subs.end() && it->second.generation == generation) {
      it->second.ready = true;
      ready_changed.notify_all();
    }
  }

  // Core thread.
  void drop(const std::string& appid) {
    uint64_t listener = 0;
    {
      std::lock_guard lock(mu);
      auto it = subs.find(appid);
      if (it == subs.end()) return;
      listener = it->second.listener;
      subs.erase(it);
    }
    core->poll_loop().remove(listener);
  }
};

Resolver::Resolver(Client& client) : state_(std::make_shared<State>(&detail::core_of(client))) {}

Resolver::~Resolver() {
  auto s = state_;
  detail::run_and_wait<bool>(*s->core, std::chrono::seconds(10), [s]() -> asio::awaitable<bool> {
    s->closed = true;
    std::vector<std::string> appids;
    {
      std::lock_guard lock(s->mu);
      for (const auto& [appid, sub] : s->subs)
        appids.push_back(appid);
    }
    for (const auto& appid : appids)
      s->drop(appid);
    co_return true;
  });
}

void Resolver::subscribe(const std::string& appid, WatchOptions options,
                         InstancesCallback on_change) {
  asio::post(state_->core->context(), [s = state_, appid, options = std::move(options),
                                       on_change = std::move(on_change)]() mutable {
    if (s->closed) return;
    s->drop(appid);
    const uint64_t generation = ++s->generations;
    {
      std::lock_guard lock(s->mu);
      auto& sub = s->subs[appid];
      sub.options = std::move(options);
      sub.on_change = std::move(on_change);
      sub.generation = generation;
    }
    const uint64_t listener = s->core->poll_loop().add(
        appid, [weak = std::weak_ptr<State>(s), appid, generation](const auto& raw) {
          if (auto self = weak.lock()) self->deliver(appid, generation, raw);
        });
    std::lock_guard lock(s->mu);
    s->subs[appid].listener = listener;
  });
}

void Resolver::unsubscribe(const std::string& appid) {
  auto s = state_;
  detail::run_and_wait<bool>(*s->core, std::chrono::seconds(10),
                             [s, appid]() -> asio::awaitable<bool> {
                               s->drop(appid);
                               co_return true;
                             });
}

std::shared_ptr<const std::vector<Instance>> Resolver::instances(const std::string& appid) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->subs.find(appid);
  if (it == state_->subs.end()) return std::make_shared<const std::vector<Instance>>();
  return it->second.list;
}

bool Resolver::wait_ready(const std::string& appid, std::chrono::milliseconds limit) const {
  std::unique_lock lock(state_->mu);
  return state_->ready_changed.wait_for(lock, limit, [&] {
    auto it = state_->subs.find(appid);
    return it != state_->subs.end() && it->second.ready;
  });
}

}  // namespace muster
