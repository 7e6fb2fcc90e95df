// Eviction and the self-protection guard (docs/decisions.md §5), on a fake clock.
#include "registry/registry_fixture.h"

namespace muster::registry::testing {
namespace {

// Registers n instances h0..h(n-1), spread over `apps` apps and `zones` zones.
void register_many(Registry& registry, int n, int apps = 1, int zones = 1) {
  for (int i = 0; i < n; ++i) {
    RegisterArgs a;
    a.zone = "z" + std::to_string(i % zones);
    a.env = "dev";
    a.appid = "app" + std::to_string(i % apps);
    a.hostname = "h" + std::to_string(i);
    a.addrs = {"http://x"};
    registry.register_instance(a);
  }
}

class EvictionTest : public RegistryTest {
 protected:
  void register_n(int n) {
    for (int i = 0; i < n; ++i)
      registry_.register_instance(args("h" + std::to_string(i)));
  }
  void renew_range(int from, int to) {
    for (int i = from; i < to; ++i)
      renew("h" + std::to_string(i));
  }
};

TEST_F(EvictionTest, LiveInstancesKeepRenewingAndTheDeadOneGoes) {
  register_n(20);
  // h0 is dead; the 19 others renew every 30 s: 38 renews a minute against a threshold of 34.
  for (int minute = 0; minute < 2; ++minute) {
    clock_.advance(30s);
    renew_range(1, 20);
    clock_.advance(30s);
    renew_range(1, 20);
    const auto report = registry_.tick();
    EXPECT_FALSE(report.protecting);
    EXPECT_EQ(report.evicted, minute == 0 ? 0u : 1u) << "minute " << minute;
  }
  EXPECT_FALSE(find("h0"));
  EXPECT_TRUE(find("h1"));
  EXPECT_EQ(registry_.stats().evicted_total, 1u);
  EXPECT_EQ(registry_.stats().expected_renews, 40);  // eviction does not lower the expectation
}

TEST_F(EvictionTest, NinetySecondsIsTheLine) {
  register_n(20);
  clock_.advance(30s);
  renew_range(1, 20);
  clock_.advance(30s);
  renew_range(1, 20);
  registry_.tick();  // h0 at 60 s
  clock_.advance(29s);
  renew_range(1, 20);
  clock_.advance(1s);  // h0 exactly 90 s: not yet
  renew_range(1, 20);
  EXPECT_EQ(registry_.tick().evicted, 0u);
  EXPECT_TRUE(find("h0"));
}

TEST_F(EvictionTest, ProtectModeKeepsInstancesUntilTheCeiling) {
  register_n(20);  // nobody renews: a network problem, not twenty dead instances
  for (int i = 0; i < 59; ++i) {
    clock_.advance(60s);
    const auto report = registry_.tick();
    EXPECT_TRUE(report.protecting);
    EXPECT_EQ(report.evicted, 0u);
  }
  EXPECT_EQ(registry_.stats().instances, 20);
  clock_.advance(61s);  // past the 1 h ceiling
  const auto report = registry_.tick();
  EXPECT_TRUE(report.protecting);
  EXPECT_EQ(report.expired, 20u);
  EXPECT_EQ(report.evicted, 3u);  // at most 20 - floor(20 * 0.85)
}

// Issue 14.6: one instance registered and never renewed goes after evict_after, guard or not.
TEST_F(EvictionTest, ASmallRegistryIsNotProtected) {
  register_n(2);
  clock_.advance(60s);
  EXPECT_FALSE(registry_.tick().protecting);
  clock_.advance(60s);
  const auto report = registry_.tick();
  EXPECT_FALSE(report.protecting);
  EXPECT_EQ(report.evicted, 1u) << "the 15 % cap still lets one go per run";
  clock_.advance(60s);
  EXPECT_EQ(registry_.tick().evicted, 1u);
  EXPECT_EQ(registry_.stats().instances, 0);
}

TEST_F(EvictionTest, AtMostFifteenPercentPerRunChosenAtRandom) {
  register_n(100);
  clock_.advance(3601s);
  EXPECT_EQ(registry_.tick().evicted, 15u);
  EXPECT_EQ(registry_.tick().evicted, 13u);  // 85 - floor(85 * 0.85)
  // The victims are not simply the oldest: with a uniform draw, h0..h14 all going is unlikely.
  int first_fifteen_gone = 0;
  for (int i = 0; i < 15; ++i)
    first_fifteen_gone += find("h" + std::to_string(i)) ? 0 : 1;
  EXPECT_LT(first_fifteen_gone, 15);
}

TEST(EvictionNoProtection, ExpectationIsResetEveryFifteenMinutes) {
  FakeClock clock;
  Registry registry(clock, without_guard());
  register_many(registry, 10);
  clock.advance(91s);
  EXPECT_EQ(registry.tick().evicted, 10u);
  EXPECT_EQ(registry.stats().expected_renews, 20) << "eviction leaves the expectation alone";
  for (int i = 0; i < 14; ++i) {
    clock.advance(60s);
    registry.tick();
  }
  EXPECT_EQ(registry.stats().expected_renews, 0) << "recomputed from the 0 instances left";
}

TEST(EvictionNoProtection, EveryExpiredInstanceGoesInOneRun) {
  FakeClock clock;
  Options o = without_guard();
  o.random_seed = 1;
  Registry registry(clock, o);
  register_many(registry, 100);
  clock.advance(91s);
  const auto report = registry.tick();
  EXPECT_FALSE(report.protecting);
  EXPECT_EQ(report.evicted, 100u);
  EXPECT_EQ(registry.stats().instances, 0);
  EXPECT_EQ(registry.stats().apps, 0);
}

TEST(EvictionNoProtection, WallClockStepEvictsNothing) {
  FakeClock clock;
  Registry registry(clock, without_guard());
  register_many(registry, 1);
  clock.step_wall(2h);
  EXPECT_EQ(registry.tick().evicted, 0u);
  clock.step_wall(-4h);
  EXPECT_EQ(registry.tick().evicted, 0u);
  EXPECT_EQ(registry.stats().instances, 1);
}

TEST(EvictionNoProtection, EvictionIsChunkedButComplete) {
  FakeClock clock;
  Options o = without_guard();
  o.evict_chunk = 7;
  Registry registry(clock, o);
  register_many(registry, 50, /*apps=*/4, /*zones=*/3);
  clock.advance(91s);
  EXPECT_EQ(registry.tick().evicted, 50u);
  EXPECT_EQ(registry.stats().instances, 0);
}

}  // namespace
}  // namespace muster::registry::testing

