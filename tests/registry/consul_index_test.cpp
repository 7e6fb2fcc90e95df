// Consul's index of an app (App::index, issue 26): microseconds below 2^53, derived from versions
// that travel with each change, so that nodes which apply the same changes agree, whenever they
// apply them and whatever their clocks; anti-entropy's raise_index() settles the rest.
#include <gtest/gtest.h>

#include "registry/registry.h"
#include "registry_fixture.h"

namespace muster::registry::testing {
namespace {

// One node: its own clock (wall clocks differ by seconds between nodes) and registry.
struct TestNode {
  explicit TestNode(int64_t wall_offset_ns)
      : clock(1'700'000'000'000'000'000 + wall_offset_ns), registry(clock, without_guard()) {}
  FakeClock clock;
  Registry registry;
};

RegisterArgs copy(std::string hostname, int64_t dirty, std::string appid = "web") {
  RegisterArgs a;
  a.zone = "sh001";
  a.env = "dev";
  a.appid = std::move(appid);
  a.hostname = std::move(hostname);
  a.addrs = {"http://10.0.0.1:8000"};
  a.dirty_timestamp = dirty;
  a.lease_age_ns = 0;
  return a;
}

InstanceKey key(std::string_view hostname) {
  return {"sh001", "dev", "web", hostname};
}

constexpr int64_t kDirty = 1'700'000'000'123'456'789;

TEST(ConsulIndexTest, AnIndexIsTheChangesVersionInMicrosecondsBelow2To53) {
  TestNode n(0);
  EXPECT_EQ(n.registry.app_index("dev", "web"), 1u) << "an app never seen: 1, never 0";
  EXPECT_EQ(n.registry.catalog_index(), 1u);
  ASSERT_EQ(n.registry.register_instance(copy("a", kDirty)), RegisterOutcome::kApplied);
  const uint64_t index = n.registry.app_index("dev", "web");
  EXPECT_EQ(index, static_cast<uint64_t>(kDirty / 1000));
  EXPECT_LT(index, uint64_t{1} << 53) << "what JavaScript and jq hold exactly";
  EXPECT_EQ(n.registry.catalog_index(), index);
  EXPECT_EQ(n.registry.app_index("prod", "web"), 1u) << "env is part of the key";
}

TEST(ConsulIndexTest, EveryChangeRaisesItAndARenewDoesNot) {
  TestNode n(0);
  n.registry.register_instance(copy("a", kDirty));
  n.registry.register_instance(copy("b", kDirty + 500));  // the same microsecond
  uint64_t last = n.registry.app_index("dev", "web");
  EXPECT_EQ(last, static_cast<uint64_t>(kDirty / 1000) + 1) << "same µs: one more";
  n.registry.renew(key("a"), std::nullopt, [](RenewOutcome, const Instance&) {});
  EXPECT_EQ(n.registry.app_index("dev", "web"), last);
  SetArgs set;
  set.zone = "sh001";
  set.env = "dev";
  set.appid = "web";
  set.hostnames = {"a"};
  set.statuses = {kStatusDown};
  ASSERT_EQ(n.registry.set(set).error, "");
  EXPECT_GT(n.registry.app_index("dev", "web"), last);
  last = n.registry.app_index("dev", "web");
  ASSERT_TRUE(n.registry.cancel(key("a")));
  EXPECT_GT(n.registry.app_index("dev", "web"), last);
  last = n.registry.app_index("dev", "web");
  n.clock.advance(std::chrono::seconds(200));
  EXPECT_EQ(n.registry.tick().evicted, 1u);  // b
  EXPECT_EQ(n.registry.app_index("dev", "web"), last + 1) << "the emptied app's, remembered";
  EXPECT_EQ(n.registry.catalog_index(), last + 1);
}

// Three nodes whose clocks differ apply the same replicated changes at different times, and
// evict the same lapsed instance out of step: each gives the same index at every quiet point.
TEST(ConsulIndexTest, NodesThatApplyTheSameChangesAgreeWhateverTheirClocksAndEvictionTimes) {
  TestNode a(0), b(3'000'000'000), c(-2'000'000'000);
  TestNode* nodes[] = {&a, &b, &c};
  for (TestNode* n : nodes) {
    n->registry.register_instance(copy("keeps", kDirty));
    n->registry.register_instance(copy("stops", kDirty + 2000));
  }
  SetArgs set;
  set.zone = "sh001";
  set.env = "dev";
  set.appid = "web";
  set.hostnames = {"keeps"};
  set.statuses = {kStatusDown};
  set.set_timestamp = kDirty + 9000;
  for (TestNode* n : nodes)
    ASSERT_EQ(n->registry.set(set).error, "");
  const uint64_t before = a.registry.app_index("dev", "web");
  for (TestNode* n : nodes)
    EXPECT_EQ(n->registry.app_index("dev", "web"), before);
  // "stops" stops renewing; "keeps" renews everywhere. The nodes evict 0, 7 and 19 s apart.
  int64_t step = 0;
  for (TestNode* n : nodes) {
    n->clock.advance(std::chrono::seconds(95 + step));
    n->registry.renew(key("keeps"), std::nullopt, [](RenewOutcome, const Instance&) {});
    n->clock.advance(std::chrono::seconds(1));
    EXPECT_EQ(n->registry.tick().evicted, 1u);
    step += 7;
  }
  for (TestNode* n : nodes)
    EXPECT_EQ(n->registry.app_index("dev", "web"), before + 1);
  // A cancel replicated with its origin's time.
  const int64_t mark = kDirty + 60'000'000'000;
  for (TestNode* n : nodes)
    ASSERT_TRUE(n->registry.cancel(key("keeps"), mark));
  for (TestNode* n : nodes) {
    EXPECT_EQ(n->registry.app_index("dev", "web"), static_cast<uint64_t>(mark / 1000));
    EXPECT_EQ(n->registry.catalog_index(), static_cast<uint64_t>(mark / 1000));
  }
}

TEST(ConsulIndexTest, ACopyOfTheVersionHeldMovesNothingButItsLease) {
  // Two nodes that synced from each other at start-up each took the other's copies again, and
  // their indexes moved past what a client had read, with nothing changed.
  TestNode n(0);
  n.registry.register_instance(copy("a", kDirty));
  const uint64_t index = n.registry.app_index("dev", "web");
  n.clock.advance(std::chrono::seconds(80));
  RegisterArgs again = copy("a", kDirty);
  again.lease_age_ns = 1'000'000'000;  // renewed 1 s ago where it comes from
  EXPECT_EQ(n.registry.register_instance(again), RegisterOutcome::kApplied);
  EXPECT_EQ(n.registry.app_index("dev", "web"), index);
  n.clock.advance(std::chrono::seconds(80));
  EXPECT_EQ(n.registry.tick().evicted, 0u) << "the lease it carried was taken";
}

TEST(ConsulIndexTest, AnOtherOrderIsSettledByTakingTheHigherIndex) {
  TestNode a(0), b(0);
  a.registry.register_instance(copy("x", kDirty + 9000));
  a.registry.register_instance(copy("y", kDirty));  // older: +1
  b.registry.register_instance(copy("y", kDirty));
  b.registry.register_instance(copy("x", kDirty + 9000));
  const uint64_t ia = a.registry.app_index("dev", "web");
  const uint64_t ib = b.registry.app_index("dev", "web");
  EXPECT_EQ(ia, ib + 1);
  struct Told final : registry::ChangeObserver {
    std::vector<std::string> appids;
    void app_changed(std::string_view, std::string_view appid) override {
      appids.emplace_back(appid);
    }
  } told_observer;
  auto& told = told_observer.appids;
  b.registry.add_observer(&told_observer, false);
  b.registry.raise_index("dev", "web", ia);
  EXPECT_EQ(b.registry.app_index("dev", "web"), ia);
  EXPECT_EQ(b.registry.catalog_index(), ia);
  EXPECT_EQ(told, std::vector<std::string>{"web"}) << "its Consul watchers compare again";
  b.registry.raise_index("dev", "web", ia - 5);  // lower: nothing
  b.registry.raise_index("dev", "api", ia + 5);  // an app this node lacks: nothing
  EXPECT_EQ(b.registry.app_index("dev", "web"), ia);
  EXPECT_EQ(b.registry.app_index("dev", "api"), 1u);
  EXPECT_EQ(told.size(), 1u);
  b.registry.remove_observer(&told_observer);
  // An index further ahead than a timestamp may be is not taken.
  const auto ahead = static_cast<uint64_t>((b.clock.wall_ns() + 2 * 3600'000'000'000) / 1000);
  b.registry.raise_index("dev", "web", ahead);
  EXPECT_EQ(b.registry.app_index("dev", "web"), ia);
}

TEST(ConsulIndexTest, AVersionFarAheadDoesNotPinTheIndex) {
  TestNode n(0);
  n.registry.register_instance(copy("a", kDirty));
  SetArgs set;
  set.zone = "sh001";
  set.env = "dev";
  set.appid = "web";
  set.hostnames = {"a"};
  set.statuses = {kStatusDown};
  set.set_timestamp = std::numeric_limits<int64_t>::max();
  ASSERT_EQ(n.registry.set(set).error, "");
  const auto ceiling = static_cast<uint64_t>((n.clock.wall_ns() + 3600'000'000'000) / 1000);
  EXPECT_LE(n.registry.app_index("dev", "web"), ceiling);
  EXPECT_LT(n.registry.app_index("dev", "web"), uint64_t{1} << 53);
}

TEST(ConsulIndexTest, AnAppThatEmptiesAndComesBackKeepsRisingEvenFromABehindClock) {
  TestNode n(0);
  n.registry.register_instance(copy("a", kDirty));
  ASSERT_TRUE(n.registry.cancel(key("a")));
  const uint64_t gone = n.registry.app_index("dev", "web");
  EXPECT_GT(gone, static_cast<uint64_t>(kDirty / 1000)) << "remembered with the app's tombstone";
  ASSERT_EQ(n.registry.register_instance(copy("b", kDirty - 5'000'000'000)),  // 5 s behind
            RegisterOutcome::kApplied);
  EXPECT_EQ(n.registry.app_index("dev", "web"), gone + 1);
}

}  // namespace
}  // namespace muster::registry::testing
