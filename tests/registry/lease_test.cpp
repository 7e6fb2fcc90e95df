// A lease is a fact that travels (docs/decisions.md §5.7): a copy from a peer or the disk arrives
// with the lease it had, and only a renew extends it. On a fake clock.
#include <limits>

#include "registry/registry_fixture.h"

namespace muster::registry::testing {
namespace {

class LeaseTest : public RegistryTest {
 protected:
  LeaseTest() : RegistryTest(without_guard()) {}
  // A peer's copy of `hostname`, last renewed `age` ago where it comes from.
  RegisterOutcome carried(std::string hostname, std::chrono::nanoseconds age,
                          int64_t dirty = 1'600'000'000'000'000'000) {
    RegisterArgs a = args(std::move(hostname));
    a.dirty_timestamp = dirty;
    a.lease_age_ns = age.count();
    return registry_.register_instance(a);
  }
};

TEST_F(LeaseTest, ACopyArrivesWithTheLeaseItHadNotAFreshOne) {
  ASSERT_EQ(carried("h0", 60s), RegisterOutcome::kApplied);
  const auto inst = find("h0");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->renew_timestamp, clock_.wall_ns() - std::chrono::nanoseconds(60s).count());
  // 31 s later the lease is 91 s old: past evict_after (90 s), it goes at the next tick.
  clock_.advance(31s);
  EXPECT_EQ(registry_.tick().evicted, 1u);
  EXPECT_FALSE(find("h0"));
}

TEST_F(LeaseTest, ACopyWhoseLeaseLapsedIsNotTakenBack) {
  // What the resurrection bug (issue 26) did: anti-entropy sent an evicted instance back with a
  // fresh lease, and it came back forever. A lapsed copy is refused.
  EXPECT_EQ(carried("h0", 91s), RegisterOutcome::kIgnoredLapsed);
  EXPECT_FALSE(find("h0"));
  EXPECT_EQ(registry_.stats().instances, 0);
}

TEST_F(LeaseTest, ARestoreKeepsALapsedLeaseForEvictionToDecide) {
  RegisterArgs a = args("h0");
  a.dirty_timestamp = 1;
  a.lease_age_ns = std::chrono::nanoseconds(300s).count();
  a.keep_lapsed = true;
  ASSERT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
  EXPECT_TRUE(find("h0"));
  EXPECT_EQ(registry_.tick().evicted, 1u);
}

TEST_F(LeaseTest, AnOlderCarriedLeaseNeverShortensOneRenewedHere) {
  registry_.register_instance(args("h0"));
  clock_.advance(80s);
  renew("h0");  // renewed here just now
  // A newer copy (a set at a peer) whose lease there is 80 s old: the copy wins, the lease here
  // stays the one renewed now.
  ASSERT_EQ(carried("h0", 80s, clock_.wall_ns()), RegisterOutcome::kApplied);
  clock_.advance(60s);
  EXPECT_EQ(registry_.tick().evicted, 0u);
  EXPECT_TRUE(find("h0"));
}

TEST_F(LeaseTest, CarriedLeasesExpireInTheirOrderBesideTheListAndARenewMovesThem) {
  registry_.register_instance(args("fresh"));                 // in the list, renewed now
  ASSERT_EQ(carried("old", 80s), RegisterOutcome::kApplied);  // carried, older than the tail
  ASSERT_EQ(carried("older", 85s), RegisterOutcome::kApplied);
  ASSERT_EQ(carried("kept", 70s), RegisterOutcome::kApplied);
  clock_.advance(6s);
  renew("kept");  // moves from the carried set to the list's tail
  const auto report = registry_.tick();
  EXPECT_EQ(report.evicted, 1u);  // older: 91 s
  EXPECT_FALSE(find("older"));
  clock_.advance(5s);
  EXPECT_EQ(registry_.tick().evicted, 1u);  // old: 91 s
  EXPECT_FALSE(find("old"));
  EXPECT_TRUE(find("fresh"));
  EXPECT_TRUE(find("kept"));
  clock_.advance(80s);  // fresh 91 s, kept 85 s
  EXPECT_EQ(registry_.tick().evicted, 1u);
  EXPECT_FALSE(find("fresh"));
  EXPECT_TRUE(find("kept"));
}

TEST_F(LeaseTest, APeersRenewCarriesItsAgeSoThatAQueuedRenewExtendsNothing) {
  // The simulation found it (seed 96 once clients kept coming): a renew that waited in a queue
  // through a partition gave the peer a lease as fresh as its delivery, and the instance, which
  // had stopped renewing, outlived its bound everywhere.
  registry_.register_instance(args("h0"));
  clock_.advance(50s);
  const auto age_of = [&] { return clock_.wall_ns() - find("h0")->renew_timestamp; };
  // Renewed 40 s ago at the peer (10 s after its register), delivered now.
  ASSERT_EQ(registry_.renew(key("h0"), std::nullopt, std::chrono::nanoseconds(40s).count(),
                            [](RenewOutcome, const Instance&) {}),
            RenewOutcome::kOk);
  EXPECT_EQ(age_of(), std::chrono::nanoseconds(40s).count());
  // An older renew never shortens the lease.
  registry_.renew(key("h0"), std::nullopt, std::chrono::nanoseconds(45s).count(),
                  [](RenewOutcome, const Instance&) {});
  EXPECT_EQ(age_of(), std::chrono::nanoseconds(40s).count());
  clock_.advance(51s);  // 91 s after that renew
  EXPECT_EQ(registry_.tick().evicted, 1u);
  EXPECT_FALSE(find("h0"));
}

TEST_F(LeaseTest, AnInstanceWithoutLeaseIgnoresTheAge) {
  RegisterArgs a = args("consul");
  a.lease = false;
  a.dirty_timestamp = 1;
  a.lease_age_ns = std::chrono::nanoseconds(3000s).count();
  ASSERT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
  clock_.advance(7200s);
  registry_.tick();
  EXPECT_TRUE(find("consul"));
}

class ProtectedLeaseTest : public RegistryTest {};

TEST_F(ProtectedLeaseTest, ANodeThatProtectsTakesALapsedCopyRatherThanLoseWhatItsPeersKeep) {
  // 20 instances that stop renewing: the next tick finds no renews and protects.
  for (int i = 0; i < 20; ++i)
    registry_.register_instance(args("h" + std::to_string(i)));
  clock_.advance(60s);
  ASSERT_TRUE(registry_.tick().protecting);
  RegisterArgs a = args("peer-kept");
  a.dirty_timestamp = 1;
  a.lease_age_ns = std::chrono::nanoseconds(200s).count();
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
}

// What the last eviction run decided holds until the next one. The guard's live figure moves
// with every new registration (each raises the renews it expects): a node that had just evicted
// an instance, not protecting, took it back from a protecting peer a moment later because a new
// instance registered in between (the simulation with the guard found it, seed 1).
TEST_F(ProtectedLeaseTest, ALapsedCopyIsRefusedUntilARunProtects) {
  for (int i = 0; i < 20; ++i)
    registry_.register_instance(args("h" + std::to_string(i)));
  for (int round = 0; round < 2; ++round) {  // two runs with every renew: not protecting
    clock_.advance(30s);
    for (int i = 0; i < 20; ++i)
      registry_.renew(key("h" + std::to_string(i)), std::nullopt,
                      [](RenewOutcome, const Instance&) {});
    clock_.advance(30s);
    for (int i = 0; i < 20; ++i)
      registry_.renew(key("h" + std::to_string(i)), std::nullopt,
                      [](RenewOutcome, const Instance&) {});
    ASSERT_FALSE(registry_.tick().protecting);
  }
  // Six new instances: the guard now expects 52 renews an interval (threshold 44) and counted
  // 40, so its live figure says "protect"; this node's last run did not.
  for (int i = 0; i < 6; ++i)
    registry_.register_instance(args("new" + std::to_string(i)));
  ASSERT_TRUE(registry_.stats().protecting);
  RegisterArgs a = args("evicted-here");
  a.dirty_timestamp = 1;
  a.lease_age_ns = std::chrono::nanoseconds(200s).count();
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kIgnoredLapsed);
  clock_.advance(60s);  // no renews at all: this run protects, and lapsed copies are taken
  ASSERT_TRUE(registry_.tick().protecting);
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
}

}  // namespace
}  // namespace muster::registry::testing

namespace muster::registry::testing {
namespace {

TEST_F(LeaseTest, ACopyFromMoreThanAnHourAheadIsRefusedOnEveryPath) {
  // Issue 27.2: anti-entropy once took an instance with dirty_timestamp 2^63-1 from a fake peer.
  RegisterArgs a = args("future");
  a.dirty_timestamp = std::numeric_limits<int64_t>::max();
  a.lease_age_ns = 0;
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kRefusedAhead);
  a.dirty_timestamp = clock_.wall_ns() + std::chrono::nanoseconds(3601s).count();
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kRefusedAhead);
  EXPECT_FALSE(find("future"));
  a.dirty_timestamp = clock_.wall_ns() + std::chrono::nanoseconds(3599s).count();
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
}

}  // namespace
}  // namespace muster::registry::testing
