// The guard's arithmetic (docs/decisions.md §5): threshold = floor(expected × ratio), protect while
// the renews of the last interval fall below it.
#include "registry/guard.h"

#include <gtest/gtest.h>

namespace muster::registry {
namespace {

TEST(Guard, ThresholdIsTheFloorOfExpectedTimesRatio) {
  Guard g(true, 0.85);
  for (int i = 0; i < 10; ++i)
    g.on_new_identity();
  EXPECT_EQ(g.expected(), 20);
  EXPECT_EQ(g.threshold(), 17);  // floor(17.0)
  g.on_cancel();
  EXPECT_EQ(g.threshold(), 15);  // floor(18 × 0.85 = 15.3)
}

TEST(Guard, ProtectsWhenTooFewRenewsArrived) {
  Guard g(true, 0.85);
  for (int i = 0; i < 10; ++i)
    g.on_new_identity();
  for (int i = 0; i < 16; ++i)
    g.on_renew();
  EXPECT_TRUE(g.protecting(10)) << "before the first roll nothing has been measured";
  g.roll();
  EXPECT_EQ(g.last_interval(), 16);
  EXPECT_TRUE(g.protecting(10));  // 16 < 17
  for (int i = 0; i < 17; ++i)
    g.on_renew();
  g.roll();
  EXPECT_FALSE(g.protecting(10));  // 17 is not below 17
  EXPECT_EQ(g.this_interval(), 0);
}

TEST(Guard, EmptyRegistryIsNeverProtected) {
  Guard g(true, 0.85);
  g.roll();
  EXPECT_FALSE(g.protecting(10));
}

TEST(Guard, CancelNeverGoesBelowZeroAndResetRecomputes) {
  Guard g(true, 0.85);
  g.on_new_identity();
  g.on_cancel();
  g.on_cancel();
  EXPECT_EQ(g.expected(), 0);
  g.reset_expected(7);
  EXPECT_EQ(g.expected(), 14);
}

// Issue 14.6: a registry of a few instances is never frozen by the guard.
TEST(Guard, SmallRegistriesAreNeverProtected) {
  Guard g(true, 0.85, 20);
  for (int i = 0; i < 19; ++i)
    g.on_new_identity();
  g.roll();  // no renews at all
  EXPECT_FALSE(g.protecting(19));
  g.on_new_identity();
  EXPECT_TRUE(g.protecting(20));
  EXPECT_EQ(g.min_instances(), 20);
}

TEST(Guard, DisabledNeverProtects) {
  Guard g(false, 0.85);
  for (int i = 0; i < 10; ++i)
    g.on_new_identity();
  g.roll();
  EXPECT_FALSE(g.protecting(10));
}

}  // namespace
}  // namespace muster::registry
