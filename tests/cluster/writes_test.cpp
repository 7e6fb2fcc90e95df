// The one write path (issue 16.2): where a write came from decides its stamp and its replication.
#include "cluster/writes.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace muster::cluster {
namespace {

class WritesTest : public ::testing::Test {
 protected:
  static registry::RegisterArgs args(int64_t dirty) {
    registry::RegisterArgs a;
    a.zone = "sh001";
    a.env = "dev";
    a.appid = "provider";
    a.hostname = "h1";
    a.addrs = {"http://10.0.0.1:80"};
    a.status = registry::kStatusUp;
    a.dirty_timestamp = dirty;
    return a;
  }
  int64_t dirty() {
    int64_t d = -1;
    registry_.read_instance({"sh001", "dev", "provider", "h1"},
                            [&](const registry::Instance& i) { d = i.dirty_timestamp; });
    return d;
  }
  FakeClock clock_;
  registry::Registry registry_{clock_, {}};
  Writes writes_{registry_};
};

TEST_F(WritesTest, OriginFollowsTheRequestFlags) {
  EXPECT_EQ(origin_of(false, false), Origin::kClient);
  EXPECT_EQ(origin_of(false, true), Origin::kOtherZone);
  EXPECT_EQ(origin_of(true, false), Origin::kPeer);
  EXPECT_EQ(origin_of(true, true), Origin::kPeer);
}

TEST_F(WritesTest, AClientsWriteCarriesThisNodesClockAPeersItsOwnVersion) {
  writes_.register_instance(args(123), Origin::kClient);
  EXPECT_EQ(dirty(), clock_.wall_ns()) << "the client's dirty_timestamp is ignored";
  writes_.register_instance(args(clock_.wall_ns() + 5), Origin::kPeer);
  EXPECT_EQ(dirty(), clock_.wall_ns() + 5);
  writes_.register_instance(args(clock_.wall_ns() + 9), Origin::kOtherZone);
  EXPECT_EQ(dirty(), clock_.wall_ns() + 9);
  registry::SetArgs s{"sh001", "dev", "provider", {"h1"}, {registry::kStatusDown}, {}, 7};
  EXPECT_EQ(writes_.set(s, Origin::kClient).error, "");
  EXPECT_GT(dirty(), clock_.wall_ns() + 9) << "a client's set_timestamp is ignored too";
}

TEST_F(WritesTest, RenewComparesVersionsOnlyForPeers) {
  writes_.register_instance(args(0), Origin::kClient);
  const int64_t d = dirty();
  auto renew = [&](Origin o, int64_t peer_dirty) {
    return writes_.renew({"sh001", "dev", "provider", "h1"}, o, peer_dirty, std::nullopt,
                         [](registry::RenewOutcome, const registry::Instance&) {});
  };
  EXPECT_EQ(renew(Origin::kClient, d + 100), registry::RenewOutcome::kOk);
  EXPECT_EQ(renew(Origin::kPeer, d + 100), registry::RenewOutcome::kPeerNewer);
  EXPECT_EQ(renew(Origin::kPeer, d - 1), registry::RenewOutcome::kPeerOlder);
  EXPECT_TRUE(writes_.cancel({"sh001", "dev", "provider", "h1"}, Origin::kClient));
  EXPECT_FALSE(writes_.cancel({"sh001", "dev", "provider", "h1"}, Origin::kClient));
}

}  // namespace
}  // namespace muster::cluster
