#include "muster/balancer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "common/stable_hash.h"

namespace muster {
namespace {

std::atomic<uint64_t> g_next_id{1};
std::atomic<uint64_t> g_next_version{1};

// A 64-bit hash that every process computes alike (FNV-1a, then a finaliser), so that clients
// of the same service send the same key to the same instance.
uint64_t stable_hash(std::string_view s, uint64_t seed = 0) {
  return mix64(fnv1a(kFnvOffset ^ seed, s));
}

// Maglev's lookup table size: a prime well above the instance counts we expect (up to a few
// thousand), so each instance owns many slots and a change moves about 1/N of the keys.
constexpr uint32_t kMaglevSize = 65537;

std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   std::hash<std::thread::id>{}(std::this_thread::get_id())};
  return rng;
}

}  // namespace

uint32_t Instance::weight() const {
  const auto it = metadata.find("weight");
  if (it == metadata.end()) return 100;
  uint32_t w = 0;
  const auto [end, ec] =
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), w);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || w == 0) return 100;
  return w;
}

struct Pick::Stats {
  std::atomic<int64_t> inflight{0};
  std::atomic<int64_t> ewma_ns{0};  // 0: no sample yet
};

Pick::Pick(Pick&& o) noexcept : instance_(std::move(o.instance_)), stats_(std::move(o.stats_)) {}

Pick& Pick::operator=(Pick&& o) noexcept {
  if (this != &o) {
    if (stats_) stats_->inflight.fetch_sub(1, std::memory_order_relaxed);
    instance_ = std::move(o.instance_);
    stats_ = std::move(o.stats_);
  }
  return *this;
}

Pick::~Pick() {
  if (stats_) stats_->inflight.fetch_sub(1, std::memory_order_relaxed);
}

void Pick::done(std::chrono::nanoseconds latency) {
  if (!stats_) return;
  // An exponentially weighted average (alpha 1/4). Two threads may update it at once and one
  // sample be lost: harmless for an average, and no lock.
  const int64_t sample = std::max<int64_t>(latency.count(), 1);
  const int64_t old = stats_->ewma_ns.load(std::memory_order_relaxed);
  stats_->ewma_ns.store(old == 0 ? sample : old + (sample - old) / 4, std::memory_order_relaxed);
  stats_->inflight.fetch_sub(1, std::memory_order_relaxed);
  stats_.reset();
}

struct Balancer::Snapshot {
  uint64_t version = 0;
  std::vector<std::shared_ptr<const Instance>> all;
  std::vector<std::shared_ptr<Pick::Stats>> stats;  // parallel to `all`
  std::vector<uint32_t> candidates;                 // indices into `all` that picks choose from
  std::vector<double> alias_prob;                   // kWeighted: Vose's alias table
  std::vector<uint32_t> alias;
  std::vector<uint32_t> maglev;  // kConsistentHash: slot -> index into `candidates`
};

struct Balancer::Published {
  std::mutex mu;  // update() only
  std::shared_ptr<const Snapshot> snapshot = std::make_shared<Snapshot>();
  std::atomic<uint64_t> version{0};
  // Power-of-two statistics by zone and hostname, kept across updates.
  std::unordered_map<std::string, std::shared_ptr<Pick::Stats>> stats;
};

namespace {

// Each thread's view of a few balancers: the list it picks from and its round-robin position.
struct ThreadView {
  uint64_t id = 0;
  uint64_t version = 0;
  std::shared_ptr<const Balancer::Snapshot> snapshot;
  uint64_t next = 0;
};
thread_local std::array<ThreadView, 8> t_views;

std::vector<uint32_t> choose_candidates(const std::vector<std::shared_ptr<const Instance>>& all,
                                        const BalancerOptions& o) {
  std::vector<uint32_t> usable, local;
  for (uint32_t i = 0; i < all.size(); ++i) {
    if (!all[i]->up()) continue;
    usable.push_back(i);
    if (!o.local_zone.empty() && all[i]->zone == o.local_zone) local.push_back(i);
  }
  if (static_cast<double>(usable.size()) < o.panic_threshold * static_cast<double>(all.size())) {
    std::vector<uint32_t> every(all.size());
    for (uint32_t i = 0; i < every.size(); ++i)
      every[i] = i;
    return every;  // panic: too few usable, spread over all of them
  }
  if (!local.empty()) return local;
  return usable;
}

void build_alias(Balancer::Snapshot& s) {
  const size_t n = s.candidates.size();
  s.alias_prob.assign(n, 0.0);
  s.alias.assign(n, 0);
  if (n == 0) return;
  double total = 0;
  for (uint32_t c : s.candidates)
    total += s.all[c]->weight();
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (uint32_t i = 0; i < n; ++i) {
    scaled[i] = s.all[s.candidates[i]]->weight() * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t l = small.back(), g = large.back();
    small.pop_back();
    s.alias_prob[l] = scaled[l];
    s.alias[l] = g;
    scaled[g] = scaled[g] + scaled[l] - 1.0;
    if (scaled[g] < 1.0) {
      large.pop_back();
      small.push_back(g);
    }
  }
  for (uint32_t i : large)
    s.alias_prob[i] = 1.0;
  for (uint32_t i : small)
    s.alias_prob[i] = 1.0;
}

void build_maglev(Balancer::Snapshot& s) {
  const size_t n = s.candidates.size();
  s.maglev.clear();
  if (n == 0) return;
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Instance& inst = *s.all[s.candidates[i]];
    const std::string name = inst.zone + '\0' + inst.hostname;
    offset[i] = stable_hash(name, 0) % kMaglevSize;
    skip[i] = stable_hash(name, 0x9e3779b97f4a7c15ull) % (kMaglevSize - 1) + 1;
  }
  std::vector<int32_t> table(kMaglevSize, -1);
  uint32_t filled = 0;
  for (;;) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t slot = (offset[i] + next[i] * skip[i]) % kMaglevSize;
      while (table[slot] >= 0) {
        ++next[i];
        slot = (offset[i] + next[i] * skip[i]) % kMaglevSize;
      }
      table[slot] = static_cast<int32_t>(i);
      ++next[i];
      if (++filled == kMaglevSize) {
        s.maglev.assign(table.begin(), table.end());
        return;
      }
    }
  }
}

}  // namespace

