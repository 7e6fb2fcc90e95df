#pragma once
// The self-protection guard (docs/decisions.md §5): it counts renews per evict interval against the
// renews the registered instances should send, and when too few arrive (a network problem rather
// than dead instances) it stops ordinary eviction. It engages only from `min_instances` registered
// instances on: in a small registry a few restarts already move renews past the ratio, and
// protecting there only keeps dead instances (issue 14.6).
// Threading: none; Registry calls it under its lock.
#include <cstdint>

namespace muster::registry {

class Guard {
 public:
  Guard(bool enabled, double ratio, int64_t min_instances = 0)
      : enabled_(enabled), ratio_(ratio), min_instances_(min_instances) {}

  void on_new_identity() { expected_ += 2; }
  void on_cancel() { expected_ = expected_ >= 2 ? expected_ - 2 : 0; }
  void on_renew() { ++this_interval_; }
  // At each eviction tick: the renews counted since the previous tick become the measured figure.
  void roll();
  // Every 15 minutes: the expectation is recomputed from the instances actually registered.
  void reset_expected(int64_t instances) { expected_ = 2 * instances; }

  bool enabled() const { return enabled_; }
  int64_t expected() const { return expected_; }
  int64_t threshold() const;
  int64_t last_interval() const { return last_interval_; }
  int64_t this_interval() const { return this_interval_; }
  // `instances`: how many are registered now.
  bool protecting(int64_t instances) const {
    return enabled_ && instances >= min_instances_ && last_interval_ < threshold();
  }
  int64_t min_instances() const { return min_instances_; }

 private:
  bool enabled_;
  double ratio_;
  int64_t min_instances_;
  int64_t expected_ = 0;
  int64_t this_interval_ = 0;
  int64_t last_interval_ = 0;
};

}  // namespace muster::registry
