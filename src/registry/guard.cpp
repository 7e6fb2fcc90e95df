#include "registry/guard.h"

#include <cmath>

namespace muster::registry {

void Guard::roll() {
  last_interval_ = this_interval_;
  this_interval_ = 0;
}

int64_t Guard::threshold() const {
  return static_cast<int64_t>(std::floor(static_cast<double>(expected_) * ratio_));
}

}  // namespace muster::registry
