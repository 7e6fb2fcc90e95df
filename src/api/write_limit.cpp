#include "api/write_limit.h"

#include <fmt/format.h>

#include <algorithm>

namespace muster::api {

namespace {

// Addresses remembered at most; past it the buckets that are full again (idle sources, the same
// as unknown ones) are dropped, and if none is, all are.
constexpr size_t kMaxSources = 100'000;

}  // namespace

std::string WriteLimit::refusal(std::string_view source) const {
  return fmt::format("too many writes from {} (limit {:g} per second per source address)", source,
                     per_second_);
}

bool WriteLimit::allow(std::string_view source) {
  if (!enabled()) return true;
  const int64_t now = clock_.mono_ns();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(source));
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxSources) {
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens +
                   static_cast<double>(now - kv.second.at_mono) * 1e-9 * per_second_ >=
               per_second_;
      });
      if (buckets_.size() >= kMaxSources) buckets_.clear();
    }
    it = buckets_.emplace(std::string(source), Bucket{per_second_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens =
      std::min(per_second_, b.tokens + static_cast<double>(now - b.at_mono) * 1e-9 * per_second_);
  b.at_mono = now;
  if (b.tokens < 1) {
    ++refused_;
    return false;
  }
  b.tokens -= 1;
  return true;
}

}  // namespace muster::api