namespace muster::registry::testing {
namespace {

// An instance without heartbeat (a Consul registration): never expires, and the guard neither
// expects renews from it nor counts it; given a lease again, it is an ordinary instance.
TEST_F(EvictionTest, AnInstanceWithoutLeaseNeverExpiresAndTheGuardDoesNotCountIt) {
  register_n(20);
  RegisterArgs consul = args("consul-1");
  consul.lease = false;
  registry_.register_instance(consul);
  EXPECT_EQ(registry_.stats().instances, 21u);
  EXPECT_EQ(registry_.stats().expected_renews, 40);
  for (int minute = 0; minute < 5; ++minute) {
    clock_.advance(30s);
    renew_range(0, 20);
    clock_.advance(30s);
    renew_range(0, 20);
    const auto report = registry_.tick();
    EXPECT_FALSE(report.protecting) << "minute " << minute;
    EXPECT_EQ(report.evicted, 0u) << "minute " << minute;
  }
  EXPECT_TRUE(find("consul-1"));
  consul.lease = true;
  registry_.register_instance(consul);
  EXPECT_EQ(registry_.stats().expected_renews, 42);
  size_t evicted = 0;
  for (int minute = 0; minute < 3; ++minute) {
    clock_.advance(30s);
    renew_range(0, 20);
    clock_.advance(30s);
    renew_range(0, 20);
    evicted += registry_.tick().evicted;
  }
  EXPECT_EQ(evicted, 1u);
  EXPECT_FALSE(find("consul-1"));
  EXPECT_TRUE(find("h0"));
}

TEST_F(EvictionTest, CancellingAnInstanceWithoutLeaseLeavesTheExpectation) {
  register_n(20);
  RegisterArgs consul = args("consul-1");
  consul.lease = false;
  registry_.register_instance(consul);
  renew("consul-1");  // a renew of it is answered, and counts for nothing
  EXPECT_TRUE(registry_.cancel({consul.zone, consul.env, consul.appid, consul.hostname}));
  EXPECT_EQ(registry_.stats().expected_renews, 40);
  EXPECT_EQ(registry_.stats().instances, 20u);
}

}  // namespace
}  // namespace muster::registry::testing
