// Writes per second per source address (api/write_limit.h): a second's worth of burst, refill at
// the rate, one source's bucket apart from another's, and no limit at 0.
#include "api/write_limit.h"

#include <gtest/gtest.h>

namespace muster::api {
namespace {

using namespace std::chrono_literals;

TEST(WriteLimitTest, EachSourceHasItsOwnBucket) {
  FakeClock clock;
  WriteLimit limit(clock, 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limit.allow("10.0.0.1")) << i;
  EXPECT_FALSE(limit.allow("10.0.0.1"));
  EXPECT_TRUE(limit.allow("10.0.0.2")) << "another source is not held back";
  clock.advance(334ms);  // a third of a second: one write's worth
  EXPECT_TRUE(limit.allow("10.0.0.1"));
  EXPECT_FALSE(limit.allow("10.0.0.1"));
  clock.advance(10s);  // the bucket holds one second's worth at most
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limit.allow("10.0.0.1")) << i;
  EXPECT_FALSE(limit.allow("10.0.0.1"));
  EXPECT_EQ(limit.refused(), 3u);
}

TEST(WriteLimitTest, ZeroMeansNoLimit) {
  FakeClock clock;
  WriteLimit limit(clock, 0);
  EXPECT_FALSE(limit.enabled());
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(limit.allow("10.0.0.1"));
}

}  // namespace
}  // namespace muster::api
