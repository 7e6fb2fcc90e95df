#pragma once
// Load balancers over a service's instance list.
//
// Threading contract: update() and pick() may be called from any number of threads at once.
// pick() takes no lock shared between threads: each thread keeps its own reference to the current
// instance list and refreshes it only after an update() (a version check, one atomic load); the
// per-pick state is per thread (round-robin position, random generator) or per instance (in-flight
// count and latency average for power of two choices). update() takes a lock, builds the new list
// (and, for consistent hashing, its lookup table) and publishes it; picks already running finish
// on the list they started with. A Pick keeps its instance alive after later updates.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "muster/instance.h"

namespace muster {

enum class Policy {
  kRoundRobin,
  kRandom,
  kWeighted,        // random, in proportion to metadata "weight"
  kPowerOfTwo,      // the better of two random instances by in-flight requests and latency (EWMA)
  kConsistentHash,  // Maglev: the same key goes to the same instance; few keys move on changes
};

struct BalancerOptions {
  Policy policy = Policy::kRoundRobin;
  // Zone affinity: when set, picks prefer usable (UP) instances of this zone and fall back to the
  // usable instances of every zone when it has none.
  std::string local_zone;
  // Panic threshold: when fewer than this share of all instances is usable, every instance is a
  // candidate, usable or not (better to try them than to send everything to a few).
  double panic_threshold = 0.5;
};

class Balancer;

// One pick. For power of two choices, report the outcome with done() (or let the Pick go out of
// scope: that counts as done without a latency sample).
class Pick {
 public:
  Pick() = default;
  Pick(Pick&&) noexcept;
  Pick& operator=(Pick&&) noexcept;
  ~Pick();
  explicit operator bool() const { return instance_ != nullptr; }
  const Instance& instance() const { return *instance_; }
  const Instance* operator->() const { return instance_.get(); }
  // The request ended after `latency`; feeds power of two choices.
  void done(std::chrono::nanoseconds latency);

 private:
  friend class Balancer;
  struct Stats;
  std::shared_ptr<const Instance> instance_;
  std::shared_ptr<Stats> stats_;
};

class Balancer {
 public:
  explicit Balancer(BalancerOptions options = {});
  explicit Balancer(Policy policy) : Balancer(with_policy(policy)) {}
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Replaces the instance list.
  void update(std::vector<Instance> instances);
  // Picks an instance; `key` matters for consistent hashing only. An empty Pick when there is no
  // instance at all.
  Pick pick(std::string_view key = {});
  // How many instances the current list holds.
  size_t size() const;

  struct Snapshot;

 private:
  static BalancerOptions with_policy(Policy policy) {
    BalancerOptions o;
    o.policy = policy;
    return o;
  }
  const Snapshot& current();

  const BalancerOptions options_;
  const uint64_t id_;  // process-unique, so that per-thread caches never mix up balancers
  struct Published;
  std::unique_ptr<Published> published_;
};

}  // namespace muster