Balancer::Balancer(BalancerOptions options)
    : options_(std::move(options)), id_(g_next_id++), published_(std::make_unique<Published>()) {}

Balancer::~Balancer() = default;

void Balancer::update(std::vector<Instance> instances) {
  auto s = std::make_shared<Snapshot>();
  s->all.reserve(instances.size());
  for (Instance& i : instances)
    s->all.push_back(std::make_shared<const Instance>(std::move(i)));
  s->candidates = choose_candidates(s->all, options_);
  if (options_.policy == Policy::kWeighted) build_alias(*s);
  if (options_.policy == Policy::kConsistentHash) {
    // Maglev fills its table in candidate order: sorted by name, every client with the same
    // instances builds the same table, whatever order its list came in.
    std::sort(s->candidates.begin(), s->candidates.end(), [&](uint32_t a, uint32_t b) {
      return std::tie(s->all[a]->zone, s->all[a]->hostname) <
             std::tie(s->all[b]->zone, s->all[b]->hostname);
    });
    build_maglev(*s);
  }
  std::lock_guard lock(published_->mu);
  std::unordered_map<std::string, std::shared_ptr<Pick::Stats>> stats;
  s->stats.reserve(s->all.size());
  for (const auto& inst : s->all) {
    std::string key = inst->zone + '\0' + inst->hostname;
    auto it = published_->stats.find(key);
    auto st = it != published_->stats.end() ? it->second : std::make_shared<Pick::Stats>();
    s->stats.push_back(st);
    stats.emplace(std::move(key), std::move(st));
  }
  published_->stats = std::move(stats);
  s->version = g_next_version++;
  published_->snapshot = std::move(s);
  published_->version.store(published_->snapshot->version, std::memory_order_release);
}

size_t Balancer::size() const {
  std::lock_guard lock(published_->mu);
  return published_->snapshot->all.size();
}

// The thread's own reference: no reference count changes hands on the hot path.
const Balancer::Snapshot& Balancer::current() {
  ThreadView& v = t_views[id_ % t_views.size()];
  const uint64_t version = published_->version.load(std::memory_order_acquire);
  if (v.id == id_ && v.version == version && v.snapshot) return *v.snapshot;
  std::shared_ptr<const Snapshot> s;
  {
    std::lock_guard lock(published_->mu);
    s = published_->snapshot;
  }
  if (v.id != id_) v.next = thread_rng()();  // threads start their rotation at different places
  v.id = id_;
  v.version = s->version;
  v.snapshot = std::move(s);
  return *v.snapshot;
}

Pick Balancer::pick(std::string_view key) {
  const Snapshot& snap = current();
  const Snapshot* s = &snap;
  const size_t n = s->candidates.size();
  Pick p;
  if (n == 0) return p;
  auto& rng = thread_rng();
  size_t chosen = 0;  // index into candidates
  switch (options_.policy) {
    case Policy::kRoundRobin:
      chosen = t_views[id_ % t_views.size()].next++ % n;
      break;
    case Policy::kRandom:
      chosen = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
      break;
    case Policy::kWeighted: {
      const size_t i = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
      chosen = std::uniform_real_distribution<double>(0.0, 1.0)(rng) < s->alias_prob[i]
                   ? i
                   : s->alias[i];
      break;
    }
    case Policy::kPowerOfTwo: {
      const size_t a = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
      size_t b = n > 1 ? std::uniform_int_distribution<size_t>(0, n - 2)(rng) : a;
      if (n > 1 && b >= a) ++b;
      // Lower is better: requests waiting there, weighted by how slow it has been (no sample
      // yet counts as fast, so that new instances get tried).
      const auto score = [&](size_t c) {
        const Pick::Stats& st = *s->stats[s->candidates[c]];
        const double ewma = static_cast<double>(std::max<int64_t>(st.ewma_ns.load(), 1));
        return (static_cast<double>(st.inflight.load()) + 1.0) * ewma;
      };
      chosen = score(b) < score(a) ? b : a;
      break;
    }
    case Policy::kConsistentHash:
      chosen = key.empty() ? std::uniform_int_distribution<size_t>(0, n - 1)(rng)
                           : s->maglev[stable_hash(key) % s->maglev.size()];
      break;
  }
  const uint32_t index = s->candidates[chosen];
  p.instance_ = s->all[index];
  if (options_.policy == Policy::kPowerOfTwo) {
    p.stats_ = s->stats[index];
    p.stats_->inflight.fetch_add(1, std::memory_order_relaxed);
  }
  return p;
}

}  // namespace muster
