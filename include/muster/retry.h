#pragma once
// Retries a call over the instances of a balancer: each attempt goes to an instance not tried yet
// (while one is left), all attempts share one overall deadline.
//
// Threading: retry() runs on the caller's thread and calls `attempt` there, one attempt at a time;
// the balancer may be updated meanwhile from other threads (see balancer.h).
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "muster/balancer.h"

namespace muster {

struct RetryOptions {
  int max_attempts = 3;
  std::chrono::milliseconds deadline{1000};  // for all attempts together
  // Pause between attempts (doubling each time), never past the deadline.
  std::chrono::milliseconds backoff{0};
};

struct RetryResult {
  bool ok = false;
  int attempts = 0;
  std::string error;  // why the last attempt failed, or why none could be made
};

// One attempt: call `instance`, finishing by `deadline`; return an empty string on success, else
// what went wrong.
using Attempt = std::function<std::string(const Instance& instance,
                                          std::chrono::steady_clock::time_point deadline)>;

// `key` is passed to the balancer's pick (it matters for consistent hashing only). Latencies are
// reported to the balancer (power of two choices learns from them).
RetryResult retry(Balancer& balancer, const RetryOptions& options, const Attempt& attempt,
                  std::string_view key = {});

}  // namespace muster
