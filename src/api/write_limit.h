#pragma once
// Writes per second from one source address (issue 18; docs/security.md): a token bucket per
// address, refilled at `per_second` and holding at most one second's worth, so one client that
// writes in a loop is slowed without costing the others. Replication between nodes is not
// counted (the APIs ask only for clients' writes). Threading: allow() from any worker; one mutex
// held for a hash lookup.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace muster::api {

class WriteLimit {
 public:
  // `per_second` 0: no limit.
  WriteLimit(const Clock& clock, double per_second) : clock_(clock), per_second_(per_second) {}
  bool enabled() const { return per_second_ > 0; }
  double per_second() const { return per_second_; }
  // Takes one write from `source`'s bucket; false (and counted) when it is empty.
  bool allow(std::string_view source);
  uint64_t refused() const { return refused_.load(); }
  // What a refused write from `source` is told, the same on every API.
  std::string refusal(std::string_view source) const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_mono = 0;
  };
  const Clock& clock_;
  const double per_second_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace muster::api
