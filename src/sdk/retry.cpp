#include "muster/retry.h"

#include <set>
#include <thread>

namespace muster {

namespace {

// An instance not in `tried`, if the balancer offers one within a few picks; else whatever it
// picks (every instance was tried: a second try beats none).
Pick pick_untried(Balancer& balancer, const std::set<std::string>& tried, std::string_view key) {
  Pick first = balancer.pick(key);
  if (!first || !tried.contains(first->hostname)) return first;
  // Bounded, and generous: random picks may repeat, so with n instances of which n-1 were tried
  // each pick finds the last one with chance 1/n; 32(n+1) picks miss it with chance < e^-32.
  const size_t limit = 32 * (balancer.size() + 1);
  for (size_t i = 0; i < limit; ++i) {
    // Consistent hashing maps the key to one instance: vary it to reach the others.
    const std::string varied =
        key.empty() ? std::string() : std::string(key) + "#" + std::to_string(i);
    Pick p = balancer.pick(varied);
    if (p && !tried.contains(p->hostname)) return p;
  }
  return first;
}

}  // namespace

RetryResult retry(Balancer& balancer, const RetryOptions& options, const Attempt& attempt,
                  std::string_view key) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + options.deadline;
  RetryResult result;
  std::set<std::string> tried;
  auto pause = options.backoff;
  while (result.attempts < options.max_attempts) {
    if (clock::now() >= deadline) {
      if (result.error.empty()) result.error = "deadline passed";
      return result;
    }
    Pick pick = pick_untried(balancer, tried, key);
    if (!pick) {
      result.error = "no instance to call";
      return result;
    }
    tried.insert(pick->hostname);
    ++result.attempts;
    const auto started = clock::now();
    std::string error = attempt(pick.instance(), deadline);
    pick.done(clock::now() - started);
    if (error.empty()) {
      result.ok = true;
      result.error.clear();
      return result;
    }
    result.error = pick->hostname + ": " + error;
    if (pause.count() > 0 && result.attempts < options.max_attempts) {
      const auto left = deadline - clock::now();
      if (left <= pause) return result;  // no room for another attempt after the pause
      std::this_thread::sleep_for(pause);
      pause *= 2;
    }
  }
  return result;
}

}  // namespace muster
