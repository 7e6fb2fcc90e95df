// The stable hashes (common/stable_hash.h) and the anti-entropy digest built on them keep the
// values earlier versions computed: nodes of two versions must agree on digests.
#include "common/stable_hash.h"

#include <gtest/gtest.h>

#include "registry/types.h"

namespace muster {
namespace {

TEST(StableHashTest, ValuesOfEarlierVersionsAreKept) {
  // Computed by the code these helpers replaced (registry/types.h and sdk/balancer.cpp of
  // 0e27403).
  EXPECT_EQ(registry::instance_digest("sh001", "h1", 1600000000000000000), 12940502214181192499ull);
  EXPECT_EQ(mix64(fnv1a(kFnvOffset ^ 0x9e3779b97f4a7c15ull, "10.0.0.1:80")),
            15451404885548225420ull);
}

}  // namespace
}  // namespace muster
